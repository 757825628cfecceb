/// NCCL's ring allreduce: `channels` rings at once, each over every rank in its own order
/// (``RailRingOrder``) and each carrying its own slice of the buffer (NCCL src/device/all_reduce.h,
/// `runRing`).
///
/// The buffer is cut into `channels` contiguous slices (``BlockPartition``); slice c is reduced by
/// channel c as a ring reduce-scatter then allgather over p blocks. Every block moves as k
/// chunks (NCCL's protocol steps: the unit a channel posts to its peer's FIFO), and a chunk is
/// forwarded as soon as it has arrived, so chunks stream through the ring one behind the other
/// and a hop's latency is paid once per pipeline, not once per chunk. Steps of a rank, in issue
/// order:
///
///     for ring step s in 0 ..< 2(p-1), for chunk i in 0 ..< k, for channel c in 0 ..< channels:
///         send(s, i, c)   waits for recv(s-1, i, c)              (it forwards what it received)
///         recv(s, i, c)   waits for send(s+1-p, i, c) if s >= p-1 (it overwrites a block it sent)
///
/// k = ceil(largest block / chunkBytes). Each rank sends 2(p-1)/p of the buffer in all, as a
/// single ring does; with rail-aligned orders on nodes of g GPUs every node sends and receives
/// the same share through each of its NICs. With one channel on one node (or `ranksPerNode` 1)
/// the order is the plain ring 0 -> 1 -> ... -> p-1.
public struct ChannelRingSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    /// Channels that carry data: the requested count, at most one per element.
    public let channelCount: Int
    public let ranksPerNode: Int
    /// Chunks per block.
    public let rounds: Int
    public let slices: BlockPartition

    public var algorithm: AllreduceAlgorithm { .ncclRing }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        ranksPerNode = parameters.ranksPerNode
        channelCount = max(1, min(parameters.channelCount, parameters.elementCount))
        slices = BlockPartition(count: elementCount, parts: channelCount)
        let largestBlock = BlockPartition(count: slices.maxSize, parts: rankCount).maxSize
        rounds = chunkCount(elements: largestBlock, elementSize: parameters.elementSizeBytes, chunkBytes: parameters.chunkBytes)
    }

    /// Steps per rank: 2 (send and receive) x 2(p-1) ring steps x channels x chunks per block.
    public var stepsPerRank: Int {
        (rankCount <= 1 || elementCount == 0) ? 0 : 4 * (rankCount - 1) * channelCount * rounds
    }

    /// The ring order of channel `channel`.
    public func order(channel: Int) -> RailRingOrder {
        RailRingOrder(ranks: rankCount, ranksPerNode: ranksPerNode, channel: channel)
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "ChannelRingSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank)
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let schedule: ChannelRingSchedule
        @usableFromInline let rank: Int
        @usableFromInline let ringSteps: Int
        @usableFromInline let stepCount: Int
        @usableFromInline var index = 0
        /// Cursor of the next (send, receive) pair: ring step, chunk (`round`), channel.
        @usableFromInline var round = 0
        @usableFromInline var s = 0
        @usableFromInline var c = 0
        /// The current channel's ring neighbours and this rank's position in it.
        @usableFromInline var position = 0
        @usableFromInline var nextRank = 0
        @usableFromInline var previousRank = 0

        init(schedule: ChannelRingSchedule, rank: Int) {
            self.schedule = schedule
            self.rank = rank
            ringSteps = 2 * (schedule.rankCount - 1)
            stepCount = schedule.stepsPerRank
        }

        @inlinable
        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            let i = index
            index = i + 1
            let p = schedule.rankCount
            let C = schedule.channelCount
            if i & 1 == 0 {
                let order = schedule.order(channel: c)
                position = order.position(of: rank)
                nextRank = order.rank(at: position + 1 == p ? 0 : position + 1)
                previousRank = order.rank(at: position == 0 ? p - 1 : position - 1)
                var deps = StepDependencies()
                if s >= 1 { deps._d0 = _dependency(_index(round, s - 1, c, receive: true, channels: C)) }
                let r = _chunk(block: (position - s + 2 * p) % p)
                return Step(kind: .send, peer: nextRank, offset: r.lowerBound, count: r.count, chunk: round, dependencies: deps)
            }
            var deps = StepDependencies()
            if s >= p - 1 { deps._d0 = _dependency(_index(round, s + 1 - p, c, receive: false, channels: C)) }
            let r = _chunk(block: (position - s - 1 + 2 * p) % p)
            let step = Step(kind: s < p - 1 ? .recvReduce : .recvCopy, peer: previousRank, offset: r.lowerBound, count: r.count,
                            chunk: round, dependencies: deps)
            c += 1
            if c == C {
                c = 0
                round += 1
                if round == schedule.rounds { round = 0; s += 1 }
            }
            return step
        }

        @inlinable @inline(__always)
        func _index(_ round: Int, _ s: Int, _ c: Int, receive: Bool, channels: Int) -> Int {
            ((s * schedule.rounds + round) * channels + c) * 2 + (receive ? 1 : 0)
        }

        /// Chunk `round` of block `block` of the current channel's slice.
        @inlinable @inline(__always)
        func _chunk(block: Int) -> Range<Int> {
            let slice = schedule.slices.range(c)
            let blocks = BlockPartition(count: slice.count, parts: schedule.rankCount)
            let b = blocks.range(block)
            let k = schedule.rounds
            if k == 1 { return (slice.lowerBound + b.lowerBound)..<(slice.lowerBound + b.upperBound) }
            let piece = BlockPartition(count: b.count, parts: k)
            let o = slice.lowerBound + b.lowerBound + piece.offset(round)
            return o..<(o + piece.size(round))
        }
    }
}

/// A step index as a dependency (``StepDependencies`` holds 32-bit indices).
@usableFromInline @inline(__always)
func _dependency(_ index: Int) -> Int32 {
    precondition(index >= 0 && index <= Int(Int32.max), "StepDependencies: step index \(index) out of range")
    return Int32(truncatingIfNeeded: index)
}
