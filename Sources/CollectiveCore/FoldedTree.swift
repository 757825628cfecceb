/// NCCL's double binary tree over 2^k nodes (``DoubleBinaryTree``), *folded*: one played node for
/// each place in the trees, so that a timing engine plays 2k nodes where the cluster has 2^k.
///
/// Over 2^k nodes each tree is perfect below its root: tree 0's root (node 0) has one child, and
/// the nodes at depth d (1 ... k-1) are 2^(d-1) interior nodes with two children each, down to
/// the 2^(k-1) leaves at depth k. Every node is interior in one tree and a leaf in the other
/// (tree 1 is tree 0 mirrored), so a node's *place* is (the tree it forwards in, its depth there):
/// 2k places. The nodes of one place do the same work at the same moments, up to one thing: the
/// leaf children of a depth k-1 node are interior in the other tree at depths that vary from node
/// to node. The folded tree plays one node per place (played node `a * k + d` is tree a's depth
/// d), and wires them so that each played node carries the traffic of its place:
///
/// - A depth d node (1 <= d <= k-2) has two children of depth d+1, both played by one node. That
///   node sends up twice: once over the whole path (``StepWire/full``), and once over the
///   receiver's side only (``StepWire/receiverSide``), which stands for its sibling's message:
///   the parent's links in carry two messages, the child's links out one. Down, the parent sends
///   twice, the second time over its own side only (``StepWire/senderSide``), its message to the
///   child that is not played; the played child receives that one too, without using it.
/// - A depth k-1 node has two leaf children: one is interior at depth k-1 of the other tree, the
///   other at depth k-2 for half of these nodes (deeper for the rest). Both are played as such.
///   Every other place is a leaf of some depth k-1 node too, so its messages up are played over
///   its own side only (the parent does not wait for them), and the depth k-1 node's messages
///   down to it over the child's side only (its own links carry its two children's).
///
/// Timing engines play the result as any schedule; tests compare it with the full tree on the
/// cluster sizes that a full playback reaches.
public struct FoldedTree: Sendable, Hashable {
    /// Nodes of the cluster the folded tree stands for: 2^``depth``.
    public let nodeCount: Int
    /// k: the trees' leaves are at depth k.
    public let depth: Int

    /// Played nodes: 2k, node `a * k + d` being tree a's place at depth d.
    @inlinable public var playedNodeCount: Int { 2 * depth }

    /// The folded tree of `nodes` nodes, or nil unless `nodes` is a power of two of at least 8.
    public init?(nodes: Int) {
        guard nodes >= 8 && nodes & (nodes - 1) == 0 else { return nil }
        nodeCount = nodes
        depth = nodes.trailingZeroBitCount
    }

    /// Played node of tree `tree`'s place at depth `d`.
    @inlinable public func node(tree: Int, depth d: Int) -> Int { tree * depth + d }

    /// How many of the cluster's nodes played node `node` stands for.
    public func weight(of node: Int) -> Int {
        let d = node % depth
        return d == 0 ? 1 : 1 << (d - 1)
    }

    /// The cluster node that played node `node` is taken from: tree 0's node at depth d is the
    /// smallest node with k - d trailing zero bits (node 0 for the root), tree 1's its mirror.
    public func representative(of node: Int) -> Int {
        let d = node % depth
        let zeroBits = d == 0 ? depth : depth - d
        let r0 = d == 0 ? 0 : 1 << zeroBits
        return node / depth == 0 ? r0 : nodeCount - 1 - r0
    }

    /// One exchange of a played node with another in one tree's round: a receive or a send, the
    /// peer (a played node), the wire a send uses, and whether it is the node's own data (a
    /// receive its later steps wait for, a send the node waits to complete) or stands for
    /// another node's message (timing only).
    public struct Exchange: Sendable, Hashable {
        public var kind: StepKind
        public var peer: Int
        public var wire: StepWire
        public var own: Bool
    }

    /// Counts of a played node's exchanges in one round of tree `tree`: receives from below,
    /// sends up, receives from above, sends down.
    public struct Counts: Sendable, Hashable {
        public var upIn: Int
        public var upOut: Int
        public var downIn: Int
        public var downOut: Int
        /// Receives from below that carry data (the first ones).
        public var upInData: Int
        public var total: Int { upIn + upOut + downIn + downOut }
    }

    /// What played node `node` does in one round of tree `tree`.
    public func counts(node: Int, tree: Int) -> Counts {
        let a = node / depth, d = node % depth, k = depth
        if tree != a {
            // A leaf: up to its depth k-1 parent and back.
            return Counts(upIn: 0, upOut: 1, downIn: 1, downOut: 0, upInData: 0)
        }
        if d == 0 { return Counts(upIn: 1, upOut: 0, downIn: 0, downOut: 1, upInData: 1) }
        let twins = d >= 2 ? 2 : 1  // a depth >= 2 node's parent has two children of its place
        if d < k - 1 { return Counts(upIn: 2, upOut: twins, downIn: twins, downOut: 2, upInData: 2) }
        // Depth k-1: two leaf children played as such, and every other place's messages.
        return Counts(upIn: k, upOut: twins, downIn: twins, downOut: k, upInData: 2)
    }

    /// Exchange `index` (0 ..< ``counts(node:tree:)``.total, in the order: receives from below,
    /// sends up, receives from above, sends down) of played node `node` in one round of `tree`.
    public func exchange(node: Int, tree: Int, _ index: Int) -> Exchange {
        let a = node / depth, d = node % depth, k = depth, b = 1 - tree
        let c = counts(node: node, tree: tree)
        precondition(index >= 0 && index < c.total, "FoldedTree: exchange \(index) of \(c.total)")
        if tree != a {
            // A leaf of `tree`: up to `tree`'s depth k-1 place and back, over the whole path for
            // the two places a depth k-1 node has as children, else over the leaf's side.
            let parent = self.node(tree: tree, depth: k - 1)
            let played = d >= k - 2  // the two leaf children a depth k-1 node has played
            return index == 0
                ? Exchange(kind: .send, peer: parent, wire: played ? .full : .senderSide, own: true)
                : Exchange(kind: .recvCopy, peer: parent, wire: .full, own: true)
        }
        var i = index
        if i < c.upIn {
            if d == 0 { return Exchange(kind: .recvReduce, peer: self.node(tree: a, depth: 1), wire: .full, own: true) }
            if d < k - 1 { return Exchange(kind: .recvReduce, peer: self.node(tree: a, depth: d + 1), wire: .full, own: true) }
            // Depth k-1: the other tree's places at depth k-1 and k-2 (data), then the rest.
            if i < 2 { return Exchange(kind: .recvReduce, peer: self.node(tree: b, depth: k - 1 - i), wire: .full, own: true) }
            return Exchange(kind: .recvCopy, peer: self.node(tree: b, depth: i - 2), wire: .full, own: false)
        }
        i -= c.upIn
        if i < c.upOut {
            // Up to the parent; the second stands for the sibling's message (receiver's side).
            return Exchange(kind: .send, peer: self.node(tree: a, depth: d - 1), wire: i == 0 ? .full : .receiverSide, own: i == 0)
        }
        i -= c.upOut
        if i < c.downIn {
            // From the parent; the second is its message to the sibling (its side only).
            return Exchange(kind: .recvCopy, peer: self.node(tree: a, depth: d - 1), wire: .full, own: i == 0)
        }
        i -= c.downIn
        if d < k - 1 {
            let child = self.node(tree: a, depth: d + 1)
            return Exchange(kind: .send, peer: child, wire: i == 0 ? .full : .senderSide, own: true)
        }
        if i < 2 { return Exchange(kind: .send, peer: self.node(tree: b, depth: k - 1 - i), wire: .full, own: true) }
        return Exchange(kind: .send, peer: self.node(tree: b, depth: i - 2), wire: .receiverSide, own: false)
    }
}

extension ScheduleParameters {
    /// These parameters (a cluster of `fold.nodeCount` nodes) on `fold`'s played nodes: the same
    /// buffer, chunk and ranks per node, `fold.playedNodeCount` nodes of ranks.
    public func played(on fold: FoldedTree) -> ScheduleParameters {
        var p = self
        p.rankCount = fold.playedNodeCount * ranksPerNode
        return p
    }
}
