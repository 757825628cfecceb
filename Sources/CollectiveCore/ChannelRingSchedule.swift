/// NCCL's ring allreduce: `channels` rings at once, each over every rank in its own order
/// (``RailRingOrder``) and each carrying its own slice of the buffer (NCCL src/device/all_reduce.h,
/// `runRing`).
///
/// The buffer is cut into `channels` contiguous slices (``BlockPartition``); slice c is reduced by
/// channel c as a ring reduce-scatter then allgather over p blocks. Every block moves as k
/// chunks (NCCL's protocol steps: the unit a channel posts to its peer's FIFO), and a chunk is
/// forwarded as soon as it has arrived, so chunks stream through the ring one behind the other
/// and a hop's latency is paid once per pipeline, not once per chunk. A *unit* u is one chunk at
/// one ring step (u = s k + i); a rank's program per channel is
///
///     recv(0) ... recv(D-1), then for each unit u: recv(u + D), send(u)
///
/// where recv(u) reduces (reduce-scatter, s < p-1) or copies (allgather) chunk i of block
/// (position - s - 1) from the previous rank, and waits for send(u - (p-1)k) when s >= p-1 (it
/// overwrites a block it sent), and send(u) passes chunk i of block (position - s) to the next
/// rank once recv(u - k) has brought it in. Receives run D units ahead of the sends, as NCCL's
/// receive FIFO holds NCCL_STEPS slots (a rendezvous only waits for the receive to be posted).
/// Channels are innermost in the interleaved program: every position holds one step per channel.
///
/// k = ceil(largest block / chunkBytes). Each rank sends 2(p-1)/p of the buffer in all, as a
/// single ring does; with rail-aligned orders on nodes of g GPUs every node sends and receives
/// the same share through each of its NICs. With one channel on one node (or `ranksPerNode` 1)
/// the order is the plain ring 0 -> 1 -> ... -> p-1.
///
/// A reduce-scatter or an all-gather runs its half of the ring steps (``RingPhases``), and cuts
/// the buffer the other way round: into the p shards first, then each shard into `channels`
/// slices, channel c carrying slice c of every shard, so that every rank's own shard is spread
/// over all channels as NCCL spreads a reduce-scatter's output (src/device/reduce_scatter.h).
public struct ChannelRingSchedule: ChannelSchedule {
    public typealias StepIterator = Iterator
    public typealias LaneSteps = Iterator

    public let rankCount: Int
    public let elementCount: Int
    public let collective: Collective
    /// The ring steps this collective runs.
    public let phases: RingPhases
    /// Channels that carry data: the requested count, at most one per element.
    public let channelCount: Int
    public let ranksPerNode: Int
    /// Chunks per block.
    public let rounds: Int
    /// How many units (one chunk at one ring step) a rank's receives are posted ahead of its
    /// sends: NCCL's FIFO depth (NCCL_STEPS, 8), less where a receive would overwrite a block
    /// not yet sent ((p-1) x chunks - 1).
    public let receivesAhead: Int

    /// NCCL_STEPS (src/include/device.h): the slots of a channel's receive FIFO.
    public static let fifoSteps = 8
    public let slices: BlockPartition

    public var algorithm: AllreduceAlgorithm { .ncclRing }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        ranksPerNode = parameters.ranksPerNode
        channelCount = max(1, min(parameters.channelCount, parameters.elementCount))
        collective = parameters.collective
        phases = RingPhases(collective, ranks: rankCount)
        slices = BlockPartition(count: elementCount, parts: channelCount)
        let largestBlock = collective == .allreduce
            ? BlockPartition(count: slices.maxSize, parts: rankCount).maxSize
            : BlockPartition(count: Collective.shards(elementCount: elementCount, rankCount: rankCount).maxSize, parts: channelCount).maxSize
        rounds = chunkCount(elements: largestBlock, elementSize: parameters.elementSizeBytes, chunkBytes: parameters.chunkBytes)
        receivesAhead = max(0, min(Self.fifoSteps, (rankCount - 1) * rounds - 1))
    }

    /// Steps per rank: 2 (send and receive) x 2(p-1) ring steps (p-1 for a reduce-scatter or an
    /// all-gather) x channels x chunks per block.
    public var stepsPerRank: Int {
        (rankCount <= 1 || elementCount == 0) ? 0 : 2 * phases.count * channelCount * rounds
    }

    /// The ring order of channel `channel`.
    public func order(channel: Int) -> RailRingOrder {
        RailRingOrder(ranks: rankCount, ranksPerNode: ranksPerNode, channel: channel)
    }

    public func makeSteps(forRank rank: Int, channels: Range<Int>) -> Iterator {
        Iterator(schedule: self, rank: rank, lanes: channels)
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let schedule: ChannelRingSchedule
        @usableFromInline let rank: Int
        @usableFromInline let stepCount: Int
        /// The channels this iterator produces (all of them, or one lane).
        @usableFromInline let firstChannel: Int
        @usableFromInline let channels: Int
        /// The receives posted ahead (D, at most the U units (ring step x chunk) of a channel),
        /// and the units whose send has a receive posted before it (max(0, U - D)).
        @usableFromInline let ahead: Int
        @usableFromInline let paired: Int
        @usableFromInline var index = 0
        /// Cursor: position in the lane program, and channel.
        @usableFromInline var position = 0
        @usableFromInline var c = 0

        init(schedule: ChannelRingSchedule, rank: Int, lanes: Range<Int>) {
            self.schedule = schedule
            self.rank = rank
            firstChannel = lanes.lowerBound
            channels = lanes.count
            stepCount = schedule.stepsPerRank / schedule.channelCount * lanes.count
            let units = schedule.phases.count * schedule.rounds
            ahead = Swift.min(schedule.receivesAhead, units)
            paired = Swift.max(0, units - schedule.receivesAhead)
            c = lanes.lowerBound
        }

        @inlinable
        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            index += 1
            let p = schedule.rankCount, k = schedule.rounds
            // Which step this position holds: the first D receives, then (receive u + D, send u)
            // pairs, then the last sends.
            let receive: Bool, unit: Int
            if position < ahead {
                receive = true; unit = position
            } else {
                let q = position - ahead
                if q < 2 * paired {
                    receive = q & 1 == 0
                    unit = receive ? q / 2 + schedule.receivesAhead : q / 2
                } else {
                    receive = false; unit = paired + (q - 2 * paired)
                }
            }
            let s = unit / k, chunk = unit - s * k
            let ringStep = schedule.phases.first + s
            let order = schedule.order(channel: c)
            let place = order.position(of: rank)
            var deps = StepDependencies()
            let step: Step
            if !receive {
                if s >= 1 { deps._d0 = _dependency(_index(receive: true, unit - k)) }
                let r = _chunk(block: _block(schedule.phases.sentBlock(position: place, ringStep: ringStep), order), chunk)
                step = Step(kind: .send, peer: order.rank(at: place + 1 == p ? 0 : place + 1), offset: r.lowerBound, count: r.count,
                            chunk: chunk, dependencies: deps)
            } else {
                if s >= p - 1 { deps._d0 = _dependency(_index(receive: false, unit - (p - 1) * k)) }
                let r = _chunk(block: _block(schedule.phases.receivedBlock(position: place, ringStep: ringStep), order), chunk)
                step = Step(kind: ringStep < p - 1 ? .recvReduce : .recvCopy, peer: order.rank(at: place == 0 ? p - 1 : place - 1),
                            offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps)
            }
            c += 1
            if c == firstChannel + channels { c = firstChannel; position += 1 }
            return step
        }

        /// Index of the receive or send of `unit` for the current channel.
        @inlinable @inline(__always)
        func _index(receive: Bool, _ unit: Int) -> Int {
            let pos: Int
            if receive {
                pos = unit < ahead ? unit : ahead + 2 * (unit - schedule.receivesAhead)
            } else {
                pos = ahead + unit + Swift.min(unit, paired) + (unit < paired ? 1 : 0)
            }
            return pos * channels + (c - firstChannel)
        }

        /// The block ring position `position`'s steps name: the position itself for an allreduce
        /// (any labelling of the blocks serves), the shard of the rank at that position for a
        /// reduce-scatter or an all-gather (each rank's own shard is fixed).
        @inlinable @inline(__always)
        func _block(_ position: Int, _ order: RailRingOrder) -> Int {
            schedule.collective == .allreduce ? position : order.rank(at: position)
        }

        /// Chunk `chunk` of block `block` of the current channel's slice (allreduce), or of the
        /// current channel's slice of shard `block` (reduce-scatter, all-gather).
        @inlinable @inline(__always)
        func _chunk(block: Int, _ chunk: Int) -> Range<Int> {
            if schedule.collective != .allreduce {
                let shard = Collective.shards(elementCount: schedule.elementCount, rankCount: schedule.rankCount).range(block)
                let slice = BlockPartition(count: shard.count, parts: schedule.channelCount).range(c)
                let piece = BlockPartition(count: slice.count, parts: schedule.rounds)
                let o = shard.lowerBound + slice.lowerBound + piece.offset(chunk)
                return o..<(o + piece.size(chunk))
            }
            let slice = schedule.slices.range(c)
            let blocks = BlockPartition(count: slice.count, parts: schedule.rankCount)
            let b = blocks.range(block)
            let k = schedule.rounds
            if k == 1 { return (slice.lowerBound + b.lowerBound)..<(slice.lowerBound + b.upperBound) }
            let piece = BlockPartition(count: b.count, parts: k)
            let o = slice.lowerBound + b.lowerBound + piece.offset(chunk)
            return o..<(o + piece.size(chunk))
        }
    }
}

/// A step index as a dependency (``StepDependencies`` holds 32-bit indices).
@usableFromInline @inline(__always)
func _dependency(_ index: Int) -> Int32 {
    precondition(index >= 0 && index <= Int(Int32.max), "StepDependencies: step index \(index) out of range")
    return Int32(truncatingIfNeeded: index)
}
