/// NCCL's NVLS allreduce: the NVSwitch reduces and multicasts (NVLink SHARP, Hopper and later;
/// NCCL src/device/all_reduce.h `runNvls`, NCCL 2.17+), and across nodes the network's switches
/// reduce too (NVLS with CollNet, InfiniBand SHARP), as NCCL runs NVLS on several nodes.
///
/// The buffer is cut into `channels` slices (``BlockPartition``), one per channel (a lane); a
/// slice is reduced in *rounds* of g shards (g GPUs per node) of at most `chunkBytes` each
/// (NCCL's NVLS chunk), and shard i of every round belongs to GPU i of each node. Switch
/// endpoints (``Schedule/switchCount``): node k's NVSwitch is endpoint p + k; with several nodes,
/// the network's reduction for GPU index i is endpoint p + nodes + i. One round:
///
/// 1. *Reduce in the node*: every GPU hands each shard of the round to its NVSwitch (the switch
///    reads it for the owner's `multimem.ld_reduce`); the switch adds the g copies as they come
///    in and gives the node's sum of shard i to GPU i.
/// 2. *Reduce across nodes* (several nodes): GPU i of every node sends its node's sum to the
///    network's reduction for index i, which adds the node sums and sends the total back.
/// 3. *Multicast*: GPU i stores its shard to the NVSwitch once (`multimem.st`), and the switch
///    writes it to every GPU of the node, GPU i included.
///
/// So a GPU's NVLink port carries the buffer once out (its contributions) and once in (the
/// multicast copies), plus one shard in each direction per round for the owner's round trip:
/// (g + 1)/g of the buffer each way, where a ring carries 2(p - 1)/p; a NIC carries its GPUs'
/// shards once each way. The per-pair order:
///
///     GPU (node n, index i):  send shard 0 ... shard g-1 to node n's switch, recv the node's sum
///         of shard i, [send it to the network's reduction i, recv the total,] send shard i to the
///         switch, recv shard 0 ... shard g-1 from the switch        (2g + 2 steps; 2g + 4 across nodes)
///     NVSwitch: for each shard i: recv it from GPUs 0 ... g-1 (copy, then add), send to GPU i;
///         then for each shard i: recv it from GPU i, send it to GPUs 0 ... g-1   (2g(g + 1) steps)
///     network reduction i: recv shard i from GPU i of nodes 0 ... N-1 (copy, then add), send the
///         total to each                                              (2N steps)
///
/// Rounds follow each other in a lane; a switch's buffer is scratch (each round uses its own
/// range of it, so no round waits for another's data to leave).
public struct NVLSSchedule: ChannelSchedule {
    public typealias StepIterator = Iterator
    public typealias LaneSteps = Iterator

    public let rankCount: Int
    public let elementCount: Int
    public let channelCount: Int
    /// GPUs per node (shards per round) and nodes.
    public let ranksPerNode: Int
    public let nodeCount: Int
    /// Rounds per channel: the largest slice over g shards of at most `chunkBytes`.
    public let rounds: Int
    public let slices: BlockPartition

    public var algorithm: AllreduceAlgorithm { .ncclNVLS }
    /// Every node's NVSwitch, and across nodes the network's reduction for each GPU index (none
    /// for a single rank).
    public var switchCount: Int { rankCount <= 1 ? 0 : nodeCount == 1 ? 1 : nodeCount + ranksPerNode }

    /// NCCL's NVLS chunk per shard (src/transport/nvls.cc, NCCL_NVLS_CHUNKSIZE default 128 KiB).
    public static let defaultChunkBytes = 128 << 10

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        guard parameters.rankCount % parameters.ranksPerNode == 0 else {
            throw .invalidParameter("nccl-nvls needs whole nodes: \(parameters.rankCount) ranks are not a multiple of \(parameters.ranksPerNode) per node")
        }
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        ranksPerNode = parameters.ranksPerNode
        nodeCount = rankCount / ranksPerNode
        channelCount = max(1, min(parameters.channelCount, parameters.elementCount))
        slices = BlockPartition(count: elementCount, parts: channelCount)
        let shardElements = max(1, parameters.chunkBytes / parameters.elementSizeBytes)
        let perRound = shardElements * max(1, ranksPerNode)
        rounds = max(1, (slices.maxSize + perRound - 1) / perRound)
    }

    /// Steps of one round of a rank, of an NVSwitch, and of a network reduction.
    @inlinable public var rankStepsPerRound: Int { 2 * ranksPerNode + (nodeCount > 1 ? 4 : 2) }
    @inlinable public var switchStepsPerRound: Int { 2 * ranksPerNode * (ranksPerNode + 1) }
    @inlinable public var networkStepsPerRound: Int { 2 * nodeCount }

    /// Steps per lane of `endpoint` (a rank, an NVSwitch or a network reduction).
    public func stepsPerLane(_ endpoint: Int) -> Int {
        guard rankCount > 1 && elementCount > 0 else { return 0 }
        if endpoint < rankCount { return rounds * rankStepsPerRound }
        return rounds * (endpoint - rankCount < nodeCount ? switchStepsPerRound : networkStepsPerRound)
    }

    public func makeSteps(forRank rank: Int, channels: Range<Int>) -> Iterator {
        Iterator(schedule: self, endpoint: rank, lanes: channels)
    }

    /// Shard `shard` of round `round` of channel `channel`.
    @inlinable
    public func shard(channel: Int, round: Int, _ shard: Int) -> Range<Int> {
        let slice = slices.range(channel)
        let r = BlockPartition(count: slice.count, parts: rounds).range(round)
        let s = BlockPartition(count: r.count, parts: ranksPerNode).range(shard)
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
            let step: Step
            if endpoint < schedule.rankCount { step = _rankStep() }
            else if endpoint - schedule.rankCount < schedule.nodeCount { step = _switchStep() }
            else { step = _networkStep() }
            c += 1
            if c == firstChannel + channels { c = firstChannel; position += 1 }
            return step
        }

        /// The interleaved index of lane position `pos` of the current channel.
        @inlinable @inline(__always)
        func _index(_ pos: Int) -> Int { pos * channels + (c - firstChannel) }

        @inlinable
        func _rankStep() -> Step {
            let g = schedule.ranksPerNode, node = endpoint / g, r = endpoint - node * g
            let sw = schedule.rankCount + node
            let across = schedule.nodeCount > 1
            let net = schedule.rankCount + schedule.nodeCount + r
            let per = schedule.rankStepsPerRound
            let round = position / per, q = position - round * per, base = round * per
            func range(_ i: Int) -> Range<Int> { schedule.shard(channel: c, round: round, i) }
            // Positions: g contributions, the node's sum, [to and from the network,] the store, g copies.
            let stored = across ? g + 3 : g + 1
            if q < g {
                let s = range(q)
                return Step(kind: .send, peer: sw, offset: s.lowerBound, count: s.count, chunk: round)
            }
            let own = range(r)
            if q == g {
                return Step(kind: .recvCopy, peer: sw, offset: own.lowerBound, count: own.count, chunk: round,
                            dependencies: StepDependencies(_index(base + r)))
            }
            if across && q == g + 1 {
                return Step(kind: .send, peer: net, offset: own.lowerBound, count: own.count, chunk: round,
                            dependencies: StepDependencies(_index(base + g)))
            }
            if across && q == g + 2 {
                return Step(kind: .recvCopy, peer: net, offset: own.lowerBound, count: own.count, chunk: round,
                            dependencies: StepDependencies(_index(base + g + 1)))
            }
            if q == stored {
                return Step(kind: .send, peer: sw, offset: own.lowerBound, count: own.count, chunk: round,
                            dependencies: StepDependencies(_index(base + stored - 1)))
            }
            let i = q - stored - 1
            let s = range(i)
            return Step(kind: .recvCopy, peer: sw, offset: s.lowerBound, count: s.count, chunk: round,
                        dependencies: StepDependencies(_index(i == r ? base + stored : base + i)))
        }

        @inlinable
        func _networkStep() -> Step {
            let g = schedule.ranksPerNode, n = schedule.nodeCount
            let i = endpoint - schedule.rankCount - n
            let per = schedule.networkStepsPerRound
            let round = position / per, q = position - round * per, base = round * per
            let s = schedule.shard(channel: c, round: round, i)
            if q < n {
                // GPU i of node q's sum: copied first, then added.
                return Step(kind: q == 0 ? .recvCopy : .recvReduce, peer: q * g + i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: q == 0 ? StepDependencies() : StepDependencies(_index(base + q - 1)))
            }
            return Step(kind: .send, peer: (q - n) * g + i, offset: s.lowerBound, count: s.count, chunk: round,
                        dependencies: StepDependencies(_index(base + n - 1)))
        }

        @inlinable
        func _switchStep() -> Step {
            let p = schedule.ranksPerNode
            let first = (endpoint - schedule.rankCount) * p
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
                    return Step(kind: k == 0 ? .recvCopy : .recvReduce, peer: first + k, offset: s.lowerBound, count: s.count, chunk: round,
                                dependencies: k == 0 ? StepDependencies() : StepDependencies(_index(block + k - 1)))
                }
                return Step(kind: .send, peer: first + i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_index(block + p - 1)))
            }
            // Rank i's multicast store of shard i, written to every rank.
            if k == 0 {
                return Step(kind: .recvCopy, peer: first + i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_index(base + i * (p + 1) + p)))
            }
            return Step(kind: .send, peer: first + k - 1, offset: s.lowerBound, count: s.count, chunk: round,
                        dependencies: StepDependencies(_index(block)))
        }
    }
}
