/// NCCL's NVLS allreduce: the NVSwitch reduces and multicasts (NVLink SHARP, Hopper and later;
/// NCCL src/device/all_reduce.h `runNvls` and `runNvlsTree`, NCCL 2.17+). Across nodes the
/// node sums meet either in the network's switches (``BetweenNodes/networkReduction``: NVLS with
/// CollNet, InfiniBand SHARP, NCCL's NVLS on several nodes) or over a tree of the nodes
/// (``BetweenNodes/tree``: NCCL's NVLS tree). With ``InNode/direct`` the GPUs of a node add each
/// other's shards themselves, point to point, where no NVSwitch reduces, and the node sums meet
/// in the network's switches: NCCL's CollNet Direct (`runCollNetDirect`; SHARP on Ampere and
/// later), played in the same rounds and shards.
///
/// The buffer is cut into `channels` slices (``BlockPartition``), one per channel; a slice is
/// reduced in *rounds* of g shards (g GPUs per node) of at most `chunkBytes` each
/// (NCCL's NVLS chunk), and shard i of every round belongs to GPU i of each node. Switch
/// endpoints (``Schedule/switchCount``): node k's NVSwitch is endpoint p + k; with several nodes,
/// the network's reduction for GPU index i is endpoint p + nodes + i. One round:
///
/// 1. *Reduce in the node*: every GPU hands each shard of the round to its NVSwitch (the switch
///    reads it for the owner's `multimem.ld_reduce`); the switch adds the g copies as they come
///    in and gives the node's sum of shard i to GPU i.
/// 2. *Reduce across nodes* (several nodes): GPU i of every node sends its node's sum to the
///    network's reduction for index i, which adds the node sums and sends the total back; or,
///    with the tree, GPU i adds its children's partial sums, sends the result to its parent,
///    gets the total back and passes it to its children: channel c uses tree c mod 2 of the
///    nodes' ``DoubleBinaryTree``, so each node forwards in one tree of two.
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
///         (each send of shard 0 ... g-1 starts once the one before has arrived, as NCCL's scatter
///         writes one peer's part after another)
///     NVSwitch: for each shard i: recv it from GPUs 0 ... g-1 (copy, then add), send to GPU i;
///         then for each shard i: recv it from GPU i, send it to GPUs 0 ... g-1   (2g(g + 1) steps)
///     network reduction i: recv shard i from GPU i of nodes 0 ... N-1 (copy, then add), send the
///         total to each                                              (2N steps)
///     tree instead: recv from each child (add), send to the parent, recv from the parent (copy),
///         send to each child, in place of the network's round trip  (2 (children + parent) steps)
///
/// CollNet Direct (``InNode/direct``) has no NVSwitch endpoints' steps (node k's endpoint stays
/// in the numbering, idle, so the network's reductions keep their place). GPU i owns shard i as
/// before and does the switch's work for it over NVLink (or PCIe):
///
///     GPU (node n, index i):  send shard j to GPU j for the g - 1 others (j = i+1, i+2, ...),
///         recv shard i from each of them (add), [send it to the network's reduction i, recv the
///         total,] send shard i to each of them, recv shard j from each of them (copy)
///                                                                    (4(g - 1) steps; + 2 across nodes)
///
/// so its port carries 2(g - 1)/g of the buffer each way, as a ring's does, and its NIC the
/// owner's shards once each way, as with NVLS.
///
/// A channel is one lane, its rounds in order (with the tree between nodes, ``lanesPerChannel``
/// lanes take its rounds in turn); a switch's buffer is scratch (each round uses its own range of
/// it, so no round waits for another's data to leave). The program of all lanes runs them one
/// after the other (lane-major), since a rank's rounds have different lengths in the two trees;
/// timing engines play the lanes apart.
public struct NVLSSchedule: LanedSchedule {
    public typealias StepIterator = Iterator
    public typealias LaneSteps = Iterator

    /// How the node sums meet across nodes.
    public enum BetweenNodes: Sendable, Hashable {
        /// The network's switches add them (InfiniBand SHARP).
        case networkReduction
        /// A double binary tree of the nodes (NCCL's NVLS tree).
        case tree
    }

    /// Who adds the shards of a node.
    public enum InNode: Sendable, Hashable {
        /// The node's NVSwitch adds and multicasts (NVLS).
        case nvswitch
        /// The shard's owner adds the copies the other GPUs send it and sends them the sum, point
        /// to point (NCCL's CollNet Direct).
        case direct
    }

    public let rankCount: Int
    public let elementCount: Int
    public let channelCount: Int
    /// GPUs per node (shards per round) and nodes.
    public let ranksPerNode: Int
    public let nodeCount: Int
    public let betweenNodes: BetweenNodes
    public let inNode: InNode
    /// Rounds per channel: the largest slice over g shards of at most `chunkBytes`.
    public let rounds: Int
    public let slices: BlockPartition
    /// With the tree between nodes: the double binary tree of a larger cluster, folded
    /// (``FoldedTree``): the schedule's nodes are its played nodes, one per place in the trees,
    /// and its steps are for timing engines only (nil: the nodes' own tree).
    public let fold: FoldedTree?

    public var algorithm: AllreduceAlgorithm {
        inNode == .direct ? .ncclCollNet : betweenNodes == .tree ? .ncclNVLSTree : .ncclNVLS
    }
    /// Every node's NVSwitch, and across nodes with the network's reduction one endpoint per GPU
    /// index (none for a single rank).
    public var switchCount: Int {
        Self.switchCount(ranks: rankCount, ranksPerNode: ranksPerNode, betweenNodes: betweenNodes, inNode: inNode)
    }

    /// Whether the nodes' NVSwitches reduce: not with ``InNode/direct``, whose NVSwitch endpoints
    /// stay idle.
    public var reducesInNodeSwitches: Bool { inNode == .nvswitch && switchCount > 0 }

    /// The switch endpoints of an NVLS schedule over `ranks` ranks, `ranksPerNode` per node.
    public static func switchCount(ranks: Int, ranksPerNode: Int, betweenNodes: BetweenNodes, inNode: InNode = .nvswitch) -> Int {
        let nodes = ranks / Swift.max(1, ranksPerNode)
        if ranks <= 1 || (inNode == .direct && nodes == 1) { return 0 }
        return nodes == 1 || betweenNodes == .tree ? nodes : nodes + ranksPerNode
    }

    /// NCCL's NVLS chunk per shard (src/transport/nvls.cc, NCCL_NVLS_CHUNKSIZE default 128 KiB).
    public static let defaultChunkBytes = 128 << 10

    /// NVLS with the tree between nodes over `fold`'s played nodes (`parameters.rankCount` is
    /// their GPUs: `fold.playedNodeCount` x ranks per node), standing for `fold.nodeCount` nodes.
    /// For timing engines only: a folded schedule moves no data an executor could check.
    public init(_ parameters: ScheduleParameters, fold: FoldedTree) throws(ScheduleError) {
        guard parameters == parameters.played(on: fold) else {
            throw .invalidParameter("\(AllreduceAlgorithm.ncclNVLSTree.rawValue) folded over \(fold.nodeCount) nodes plays \(fold.playedNodeCount) nodes of \(parameters.ranksPerNode) ranks, not \(parameters.rankCount) ranks")
        }
        try self.init(parameters, betweenNodes: .tree, inNode: .nvswitch, fold: fold)
    }

    public init(_ parameters: ScheduleParameters, betweenNodes: BetweenNodes = .networkReduction, inNode: InNode = .nvswitch) throws(ScheduleError) {
        try self.init(parameters, betweenNodes: betweenNodes, inNode: inNode, fold: nil)
    }

    init(_ parameters: ScheduleParameters, betweenNodes: BetweenNodes, inNode: InNode, fold: FoldedTree?) throws(ScheduleError) {
        try parameters.validate()
        let name = inNode == .direct ? AllreduceAlgorithm.ncclCollNet.rawValue
            : betweenNodes == .tree ? AllreduceAlgorithm.ncclNVLSTree.rawValue : AllreduceAlgorithm.ncclNVLS.rawValue
        guard inNode == .nvswitch || betweenNodes == .networkReduction else {
            throw .invalidParameter("\(name): the GPUs' own reduction in the node meets the others in the network's switches only (NCCL's CollNet Chain is not modelled)")
        }
        guard parameters.rankCount % parameters.ranksPerNode == 0 else {
            throw .invalidParameter("\(name) needs whole nodes: \(parameters.rankCount) ranks are not a multiple of \(parameters.ranksPerNode) per node")
        }
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        ranksPerNode = parameters.ranksPerNode
        nodeCount = rankCount / ranksPerNode
        self.betweenNodes = betweenNodes
        self.inNode = inNode
        channelCount = max(1, min(parameters.channelCount, parameters.elementCount))
        slices = BlockPartition(count: elementCount, parts: channelCount)
        let shardElements = max(1, parameters.chunkBytes / parameters.elementSizeBytes)
        let perRound = shardElements * max(1, ranksPerNode)
        rounds = max(1, (slices.maxSize + perRound - 1) / perRound)
        self.fold = fold
    }

    /// Node `node`'s place in the tree of channel `channel` (node indices; -1: none).
    @inlinable
    public func treeNode(node: Int, channel: Int) -> TreeNode {
        DoubleBinaryTree.node(tree: channel & 1, ranks: nodeCount, rank: node)
    }

    /// Steps of the exchange across nodes in one round of GPU `rank` in `channel`.
    @inlinable
    public func acrossSteps(rank: Int, channel: Int) -> Int {
        guard nodeCount > 1 else { return 0 }
        if betweenNodes == .networkReduction { return 2 }
        if let fold { return fold.counts(node: rank / ranksPerNode, tree: channel & 1).total }
        let t = treeNode(node: rank / ranksPerNode, channel: channel)
        return 2 * (t.childCount + (t.parent >= 0 ? 1 : 0))
    }

    /// Steps of one round of `endpoint` (a GPU, an NVSwitch or a network reduction) in `channel`.
    @inlinable
    public func stepsPerRound(_ endpoint: Int, channel: Int) -> Int {
        let g = ranksPerNode
        if endpoint < rankCount {
            return (inNode == .direct ? 4 * (g - 1) : 2 * g + 2) + acrossSteps(rank: endpoint, channel: channel)
        }
        if endpoint - rankCount < nodeCount { return inNode == .direct ? 0 : 2 * g * (g + 1) }
        return 2 * nodeCount
    }

    /// Rounds of a channel in flight at once with the tree between nodes, and with CollNet
    /// Direct: round t runs in the channel's lane t mod 8, so a round waiting for its way up and
    /// down the tree (NCCL's network hops), or for its owner's sums, holds back only its own
    /// lane. Eight is NCCL_STEPS (src/include/device.h): every connection of a channel holds
    /// eight steps in its FIFO, and NCCL's warp groups (scatter, reduce, tree or network,
    /// broadcast) each work on their own step of it, so up to eight rounds of a channel are on
    /// their way at once. Lanes of one channel share its links. With the NVSwitch and the
    /// network's reduction, a round waits for no remote hop of a GPU's, and one lane per channel,
    /// its rounds in order, keeps one round's multicast flowing while the next round's
    /// contributions go out.
    public static let roundsInFlight = 8

    /// Lanes per channel: ``roundsInFlight`` (at most one per round) with the tree across nodes
    /// or with ``InNode/direct``, else 1.
    public var lanesPerChannel: Int {
        (betweenNodes == .tree && nodeCount > 1) || inNode == .direct ? Swift.max(1, Swift.min(Self.roundsInFlight, rounds)) : 1
    }

    /// Lanes: ``lanesPerChannel`` per channel; lane l runs rounds l mod k, l mod k + k, ... of
    /// channel l / k.
    public var laneCount: Int { channelCount * lanesPerChannel }

    /// Rounds that lane `lane` runs.
    @inlinable
    public func roundsOfLane(_ lane: Int) -> Int {
        let k = lanesPerChannel, sub = lane % k
        return sub < rounds ? (rounds - sub + k - 1) / k : 0
    }

    /// Steps of `endpoint` in lane `lane`.
    public func steps(_ endpoint: Int, lane: Int) -> Int {
        guard rankCount > 1 && elementCount > 0 else { return 0 }
        return roundsOfLane(lane) * stepsPerRound(endpoint, channel: lane / lanesPerChannel)
    }

    /// Every lane of `rank` (or switch endpoint), one lane after the other.
    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < endpointCount, "NVLSSchedule: rank \(rank) out of 0..<\(endpointCount)")
        return Iterator(schedule: self, endpoint: rank, lanes: 0..<laneCount)
    }

    /// The steps of `rank` in lane `lane` alone.
    public func makeSteps(forRank rank: Int, lane: Int) -> Iterator {
        precondition(rank >= 0 && rank < endpointCount && lane >= 0 && lane < laneCount, "NVLSSchedule: rank \(rank) lane \(lane) out of range")
        return Iterator(schedule: self, endpoint: rank, lanes: lane..<(lane + 1))
    }

    /// Shard `shard` of round `round` of channel `channel`.
    @inlinable
    public func shard(channel: Int, round: Int, _ shard: Int) -> Range<Int> {
        roundShards(channel: channel, round: round).range(shard)
    }

    /// The g shards of round `round` of channel `channel` (the arithmetic ``shard(channel:round:_:)``
    /// and the iterators share: they compute it once per round).
    @inlinable
    func roundShards(channel: Int, round: Int) -> _RoundShards {
        let slice = slices.range(channel)
        let r = BlockPartition(count: slice.count, parts: rounds).range(round)
        return _RoundShards(start: slice.lowerBound + r.lowerBound, count: r.count, parts: ranksPerNode)
    }

    /// One round's range cut into `parts` near-equal contiguous shards, as ``BlockPartition`` cuts
    /// it (the first `count % parts` one element larger), offset by the round's first element.
    @usableFromInline
    struct _RoundShards {
        @usableFromInline let start: Int
        @usableFromInline let base: Int
        @usableFromInline let extra: Int

        @inlinable
        init(start: Int, count: Int, parts: Int) {
            self.start = start
            base = count / parts
            extra = count - base * parts
        }

        @inlinable
        func range(_ i: Int) -> Range<Int> {
            let o = start + i * base + Swift.min(i, extra)
            return o..<(o + base + (i < extra ? 1 : 0))
        }
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let schedule: NVLSSchedule
        @usableFromInline let endpoint: Int
        @usableFromInline let lastLane: Int
        /// Cursor: the lane, its channel, the position in it, its length, the interleaved index
        /// of its first step (lanes run one after the other), and its steps per round.
        @usableFromInline var lane: Int
        @usableFromInline var c = 0
        @usableFromInline var position = 0
        @usableFromInline var length = 0
        @usableFromInline var laneStart = 0
        @usableFromInline var per = 1
        /// The schedule's lanes per channel, the cursor's round and its place in it (0 ..< per),
        /// the interleaved index of the round's first step, and the round's shards.
        @usableFromInline let lanesPerChannel: Int
        @usableFromInline var round = 0
        @usableFromInline var q = 0
        @usableFromInline var roundStart = 0
        @usableFromInline var shards = _RoundShards(start: 0, count: 0, parts: 1)
        /// A GPU's place in its channel's tree of the nodes (none without the tree across nodes).
        @usableFromInline var tree = TreeNode(parent: -1, child0: -1, child1: -1)

        init(schedule: NVLSSchedule, endpoint: Int, lanes: Range<Int>) {
            self.schedule = schedule
            self.endpoint = endpoint
            lanesPerChannel = schedule.lanesPerChannel
            lastLane = lanes.upperBound
            lane = lanes.lowerBound
            if lane < lastLane { _enter() }
        }

        @inlinable
        mutating func _enter() {
            c = lane / lanesPerChannel
            length = schedule.steps(endpoint, lane: lane)
            per = Swift.max(1, schedule.stepsPerRound(endpoint, channel: c))
            if endpoint < schedule.rankCount && schedule.betweenNodes == .tree && schedule.nodeCount > 1 {
                tree = schedule.treeNode(node: endpoint / schedule.ranksPerNode, channel: c)
            }
            position = 0
            q = 0
            round = lane - c * lanesPerChannel
            roundStart = laneStart
            if length > 0 { shards = schedule.roundShards(channel: c, round: round) }
        }

        @inlinable
        public mutating func next() -> Step? {
            while lane < lastLane && position == length {
                laneStart += length
                lane += 1
                if lane < lastLane { _enter() }
            }
            guard lane < lastLane else { return nil }
            let step: Step
            if endpoint < schedule.rankCount { step = schedule.inNode == .direct ? _directRankStep() : _rankStep() }
            else if endpoint - schedule.rankCount < schedule.nodeCount { step = _switchStep() }
            else { step = _networkStep() }
            position += 1
            q += 1
            if q == per {
                // The lane's next round.
                q = 0
                round += lanesPerChannel
                roundStart += per
                if position < length { shards = schedule.roundShards(channel: c, round: round) }
            }
            return step
        }

        /// The cursor's round of the channel, and its place in the round (0 ..< steps per round).
        @inlinable
        func _current() -> (round: Int, q: Int) { (round, q) }

        /// The interleaved index of step `q` of the cursor's round.
        @inlinable
        func _at(_ q: Int) -> Int { roundStart + q }

        @inlinable
        func _rankStep() -> Step {
            let g = schedule.ranksPerNode, node = endpoint / g, r = endpoint - node * g
            let sw = schedule.rankCount + node
            let (round, q) = _current()
            func range(_ i: Int) -> Range<Int> { shards.range(i) }
            // Positions: g contributions, the node's sum, the exchange across nodes, the store, g copies.
            // (The exchange across nodes takes what the round has beyond 2g + 2 steps.)
            let stored = per - g - 1
            if q < g {
                // The round's shards go out one after another: NCCL's scatter (ScatterGatherOp in
                // src/device/prims_simple.h) has all its warps write one peer's part, then the
                // next's. So a round's first shard reaches the switch after one shard's time, not
                // after every lane's shards, and a GPU has one scatter transfer per lane in flight.
                let s = range(q)
                return Step(kind: .send, peer: sw, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: q == 0 ? StepDependencies() : StepDependencies(_at(q - 1)))
            }
            let own = range(r)
            func onOwn(_ kind: StepKind, _ peer: Int, _ deps: StepDependencies) -> Step {
                Step(kind: kind, peer: peer, offset: own.lowerBound, count: own.count, chunk: round, dependencies: deps)
            }
            if q == g { return onOwn(.recvCopy, sw, StepDependencies(_at(r))) }
            if q < stored {
                let k = q - g - 1
                if schedule.betweenNodes == .networkReduction {
                    let net = schedule.rankCount + schedule.nodeCount + r
                    return onOwn(k == 0 ? .send : .recvCopy, net, StepDependencies(_at(q - 1)))
                }
                if let fold = schedule.fold { return _foldedStep(fold, k, own: own, round: round) }
                // The tree: children's partial sums in, to the parent and back, out to the children.
                let t = tree
                let kids = t.childCount, up = t.parent >= 0 ? 1 : 0
                let child = { (j: Int) in (j == 0 ? (t.child0 >= 0 ? t.child0 : t.child1) : t.child1) * g + r }
                if k < kids { return onOwn(.recvReduce, child(k), StepDependencies(_at(q - 1))) }
                if k < kids + up { return onOwn(.send, t.parent * g + r, StepDependencies(_at(q - 1))) }
                if k < kids + 2 * up { return onOwn(.recvCopy, t.parent * g + r, StepDependencies(_at(q - 1))) }
                // Sends to the children once the total is in (after the last up or parent step).
                return onOwn(.send, child(k - kids - 2 * up), StepDependencies(_at(g + kids + 2 * up)))
            }
            if q == stored {
                // The store, once the total is in (the last step before the sends to children).
                if let fold = schedule.fold { return onOwn(.send, sw, StepDependencies(_at(_foldedTotalIn(fold)))) }
                return onOwn(.send, sw, StepDependencies(_at(stored - 1 - tree.childCount)))
            }
            let i = q - stored - 1
            let s = range(i)
            var deps = StepDependencies(_at(i == r ? stored : i))
            if i == r {
                // The copy overwrites what the sends to the children read.
                if let fold = schedule.fold {
                    let c = fold.counts(node: node, tree: self.c & 1)
                    let first = stored - c.downOut
                    for j in 0..<c.downOut where fold.exchange(node: node, tree: self.c & 1, c.total - c.downOut + j).own {
                        deps.append(_at(first + j))
                    }
                } else {
                    let kids = tree.childCount
                    for j in 0..<kids { deps.append(_at(stored - kids + j)) }
                }
            }
            return Step(kind: .recvCopy, peer: sw, offset: s.lowerBound, count: s.count, chunk: round, dependencies: deps)
        }

        /// Exchange `k` of the folded tree across nodes (``FoldedTree``) in the cursor's round, on
        /// the GPU's own shard `own`. Positions (from g + 1): receives from below (the data ones
        /// first, each after the one before, the first after the node's sum), sends up (after the
        /// last data received), receives from above (the data one after the first send up, the
        /// others at once), sends down (once the total is in).
        @inlinable
        func _foldedStep(_ fold: FoldedTree, _ k: Int, own: Range<Int>, round: Int) -> Step {
            let g = schedule.ranksPerNode, node = endpoint / g, r = endpoint - node * g
            let c = fold.counts(node: node, tree: self.c & 1)
            let e = fold.exchange(node: node, tree: self.c & 1, k)
            let base = g + 1
            let deps: StepDependencies
            if k < c.upIn {
                deps = k < c.upInData ? StepDependencies(_at(base + k - 1)) : StepDependencies()
            } else if k < c.upIn + c.upOut {
                deps = StepDependencies(_at(base + c.upInData - 1))
            } else if k < c.upIn + c.upOut + c.downIn {
                deps = k == c.upIn + c.upOut ? StepDependencies(_at(base + c.upIn)) : StepDependencies()
            } else {
                deps = StepDependencies(_at(_foldedTotalIn(fold)))
            }
            var step = Step(kind: e.kind, peer: e.peer * g + r, offset: own.lowerBound, count: own.count, chunk: round, dependencies: deps)
            step.wire = e.wire
            return step
        }

        /// The round position at which a GPU of the folded tree has the total: its receive from
        /// above, or at the root its last data received from below.
        @inlinable
        func _foldedTotalIn(_ fold: FoldedTree) -> Int {
            let c = fold.counts(node: endpoint / schedule.ranksPerNode, tree: self.c & 1)
            let base = schedule.ranksPerNode + 1
            return c.downIn > 0 ? base + c.upIn + c.upOut : base + c.upInData - 1
        }

        /// A GPU's step with ``InNode/direct``: the owner of each shard adds it and sends back the
        /// sum, point to point.
        @inlinable
        func _directRankStep() -> Step {
            let g = schedule.ranksPerNode, node = endpoint / g, r = endpoint - node * g, first = node * g
            let (round, q) = _current()
            let m = g - 1, across = per - 4 * m
            func range(_ i: Int) -> Range<Int> { shards.range(i) }
            func step(_ kind: StepKind, _ peer: Int, _ s: Range<Int>, _ deps: StepDependencies = StepDependencies()) -> Step {
                Step(kind: kind, peer: peer, offset: s.lowerBound, count: s.count, chunk: round, dependencies: deps)
            }
            // Positions: the others' shards out, the own shard's copies in (added), the exchange
            // across nodes, the total out to the others, their totals in.
            if q < m { let j = (r + 1 + q) % g; return step(.send, first + j, range(j)) }
            let own = range(r)
            let previous = q == 0 ? StepDependencies() : StepDependencies(_at(q - 1))
            if q < 2 * m {
                let j = (r + g - 1 - (q - m)) % g
                return step(.recvReduce, first + j, own, q == m ? StepDependencies() : previous)
            }
            if q < 2 * m + across {
                let net = schedule.rankCount + schedule.nodeCount + r
                return step(q == 2 * m ? .send : .recvCopy, net, own, previous)
            }
            if q < 3 * m + across {
                let j = (r + 1 + (q - 2 * m - across)) % g
                return step(.send, first + j, own, StepDependencies(_at(2 * m + across - 1)))
            }
            // Shard j's total overwrites what the send of shard j (position (j - r - 1) mod g) read.
            let j = (r + g - 1 - (q - 3 * m - across)) % g
            return step(.recvCopy, first + j, range(j), StepDependencies(_at((j - r - 1 + g) % g)))
        }

        @inlinable
        func _networkStep() -> Step {
            let g = schedule.ranksPerNode, n = schedule.nodeCount
            let i = endpoint - schedule.rankCount - n
            let (round, q) = _current()
            let s = shards.range(i)
            if q < n {
                // GPU i of node q's sum: copied first, then added.
                return Step(kind: q == 0 ? .recvCopy : .recvReduce, peer: q * g + i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: q == 0 ? StepDependencies() : StepDependencies(_at(q - 1)))
            }
            return Step(kind: .send, peer: (q - n) * g + i, offset: s.lowerBound, count: s.count, chunk: round,
                        dependencies: StepDependencies(_at(n - 1)))
        }

        @inlinable
        func _switchStep() -> Step {
            let p = schedule.ranksPerNode
            let first = (endpoint - schedule.rankCount) * p
            let (round, q) = _current()
            let half = p * (p + 1)
            let phaseB = q >= half
            let w = phaseB ? q - half : q
            let i = w / (p + 1), k = w - i * (p + 1)
            let s = shards.range(i)
            let block = (phaseB ? half : 0) + i * (p + 1)
            if !phaseB {
                // Shard i: receive it from every rank (copy, then add), then give the sum to rank i.
                if k < p {
                    return Step(kind: k == 0 ? .recvCopy : .recvReduce, peer: first + k, offset: s.lowerBound, count: s.count, chunk: round,
                                dependencies: k == 0 ? StepDependencies() : StepDependencies(_at(block + k - 1)))
                }
                return Step(kind: .send, peer: first + i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_at(block + p - 1)))
            }
            // Rank i's multicast store of shard i, written to every rank.
            if k == 0 {
                return Step(kind: .recvCopy, peer: first + i, offset: s.lowerBound, count: s.count, chunk: round,
                            dependencies: StepDependencies(_at(i * (p + 1) + p)))
            }
            return Step(kind: .send, peer: first + k - 1, offset: s.lowerBound, count: s.count, chunk: round,
                        dependencies: StepDependencies(_at(block)))
        }
    }
}
