/// Which of a ring allreduce's 2(p-1) steps a collective runs, and which block a ring position
/// sends and receives at each: the one home of the ring's block arithmetic for ``RingSchedule``
/// and ``ChannelRingSchedule``.
///
/// The allreduce runs steps 0 ..< 2(p-1): at step s position i sends block (i - s) mod p and
/// receives block (i - s - 1) mod p, reducing it for s < p-1 (the reduce-scatter) and copying it
/// after (the all-gather); position i ends the reduce-scatter with block i+1. A reduce-scatter
/// alone runs steps 0 ..< p-1 and an all-gather alone steps p-1 ..< 2(p-1), both with blocks
/// shifted down by one, so position i ends the reduce-scatter with, and starts the all-gather
/// from, block i: its own shard (NCCL's ring reduce-scatter and all-gather, src/device/reduce_scatter.h
/// and src/device/all_gather.h, start each rank at the chunk after or at its own in the same way).
public struct RingPhases: Sendable, Hashable {
    /// Ranks on the ring.
    public let ranks: Int
    /// The first ring step run.
    public let first: Int
    /// Ring steps run.
    public let count: Int
    /// How far blocks are shifted down (0 for the allreduce, 1 for its halves).
    public let shift: Int

    public init(_ collective: Collective, ranks: Int) {
        self.ranks = ranks
        let half = Swift.max(0, ranks - 1)
        switch collective {
        case .allreduce: first = 0; count = 2 * half; shift = 0
        case .reduceScatter: first = 0; count = half; shift = 1
        case .allGather: first = half; count = half; shift = 1
        }
    }

    /// The block position `position` sends at ring step `ringStep` (0 ..< 2(p-1)).
    @inlinable public func sentBlock(position: Int, ringStep: Int) -> Int {
        Self.wrap(position - ringStep - shift, ranks)
    }

    /// The block position `position` receives at ring step `ringStep`.
    @inlinable public func receivedBlock(position: Int, ringStep: Int) -> Int {
        Self.wrap(position - ringStep - 1 - shift, ranks)
    }

    /// `x` mod `p` for x >= -3p.
    @inlinable @inline(__always) static func wrap(_ x: Int, _ p: Int) -> Int {
        var v = x
        while v < 0 { v += p }
        return v >= p ? v % p : v
    }
}
