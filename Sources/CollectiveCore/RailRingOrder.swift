/// The rank order of one channel's ring, as NCCL's topology search lays rings on multi-GPU nodes
/// (NCCL src/graph/search.cc, connect.cc): a *rail-aligned* ring enters every node through one
/// GPU, visits the node's other GPUs over NVLink, and leaves through the last, and consecutive
/// nodes are joined GPU g to GPU g, so the hop between nodes stays on one rail (NIC g of one node
/// to NIC g of the next, one switch apart on a rail-optimized fabric). Channels differ by the
/// GPU they enter through, so that k channels spread over every NIC of a node.
///
/// Inside a node every channel follows the same cycle 0 -> 1 -> ... -> g-1 -> 0, entered at a
/// different GPU, so GPU a only ever sends to GPU a+1 over NVLink (no two channels cross the
/// switch on different pairs). Channel c enters node i (in ring order) at GPU
/// `a = (c - i) mod g`, visits a, a+1, ..., a+g-1 and leaves from a-1 through NIC a-1, into GPU
/// a-1 of node i+1. For 2 nodes of 4 GPUs, channel 0 is `0 1 2 3 | 7 4 5 6` and channel 1 is
/// `1 2 3 0 | 4 5 6 7`. The wrap from the last node to node 0 stays on the rail when the node
/// count is a multiple of g.
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

    @usableFromInline let _entry: Int
    @usableFromInline let _rail: Bool

    /// The ring of `channel` over `ranks` ranks in nodes of `ranksPerNode`. When the ranks do not
    /// fill whole nodes, or there is one node, the ring is the plain rotation starting at rank
    /// `channel mod ranks`.
    public init(ranks: Int, ranksPerNode: Int, channel: Int) {
        precondition(ranks >= 1 && ranksPerNode >= 1 && channel >= 0, "RailRingOrder: ranks, ranks per node must be positive and the channel non-negative")
        rankCount = ranks
        self.ranksPerNode = ranksPerNode
        self.channel = channel
        _rail = ranks % ranksPerNode == 0 && ranks / ranksPerNode > 1 && ranksPerNode > 1
        _entry = channel % ranksPerNode
    }

    /// The GPU through which the ring enters node `node` (by ring order).
    @inlinable @inline(__always)
    func _enter(_ node: Int) -> Int {
        let g = ranksPerNode
        return ((_entry - node) % g + g) % g
    }

    /// The rank at ring position `position` (0 ..< rankCount).
    @inlinable
    public func rank(at position: Int) -> Int {
        guard _rail else { return (position + channel) % rankCount }
        let g = ranksPerNode
        let node = position / g, j = position - node * g
        return node * g + (_enter(node) + j) % g
    }

    /// The ring position of `rank`.
    @inlinable
    public func position(of rank: Int) -> Int {
        guard _rail else { return (rank - channel % rankCount + rankCount) % rankCount }
        let g = ranksPerNode
        let node = rank / g, local = rank - node * g
        return node * g + (local - _enter(node) + g) % g
    }

    /// The rank after `rank` in the ring.
    @inlinable public func next(of rank: Int) -> Int { self.rank(at: (position(of: rank) + 1) % rankCount) }
    /// The rank before `rank` in the ring.
    @inlinable public func previous(of rank: Int) -> Int { self.rank(at: (position(of: rank) + rankCount - 1) % rankCount) }
}
