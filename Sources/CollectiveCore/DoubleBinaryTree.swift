/// A node's place in a binary tree over ranks: its parent and up to two children (`-1`: none).
public struct TreeNode: Sendable, Hashable, CustomStringConvertible {
    public var parent: Int
    public var child0: Int
    public var child1: Int

    @inlinable
    public init(parent: Int, child0: Int, child1: Int) {
        self.parent = parent
        self.child0 = child0
        self.child1 = child1
    }

    /// Number of children (0, 1 or 2).
    @inlinable public var childCount: Int { (child0 >= 0 ? 1 : 0) + (child1 >= 0 ? 1 : 0) }

    public var description: String { "TreeNode(parent: \(parent), children: \(child0), \(child1))" }
}

/// NCCL's double binary tree (Sanders, Speck and Traff 2009; NCCL src/graph/trees.cc), as pure
/// functions of the rank count and the rank.
///
/// Tree 0 is an in-order binary tree in which a rank's level is its number of trailing zero bits:
/// odd ranks are leaves, rank 0 is the root and has the single child 2^(ceil(lg p) - 1). For
/// p = 14:
///
///     0-------------8
///              ____/ \____
///             4           12
///           /   \        /  \
///         2       6    10    13
///        / \     / \   / \
///       1   3   5   7 9   11
///
/// Tree 1 is tree 0 *mirrored* (rank r plays tree 0's rank p-1-r) when p is even, and *shifted* by
/// one (rank r plays tree 0's rank r-1 mod p) when p is odd. Mirrored, for p = 14:
///
///     13------------5
///              ____/ \____
///             9           1
///           /   \        /  \
///         11      7     3    0
///        / \     / \   / \
///       12  10  8   6 4   2
///
/// Odd ranks are the interior nodes of tree 1 when tree 0's interior nodes are even, so every
/// rank forwards data in at most one tree, and the two trees together use each rank's links in
/// both directions. (For odd p, rank 0 is the root of tree 0 with one child and takes tree 0's
/// rank p-1's place in tree 1: it is the one rank with children in both trees.)
public enum DoubleBinaryTree {
    /// Rank `rank`'s node in tree 0 over `ranks` ranks.
    public static func tree0(ranks: Int, rank: Int) -> TreeNode {
        precondition(ranks >= 1 && rank >= 0 && rank < ranks, "DoubleBinaryTree: rank \(rank) out of 0..<\(ranks)")
        if ranks == 1 { return TreeNode(parent: -1, child0: -1, child1: -1) }
        var bit = 1
        while bit < ranks && bit & rank == 0 { bit <<= 1 }
        if rank == 0 { return TreeNode(parent: -1, child0: -1, child1: bit >> 1) }
        var up = (rank ^ bit) | (bit << 1)
        if up >= ranks { up = rank ^ bit }
        var low = bit >> 1
        let down0 = low == 0 ? -1 : rank - low
        var down1 = low == 0 ? -1 : rank + low
        while down1 >= ranks {
            low >>= 1
            down1 = low == 0 ? -1 : rank + low
        }
        return TreeNode(parent: up, child0: down0, child1: down1)
    }

    /// The rank that plays tree 0's rank `virtual` in tree `tree` (0 or 1).
    @inlinable
    public static func rank(playing virtual: Int, inTree tree: Int, ranks: Int) -> Int {
        if tree == 0 || virtual < 0 { return virtual }
        return ranks % 2 == 1 ? (virtual + 1) % ranks : ranks - 1 - virtual
    }

    /// The tree-0 rank that `rank` plays in tree `tree` (0 or 1).
    @inlinable
    public static func virtualRank(of rank: Int, inTree tree: Int, ranks: Int) -> Int {
        if tree == 0 { return rank }
        return ranks % 2 == 1 ? (rank - 1 + ranks) % ranks : ranks - 1 - rank
    }

    /// Rank `rank`'s node in tree `tree` (0 or 1) over `ranks` ranks.
    public static func node(tree: Int, ranks: Int, rank: Int) -> TreeNode {
        precondition(tree == 0 || tree == 1, "DoubleBinaryTree: tree must be 0 or 1")
        let n = tree0(ranks: ranks, rank: virtualRank(of: rank, inTree: tree, ranks: ranks))
        return TreeNode(parent: Self.rank(playing: n.parent, inTree: tree, ranks: ranks),
                        child0: Self.rank(playing: n.child0, inTree: tree, ranks: ranks),
                        child1: Self.rank(playing: n.child1, inTree: tree, ranks: ranks))
    }

    /// The root of tree `tree`.
    public static func root(tree: Int, ranks: Int) -> Int { rank(playing: 0, inTree: tree, ranks: ranks) }

    /// Level of tree-0 rank `virtual`: its trailing zero bits (rank 0: lg of the smallest power of
    /// two >= `ranks`). Children are on lower levels than their parent.
    @inlinable
    static func _level(_ virtual: Int, ranks: Int) -> Int {
        if virtual != 0 { return virtual.trailingZeroBitCount }
        var b = 0
        while (1 << b) < ranks { b += 1 }
        return b
    }

    /// Depth of tree-0 rank `virtual` (the root has depth 0).
    static func _depth(_ virtual: Int, ranks: Int) -> Int {
        var d = 0
        var v = virtual
        while v != 0 {
            v = tree0(ranks: ranks, rank: v).parent
            d += 1
        }
        return d
    }
}
