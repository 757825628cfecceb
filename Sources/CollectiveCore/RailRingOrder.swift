/// The rank order of one channel's ring, as NCCL's topology search lays rings on multi-GPU nodes
/// (NCCL src/graph/search.cc, connect.cc): a *rail-aligned* ring enters every node through one
/// GPU, visits the node's other GPUs over NVLink, and leaves through another, and consecutive
/// nodes are joined GPU g to GPU g, so the hop between nodes stays on one rail (NIC g of one node
/// to NIC g of the next, one switch apart on a rail-optimized fabric). Channels differ by the
/// GPUs they enter and leave through, so that k channels spread over every NIC of a node.
///
/// For channel c on nodes of g GPUs: the entry GPU is `e = c mod g` and the exit GPU its partner
/// `x` (`e xor 1`, or `e + 1` when that is out of range). Even nodes (in ring order) enter at e
/// and leave at x, odd nodes enter at x and leave at e, so node i leaves through the GPU that
/// node i+1 enters by. The GPUs in between follow in increasing order from the entry GPU. For
/// 2 nodes of 4 GPUs, channel 0 is `0 2 3 1 | 5 6 7 4` and channel 1 is `1 2 3 0 | 4 6 7 5`.
/// The wrap from the last node to node 0 stays on the rail when the node count is even.
///
/// With one node, channel c is the rotation starting at rank c. Every position and rank is
/// computed in O(1): no table, so a ring over any number of ranks costs nothing to hold.
public struct RailRingOrder: Sendable, Hashable {
    /// Ranks in the ring.
    public let rankCount: Int
    /// GPUs per node (ranks `node * ranksPerNode ..< (node + 1) * ranksPerNode`).
    public let ranksPerNode: Int
    /// The channel this order belongs to.
    public let channel: Int

    @usableFromInline let _nodes: Int
    @usableFromInline let _entry: Int
    @usableFromInline let _exit: Int
    @usableFromInline let _rail: Bool

    /// The ring of `channel` over `ranks` ranks in nodes of `ranksPerNode`. When the ranks do not
    /// fill whole nodes, or there is one node, the ring is the plain rotation starting at rank
    /// `channel mod ranks`.
    public init(ranks: Int, ranksPerNode: Int, channel: Int) {
        precondition(ranks >= 1 && ranksPerNode >= 1 && channel >= 0, "RailRingOrder: ranks, ranks per node must be positive and the channel non-negative")
        rankCount = ranks
        self.ranksPerNode = ranksPerNode
        self.channel = channel
        let g = ranksPerNode
        _rail = ranks % g == 0 && ranks / g > 1 && g > 1
        _nodes = ranks / g
        let e = channel % g
        _entry = e
        let x = (e ^ 1) < g ? (e ^ 1) : (e + 1) % g
        _exit = x
    }

    /// Entry and exit GPU of node `node` (by ring order).
    @inlinable @inline(__always)
    func _ends(_ node: Int) -> (enter: Int, leave: Int) {
        node & 1 == 0 ? (_entry, _exit) : (_exit, _entry)
    }

    /// The rank at ring position `position` (0 ..< rankCount).
    @inlinable
    public func rank(at position: Int) -> Int {
        guard _rail else { return (position + channel) % rankCount }
        let g = ranksPerNode
        let node = position / g, j = position - node * g
        let (a, b) = _ends(node)
        let local: Int
        if j == 0 { local = a }
        else if j == g - 1 { local = b }
        else {
            let gapToExit = (b - a + g) % g
            local = (a + j + (gapToExit <= j ? 1 : 0)) % g
        }
        return node * g + local
    }

    /// The ring position of `rank`.
    @inlinable
    public func position(of rank: Int) -> Int {
        guard _rail else { return (rank - channel % rankCount + rankCount) % rankCount }
        let g = ranksPerNode
        let node = rank / g, local = rank - node * g
        let (a, b) = _ends(node)
        let j: Int
        if local == a { j = 0 }
        else if local == b { j = g - 1 }
        else {
            let d = (local - a + g) % g
            let gapToExit = (b - a + g) % g
            j = gapToExit < d ? d - 1 : d
        }
        return node * g + j
    }

    /// The rank after `rank` in the ring.
    @inlinable public func next(of rank: Int) -> Int { self.rank(at: (position(of: rank) + 1) % rankCount) }
    /// The rank before `rank` in the ring.
    @inlinable public func previous(of rank: Int) -> Int { self.rank(at: (position(of: rank) + rankCount - 1) % rankCount) }
}
