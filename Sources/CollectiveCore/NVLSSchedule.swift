/// NCCL's NVLS allreduce on one node: the NVSwitch reduces and multicasts (NVLink SHARP, Hopper
/// and later; NCCL src/device/all_reduce.h `runNvls`, NCCL 2.17+).
///
/// The buffer is cut into `channels` slices (``BlockPartition``), one per channel (a lane); a
/// slice is reduced in *rounds* of p shards of at most `chunkBytes` each (NCCL's NVLS chunk), and
/// shard i of every round belongs to rank i. The node's switch is the schedule's one switch
/// endpoint (``Schedule/switchCount``, endpoint p). One round, as NCCL's kernel runs it:
///
/// 1. *Reduce*: every rank hands each shard of the round to the switch (the switch reads it for
///    the owner's `multimem.ld_reduce`); the switch adds the p copies as they come in and gives
///    the sum of shard i to rank i.
/// 2. *Multicast*: rank i stores its reduced shard to the switch once (`multimem.st`), and the
///    switch writes it to every rank of the node, rank i included.
///
/// So a GPU's NVLink port carries the buffer once out (its contributions) and once in (the
/// multicast copies), plus one shard in each direction per round for the owner's round trip:
/// (p + 1)/p of the buffer each way, where a ring carries 2(p - 1)/p. The per-pair order:
///
///     rank g:  send shard 0 ... shard p-1 to S, recv reduced shard g, send shard g to S,
///              recv shard 0 ... shard p-1 from S                         (2p + 2 steps)
///     switch:  for each shard i: recv it from ranks 0 ... p-1 (copy, then reduce), send to i;
///              then for each shard i: recv it from i, send it to ranks 0 ... p-1
///                                                                         (2p(p + 1) steps)
///
/// Rounds follow each other in a lane; the switch's buffer is scratch (each round uses its own
/// range of it, so no round waits for another's data to leave).
public struct NVLSSchedule: ChannelSchedule {
    public typealias StepIterator = Iterator
    public typealias LaneSteps = Iterator

    public let rankCount: Int
    public let elementCount: Int
    public let channelCount: Int
    /// Rounds per channel: the largest slice over p shards of at most `chunkBytes`.
    public let rounds: Int
    public let slices: BlockPartition

    public var algorithm: AllreduceAlgorithm { .ncclNVLS }
    /// The node's NVSwitch (none for a single rank).
    public var switchCount: Int { rankCount > 1 ? 1 : 0 }

    /// NCCL's NVLS chunk per shard (src/transport/nvls.cc, NCCL_NVLS_CHUNKSIZE default 128 KiB).
    public static let defaultChunkBytes = 128 << 10

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        guard parameters.ranksPerNode == parameters.rankCount else {
            throw .invalidParameter("nccl-nvls reduces in one node's NVSwitch: it needs every rank on one node (\(parameters.rankCount) ranks, \(parameters.ranksPerNode) per node); across nodes NCCL runs NVLS inside nodes and trees between them (nvls-tree)")
        }
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        channelCount = max(1, min(parameters.channelCount, parameters.elementCount))
        slices = BlockPartition(count: elementCount, parts: channelCount)
        let shardElements = max(1, parameters.chunkBytes / parameters.elementSizeBytes)
        let perRound = shardElements * max(1, rankCount)
        rounds = max(1, (slices.maxSize + perRound - 1) / perRound)
    }

    /// Steps of one round of a rank, and of the switch.
    @inlinable public var rankStepsPerRound: Int { 2 * rankCount + 2 }
    @inlinable public var switchStepsPerRound: Int { 2 * rankCount * (rankCount + 1) }

    /// Steps per lane of `endpoint` (a rank, or the switch).
    public func stepsPerLane(_ endpoint: Int) -> Int {
        guard rankCount > 1 && elementCount > 0 else { return 0 }
        return rounds * (endpoint < rankCount ? rankStepsPerRound : switchStepsPerRound)
    }

    public func makeSteps(forRank rank: Int, channels: Range<Int>) -> Iterator {
        Iterator(schedule: self, endpoint: rank, lanes: channels)
    }

    /// Shard `shard` of round `round` of channel `channel`.
    @inlinable
    public func shard(channel: Int, round: Int, _ shard: Int) -> Range<Int> {
        let slice = slices.range(channel)
        let r = BlockPartition(count: slice.count, parts: rounds).range(round)
        let s = BlockPartition(count: r.count, parts: rankCount).range(shard)
        let o = slice.lowerBound + r.lowerBound
        return (o + s.lowerBound)..<(o + s.upperBound)
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let schedule: NVLSSchedule
        @usableFromInline let endpoint: Int
        @usableFromInline let firstChannel: Int
        @usableFromInline let channels: Int
        @usableFromInline let stepCount: Int
        @usableFromInline var index = 0
        @usableFromInline var position = 0
        @usableFromInline var c = 0

        init(schedule: NVLSSchedule, endpoint: Int, lanes: Range<Int>) {
            self.schedule = schedule
            self.endpoint = endpoint
            firstChannel = lanes.lowerBound
            channels = lanes.count
            stepCount = schedule.stepsPerLane(endpoint) * lanes.count
            c = lanes.lowerBound
        }

        @inlinable
        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            index += 1
            let step = endpoint < schedule.rankCount ? _rankStep() : _switchStep()
            c += 1
            if c == firstChannel + channels { c = firstChannel; position += 1 }
            return step
        }

        /// The interleaved index of lane position `pos` of the current channel.
        @inlinable @inline(__always)
        func _index(_ pos: Int) -> Int { pos * channels + (c - firstChannel) }

        @inlinable
        func _rankStep() -> Step {
            let p = schedule.rankCount, r = endpoint, sw = p
            let per = schedule.rankStepsPerRound
            let round = position / per, q = position - round * per, base = round * per
            func range(_ i: Int) -> Range<Int> { schedule.shard(channel: c, round: round, i) }
            if q < p {
                let s = range(q)
                return Step(kind: .send, peer: sw, offset: s.lowerBound, count: s.count, chunk: round)
            }
            if q == p {
                let s = range(r)
                return Step(kind: .recvCopy, peer: sw, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_index(base + r)))
            }
            if q == p + 1 {
                let s = range(r)
                return Step(kind: .send, peer: sw, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_index(base + p)))
            }
            let i = q - p - 2
            let s = range(i)
            return Step(kind: .recvCopy, peer: sw, offset: s.lowerBound, count: s.count, chunk: round,
                        dependencies: StepDependencies(_index(i == r ? base + p + 1 : base + i)))
        }

        @inlinable
        func _switchStep() -> Step {
            let p = schedule.rankCount
            let per = schedule.switchStepsPerRound
            let round = position / per, q = position - round * per, base = round * per
            let half = p * (p + 1)
            let phaseB = q >= half
            let w = phaseB ? q - half : q
            let i = w / (p + 1), k = w - i * (p + 1)
            let s = schedule.shard(channel: c, round: round, i)
            let block = base + (phaseB ? half : 0) + i * (p + 1)
            if !phaseB {
                // Shard i: receive it from every rank (copy, then add), then give the sum to rank i.
                if k < p {
                    return Step(kind: k == 0 ? .recvCopy : .recvReduce, peer: k, offset: s.lowerBound, count: s.count, chunk: round,
                                dependencies: k == 0 ? StepDependencies() : StepDependencies(_index(block + k - 1)))
                }
                return Step(kind: .send, peer: i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_index(block + p - 1)))
            }
            // Rank i's multicast store of shard i, written to every rank.
            if k == 0 {
                return Step(kind: .recvCopy, peer: i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_index(base + i * (p + 1) + p)))
            }
            return Step(kind: .send, peer: k - 1, offset: s.lowerBound, count: s.count, chunk: round,
                        dependencies: StepDependencies(_index(block)))
        }
    }
}
