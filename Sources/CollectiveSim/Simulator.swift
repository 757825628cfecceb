import CollectiveCore
import CollectiveFabric
import CollectiveKernels

/// The timing models.
public enum TimingModel: String, CaseIterable, Sendable, Hashable {
    /// Discrete-event playback of the schedule's steps over the fabric's links (the default).
    case event
    /// The alpha-beta-gamma closed forms, alpha and beta from the bottleneck path.
    case analytic
    /// NCCL's tuning model (latency + bytes / bandwidth per algorithm and protocol).
    case nccl
}

/// One timed allreduce.
public struct SimulationOutcome: Sendable {
    /// The algorithm timed (for `auto`, the one chosen).
    public var algorithm: AllreduceAlgorithm
    /// NCCL protocol (nccl model only).
    public var ncclProtocol: NCCLProtocol?
    /// Simulated time, seconds.
    public var timeSeconds: Double
    /// What `hierarchical` ran between nodes (hierarchical on several nodes only).
    public var interNodeAlgorithm: AllreduceAlgorithm?
    /// Engine work (event model only).
    public var statistics: EngineStatistics?
    /// The busiest link of each kind (event model only).
    public var linkUtilization: [LinkUtilization]?
    /// What NCCL ran: algorithm, protocol, channels (for `nccl` choices).
    public var ncclPlan: NCCLPlan?
    /// The name of the row: the algorithm's, or `ring->recursive-doubling` when another
    /// algorithm's schedule ran (``AllreduceAlgorithm/rowName(for:)``).
    public var rowName: String
    /// Simulated time before the first transfer (NCCL's launch, in the event model), seconds.
    public var launchSeconds = 0.0
    /// The folded tree the run played (``FoldedTree``; nil: every node was played).
    public var fold: FoldedTree?

    public init(algorithm: AllreduceAlgorithm, ncclProtocol: NCCLProtocol? = nil, timeSeconds: Double, statistics: EngineStatistics? = nil) {
        self.algorithm = algorithm
        self.ncclProtocol = ncclProtocol
        self.timeSeconds = timeSeconds
        self.statistics = statistics
        rowName = algorithm.rawValue
    }
}

/// When the event model plays NCCL's NVLS tree *folded* (``FoldedTree``): one node for each place
/// in the double binary tree of the nodes, 2 log2(N) nodes for N, where the full playback's steps
/// grow with N. It needs a power of two of at least 8 nodes and a healthy cluster.
public enum TreeFolding: String, CaseIterable, Sendable, Hashable {
    /// Fold when the full playback would take more than ``Simulator/maxSteps`` steps.
    case auto
    /// Fold whenever the cluster allows it.
    case on
    /// Never fold: a playback beyond ``Simulator/maxSteps`` is refused.
    case off
}

/// Times allreduces on one cluster with any of the models.
public struct Simulator: Sendable {
    public let fabric: FabricMap
    public let model: TimingModel
    /// What `hierarchical` runs between nodes: ring or tree, or `nil` to choose at each size the
    /// one whose closed form (``AnalyticModel``) is faster, as NCCL picks its algorithm from its
    /// tuning model: ring while its bandwidth term dominates, tree once its `2(nodes - 1)` latency
    /// terms do (many nodes, small shards).
    public let interNodeAlgorithm: AllreduceAlgorithm?

    /// How the event model serves transfers that share a link (FIFO by default).
    public let linkService: LinkService

    /// The most steps (all ranks together) one event-model run may play (``WorkLimit``).
    public let maxSteps: Int

    /// What is timed: an allreduce (the default), a reduce-scatter or an all-gather of the
    /// buffer. Only the event model plays a reduce-scatter or an all-gather: the closed forms and
    /// NCCL's tuning model are allreduce's.
    public let collective: Collective

    /// When NCCL's NVLS tree is played folded (``TreeFolding``; default ``TreeFolding/auto``).
    public var treeFolding: TreeFolding

    /// Channels of the `nccl-ring` and `nccl-tree` schedules when they are timed by name
    /// (``time(_:elementCount:dataType:chunkBytes:observer:)``; default
    /// ``ScheduleParameters/defaultChannelCount``, as `allreduce mpi` runs them). NCCL's own
    /// choices (``timeNCCL(elementCount:dataType:algorithm:protocol:channels:chunkBytes:observer:)``)
    /// take NCCL's count or their own argument instead.
    public var channelCount: Int

    /// Whether the timed runs are in place (``ScheduleParameters/inPlace``; default false: an
    /// input and a separate output per rank, as nccl-tests' out-of-place column and `allreduce
    /// mpi` run by default). On a CPU node it sets the working set the memory's rates are read
    /// at; GPU fabrics do not depend on it. ``time(_:parameters:observer:)`` takes the parameters'.
    public var inPlace = false

    public init(fabric: FabricMap, model: TimingModel, interNodeAlgorithm: AllreduceAlgorithm? = nil, linkService: LinkService = .fifo,
                maxSteps: Int = WorkLimit.defaultMaxSteps, collective: Collective = .allreduce, treeFolding: TreeFolding = .auto,
                channelCount: Int = ScheduleParameters.defaultChannelCount) {
        self.channelCount = channelCount
        self.treeFolding = treeFolding
        self.collective = collective
        self.fabric = fabric
        self.model = model
        self.maxSteps = maxSteps
        self.interNodeAlgorithm = interNodeAlgorithm
        self.linkService = linkService
    }

    /// The algorithms `auto` chooses among for this model.
    public var autoCandidates: [AllreduceAlgorithm] {
        if collective != .allreduce { return SimulatedSchedules.available.filter { $0.supports(collective) } }
        return switch model {
        // In-switch reduction only where the fabric's switches reduce, and on whole nodes.
        case .event: SimulatedSchedules.available.filter { $0.supports(.allreduce) && (!$0.reducesInSwitches || canReduceInSwitches($0)) }
        // (The closed form of NVLS is one node's.)
        case .analytic: AllreduceAlgorithm.allCases.filter {
            $0.supports(.allreduce) && (!$0.reducesInSwitches || ($0 != .ncclCollNet && fabric.nodeCount == 1 && canReduceInSwitches($0)))
        }
        case .nccl: [.ring, .tree]
        }
    }

    /// Whether `algorithm`, which reduces in switches, can play on this fabric.
    func canReduceInSwitches(_ algorithm: AllreduceAlgorithm) -> Bool {
        let inNode: NVLSSchedule.InNode = algorithm == .ncclCollNet ? .direct : .nvswitch
        let needed = NVLSSchedule.switchCount(ranks: fabric.rankCount, ranksPerNode: fabric.gpusPerNode,
                                              betweenNodes: algorithm == .ncclNVLSTree ? .tree : .networkReduction, inNode: inNode)
        // CollNet Direct is NCCL's across nodes only (on one node it would be a textbook
        // reduce-scatter and all-gather, which NCCL does not run).
        if algorithm == .ncclCollNet && fabric.nodeCount < 2 { return false }
        return fabric.gpusPerNode > 1 && fabric.switchEndpointProblem(needed, nodeSwitches: inNode == .nvswitch) == nil
    }

    /// What `hierarchical` runs between nodes for `bytes` per rank: the fixed choice, or the
    /// faster closed form of ring and tree (ring on a tie).
    public func interNodeAlgorithm(bytes: Double, chunkBytes: Int) -> AllreduceAlgorithm {
        if let interNodeAlgorithm { return interNodeAlgorithm }
        let ring = AnalyticModel(fabric: fabric, interNodeAlgorithm: .ring).time(.hierarchical, bytes: bytes, chunkBytes: chunkBytes)
        let tree = AnalyticModel(fabric: fabric, interNodeAlgorithm: .tree).time(.hierarchical, bytes: bytes, chunkBytes: chunkBytes)
        return tree < ring ? .tree : .ring
    }

    /// Times `algorithm` on a buffer of `elementCount` elements of `dataType`. `observer` watches
    /// the event model's run (FIFO links only), as a trace does. Throws rather than return a time
    /// that is not finite.
    public func time(_ algorithm: AllreduceAlgorithm, elementCount: Int, dataType: DataType, chunkBytes: Int,
                     observer: (any EngineObserver)? = nil) throws -> SimulationOutcome {
        try Self.finite(try timeUnchecked(algorithm, elementCount: elementCount, dataType: dataType, chunkBytes: chunkBytes, observer: observer))
    }

    /// `outcome`, or an error when its time is not finite (the topology's ranges keep every time
    /// finite; this is the last guard before a time is reported).
    static func finite(_ outcome: SimulationOutcome) throws -> SimulationOutcome {
        guard outcome.timeSeconds.isFinite && outcome.timeSeconds >= 0 else {
            throw SimulationError("\(outcome.rowName): the simulated time is not finite (\(outcome.timeSeconds) s); check the topology's bandwidths and latencies")
        }
        return outcome
    }

    /// Throws when the fabric's faults cannot be timed: a model other than the event model (its
    /// closed forms know no faults), ranks cut off (NCCL's communicator would fail), or late or
    /// slow ranks or jitter under the fair-share engine.
    public func checkFaults() throws(SimulationError) {
        guard let faults = fabric.faults else { return }
        guard model == .event else {
            throw SimulationError("faults are played by the event model only (--model event): the \(model.rawValue) model's closed forms know no faults")
        }
        if let cut = faults.cutOff { throw SimulationError(cut.statement) }
        if linkService == .fair && faults.timesRanks {
            throw SimulationError("late or slow ranks and jitter are played with --links fifo only")
        }
    }

    /// Plays `schedule` with the engine of ``linkService``, or, with an `observer` watching,
    /// with the FIFO event engine (the fair-share engine cannot be watched).
    func play(_ schedule: any Schedule, elementSizeBytes: Int, inPlace: Bool, observer: (any EngineObserver)?) throws -> EventResult {
        guard let observer else { return try linkService.engine(fabric: fabric, inPlace: inPlace).run(any: schedule, elementSizeBytes: elementSizeBytes) }
        guard linkService == .fifo else { throw SimulationError("the fair-share engine cannot be watched (traces need --links fifo)") }
        var engine = EventEngine(fabric: fabric, inPlace: inPlace)
        engine.observer = observer
        return try engine.run(any: schedule, elementSizeBytes: elementSizeBytes)
    }

    func timeUnchecked(_ algorithm: AllreduceAlgorithm, elementCount: Int, dataType: DataType, chunkBytes: Int,
                       observer: (any EngineObserver)?) throws -> SimulationOutcome {
        try checkFaults()
        let bytes = elementCount * dataType.sizeInBytes
        let between: AllreduceAlgorithm? = algorithm == .hierarchical && fabric.nodeCount > 1
            ? interNodeAlgorithm(bytes: Double(bytes), chunkBytes: chunkBytes) : nil
        let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: elementCount, elementSizeBytes: dataType.sizeInBytes,
                                                   chunkBytes: chunkBytes, interNodeAlgorithm: between ?? .ring, channelCount: channelCount,
                                                   collective: collective)
        try checkModelPlaysCollective()
        switch model {
        case .event:
            let schedule = try SimulatedSchedules.make(algorithm, params, maxSteps: maxSteps)
            let r = try play(schedule, elementSizeBytes: dataType.sizeInBytes, inPlace: inPlace, observer: observer)
            var o = SimulationOutcome(algorithm: algorithm, ncclProtocol: nil, timeSeconds: r.timeSeconds, statistics: r.statistics)
            o.linkUtilization = r.linkUtilization
            o.interNodeAlgorithm = between
            o.rowName = algorithm.rowName(for: params)
            return o
        case .analytic:
            // The closed form of the schedule that runs (ring below p elements is recursive doubling).
            let t = AnalyticModel(fabric: fabric, interNodeAlgorithm: between ?? .ring)
                .time(algorithm.scheduledAlgorithm(for: params), bytes: Double(bytes), chunkBytes: chunkBytes)
            var o = SimulationOutcome(algorithm: algorithm, ncclProtocol: nil, timeSeconds: t, statistics: nil)
            o.interNodeAlgorithm = between
            o.rowName = algorithm.rowName(for: params)
            return o
        case .nccl:
            let m = NCCLModel(fabric: fabric)
            guard let a = Self.ncclAlgorithm(algorithm) else {
                throw SimulationError("the nccl model knows ring and tree only, not \(algorithm.rawValue)")
            }
            let best = m.best(algorithms: [a], bytes: Double(bytes))
            return SimulationOutcome(algorithm: algorithm, ncclProtocol: best.protocol, timeSeconds: best.seconds, statistics: nil)
        }
    }

    /// Throws unless the model times ``collective``: the event model plays any schedule; the
    /// closed forms and NCCL's tuning model are an allreduce's.
    func checkModelPlaysCollective() throws {
        guard collective == .allreduce || model == .event else {
            throw SimulationError("the \(model.rawValue) model times allreduce only; --collective \(collective.rawValue) is played by the event model (--model event)")
        }
    }

    /// NCCL's name for one of our algorithms (ring and tree, textbook or channelized).
    static func ncclAlgorithm(_ a: AllreduceAlgorithm) -> NCCLAlgorithm? {
        switch a {
        case .ring, .ncclRing: .ring
        case .tree, .ncclTree: .tree
        case .ncclNVLS: .nvls
        case .ncclNVLSTree: .nvlsTree
        case .ncclCollNet: .collnetDirect
        case .ncclPAT: .pat
        default: nil
        }
    }

    /// What NCCL would run for `elementCount` elements of `dataType`, timed: the event model plays
    /// the plan's schedule with the protocol's figures (``ProtocolTiming``); the nccl model
    /// evaluates NCCL's own closed form for the same plan. `algorithm`, `protocol` and `channels`
    /// force a choice, as NCCL_ALGO, NCCL_PROTO and NCCL_MIN/MAX_NCHANNELS do; `chunkBytes`
    /// replaces the protocol's chunk.
    public func timeNCCL(elementCount: Int, dataType: DataType, algorithm: NCCLAlgorithm? = nil, protocol proto: NCCLProtocol? = nil,
                         channels: Int? = nil, chunkBytes: Int? = nil, observer: (any EngineObserver)? = nil) throws -> SimulationOutcome {
        try Self.finite(try timeNCCLUnchecked(elementCount: elementCount, dataType: dataType, algorithm: algorithm, protocol: proto,
                                              channels: channels, chunkBytes: chunkBytes, observer: observer))
    }

    func timeNCCLUnchecked(elementCount: Int, dataType: DataType, algorithm: NCCLAlgorithm?, protocol proto: NCCLProtocol?,
                           channels: Int?, chunkBytes: Int?, observer: (any EngineObserver)?) throws -> SimulationOutcome {
        try checkFaults()
        let bytes = elementCount * dataType.sizeInBytes
        let planner = NCCLPlanner(fabric: fabric)
        try checkModelPlaysCollective()
        var plan = planner.plan(bytes: Double(bytes), algorithm: try ncclAlgorithm(forcing: algorithm, bytes: Double(bytes)), protocol: proto, channels: channels)
        if let chunkBytes { plan.chunkBytes = chunkBytes }
        if plan.algorithm == .pat && plan.ncclProtocol != .simple {
            throw SimulationError("NCCL runs PAT with the Simple protocol only, not \(plan.ncclProtocol.rawValue)")
        }
        if plan.algorithm == .collnetDirect && !planner.model.forcible.contains(.collnetDirect) {
            throw SimulationError("NCCL's collnet-direct needs several nodes whose network's switches reduce (InfiniBand SHARP: network.sharp in a topology file, or --sharp)")
        }
        guard let scheduleAlgorithm = plan.algorithm.schedule else {
            throw SimulationError("NCCL's \(plan.algorithm.rawValue) is not modelled (\(NCCLAlgorithm.modelledNames))")
        }
        switch model {
        case .event:
            guard linkService == .fifo else {
                throw SimulationError("NCCL's protocols are played with --links fifo only")
            }
            let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: elementCount, elementSizeBytes: dataType.sizeInBytes,
                                                       chunkBytes: plan.chunkBytes, channelCount: plan.channels, collective: collective)
            let timing = planner.timing(plan)
            let fold = folding(scheduleAlgorithm, params)
            let schedule = try SimulatedSchedules.make(scheduleAlgorithm, params, maxSteps: maxSteps, fold: fold)
            var played = fabric
            if let fold {
                // The played nodes on a cluster of as many nodes, with the same nodes and network
                // links, all under one leaf switch (per rail): a played node's messages stand for
                // those of every node of its place, wherever these sit, so no route of the played
                // cluster crosses a spine (the folded time leaves out uplink contention).
                var t = fabric.topology
                t.nodeCount = fold.playedNodeCount
                t.network.leafPorts = Swift.max(t.network.leafPorts, fold.playedNodeCount * Swift.max(1, t.node.nicCount))
                t.network.oversubscription = Swift.min(t.network.oversubscription, Double(t.network.leafPorts))
                played = try FabricMap(t)
            }
            var engine = EventEngine(fabric: played, protocolTiming: timing, inPlace: inPlace)
            engine.observer = observer
            let r = try engine.run(any: schedule, elementSizeBytes: dataType.sizeInBytes)
            var o = SimulationOutcome(algorithm: scheduleAlgorithm, ncclProtocol: plan.ncclProtocol, timeSeconds: r.timeSeconds, statistics: r.statistics)
            o.launchSeconds = timing.startSeconds
            o.linkUtilization = r.linkUtilization
            o.ncclPlan = plan
            o.fold = fold
            return o
        case .nccl:
            var o = SimulationOutcome(algorithm: scheduleAlgorithm, ncclProtocol: plan.ncclProtocol,
                                      timeSeconds: planner.model.seconds(plan.algorithm, plan.ncclProtocol, bytes: Double(bytes)))
            o.ncclPlan = plan
            return o
        case .analytic:
            throw SimulationError("NCCL's choice is played by the event model or evaluated by the nccl model, not the analytic closed forms")
        }
    }

    /// The NCCL algorithm a plan for ``collective`` may use: any but PAT (nil: NCCL's pick) for
    /// an allreduce; for a reduce-scatter or an all-gather the ring or PAT, forced or as NCCL's
    /// model picks them (``NCCLModel/bestAlgorithm(collective:bytes:)``: PAT where NCCL enables
    /// it and its time is less), their other NCCL algorithms (NVLS, CollNet) not being modelled.
    /// A ring plan's protocol and channels are then the ones NCCL's tuning model gives a ring
    /// allreduce of the same buffer; PAT runs Simple.
    func ncclAlgorithm(forcing algorithm: NCCLAlgorithm?, bytes: Double) throws -> NCCLAlgorithm? {
        guard collective != .allreduce else {
            if algorithm == .pat { throw SimulationError("NCCL runs PAT for a reduce-scatter or an all-gather only (--collective reduce-scatter or all-gather), not an allreduce") }
            return algorithm
        }
        guard algorithm == nil || algorithm == .ring || algorithm == .pat else {
            throw SimulationError("NCCL's \(algorithm!.rawValue) is not modelled for a \(collective.rawValue); NCCL's ring and PAT are (nccl, nccl:ring or nccl:pat)")
        }
        return algorithm ?? NCCLModel(fabric: fabric).bestAlgorithm(collective: collective, bytes: bytes)
    }

    /// Steps (all ranks together) that timing `algorithm` plays: ``WorkLimit``'s estimate for the
    /// event model, 0 for the closed forms. What ``time(_:elementCount:dataType:chunkBytes:)``
    /// refuses beyond ``maxSteps``; a caller timing many runs sums these first.
    public func estimatedSteps(_ algorithm: AllreduceAlgorithm, elementCount: Int, dataType: DataType, chunkBytes: Int) -> Double {
        guard model == .event else { return 0 }
        return WorkLimit.estimatedSteps(algorithm, SimulatedSchedules.parameters(fabric: fabric, elementCount: elementCount,
                                                                                elementSizeBytes: dataType.sizeInBytes, chunkBytes: chunkBytes,
                                                                                channelCount: channelCount, collective: collective))
    }

    /// Steps that ``timeNCCL(elementCount:dataType:algorithm:protocol:channels:chunkBytes:)`` plays
    /// with the same arguments (0 for the nccl model's closed form).
    public func estimatedStepsNCCL(elementCount: Int, dataType: DataType, algorithm: NCCLAlgorithm? = nil, protocol proto: NCCLProtocol? = nil,
                                   channels: Int? = nil, chunkBytes: Int? = nil) -> Double {
        guard model == .event, let forced = try? ncclAlgorithm(forcing: algorithm, bytes: Double(elementCount * dataType.sizeInBytes)) else { return 0 }
        let plan = NCCLPlanner(fabric: fabric).plan(bytes: Double(elementCount * dataType.sizeInBytes), algorithm: forced, protocol: proto, channels: channels)
        guard let a = plan.algorithm.schedule else { return 0 }
        var params = SimulatedSchedules.parameters(fabric: fabric, elementCount: elementCount, elementSizeBytes: dataType.sizeInBytes,
                                                   chunkBytes: chunkBytes ?? plan.chunkBytes, channelCount: plan.channels, collective: collective)
        if let fold = folding(a, params) { params = params.played(on: fold) }
        return WorkLimit.estimatedSteps(a, params)
    }

    /// The folded tree that timing `algorithm` with `parameters` (the full cluster's) plays, or
    /// nil to play every node: NCCL's NVLS tree on a healthy cluster of a power of two of at
    /// least 8 nodes, when ``treeFolding`` asks for it.
    func folding(_ algorithm: AllreduceAlgorithm, _ parameters: ScheduleParameters) -> FoldedTree? {
        guard algorithm == .ncclNVLSTree, collective == .allreduce, fabric.faults == nil, treeFolding != .off,
              let fold = FoldedTree(nodes: fabric.nodeCount) else { return nil }
        if treeFolding == .on { return fold }
        return WorkLimit.estimatedSteps(algorithm, parameters) > Double(maxSteps) ? fold : nil
    }

    /// Times every candidate and returns the fastest (ties go to the earlier candidate), with all
    /// the candidates' outcomes.
    public func fastest(elementCount: Int, dataType: DataType, chunkBytes: Int, among candidates: [AllreduceAlgorithm]? = nil,
                        observer: (any EngineObserver)? = nil) throws
        -> (best: SimulationOutcome, all: [SimulationOutcome])
    {
        try checkFaults()
        let list = candidates ?? autoCandidates
        try checkModelPlaysCollective()
        if model == .nccl {
            // NCCL picks algorithm and protocol together.
            let b = NCCLModel(fabric: fabric).best(algorithms: list.compactMap(Self.ncclAlgorithm), bytes: Double(elementCount * dataType.sizeInBytes))
            let o = try Self.finite(SimulationOutcome(algorithm: b.algorithm == .tree ? .tree : .ring, ncclProtocol: b.protocol, timeSeconds: b.seconds))
            return (o, [o])
        }
        var all: [SimulationOutcome] = []
        for a in list { all.append(try time(a, elementCount: elementCount, dataType: dataType, chunkBytes: chunkBytes, observer: observer)) }
        var best = all[0]
        for o in all.dropFirst() where o.timeSeconds < best.timeSeconds { best = o }
        return (best, all)
    }
}

/// The closed forms of ``AlphaBetaGamma`` applied to a fabric: flat algorithms use the bottleneck
/// path (the slower of intra- and inter-node transfers); `hierarchical` is a ring reduce-scatter
/// inside each node, a ring allreduce of the node's shard between nodes (all GPUs of a node at once,
/// sharing NICs when they must), and a ring allgather inside each node. Reductions overlap the
/// transfers as in the event engine (``AlphaBetaGamma/streamingReduction``): gamma counts only
/// where a GPU reduces slower than its link delivers.
public struct AnalyticModel: Sendable {
    public let fabric: FabricMap
    public let interNodeAlgorithm: AllreduceAlgorithm
    public init(fabric: FabricMap, interNodeAlgorithm: AllreduceAlgorithm = .ring) {
        self.fabric = fabric
        self.interNodeAlgorithm = interNodeAlgorithm
    }

    /// Seconds for `bytes` per rank.
    public func time(_ algorithm: AllreduceAlgorithm, bytes: Double, chunkBytes: Int) -> Double {
        let p = fabric.rankCount
        guard p > 1 else { return 0 }
        let flat = fabric.bottleneckAlphaBeta.streamingReduction
        switch algorithm {
        case .ring, .ncclRing: return flat.ring(ranks: p, bytes: bytes)
        case .ncclCollNet, .ncclPAT:
            // No closed form: CollNet Direct is played by the event model only; PAT builds no allreduce.
            return .infinity
        case .ncclNVLS, .ncclNVLSTree:
            guard let cost = fabric.switchReductionCost, fabric.nodeCount == 1 else { return .infinity }
            return AlphaBetaGamma(alphaSeconds: cost.alphaSeconds, betaSecondsPerByte: cost.betaSecondsPerByte).nvls(ranks: p, bytes: bytes)
        case .recursiveDoubling: return flat.recursiveDoubling(ranks: p, bytes: bytes)
        case .rabenseifner: return flat.rabenseifner(ranks: p, bytes: bytes)
        case .tree, .ncclTree:
            let half = bytes / 2
            let k = max(1, Int((half / Double(max(1, chunkBytes))).rounded(.up)))
            return flat.doubleBinaryTree(ranks: p, bytes: bytes, chunks: k)
        case .hierarchical:
            let g = fabric.gpusPerNode, nodes = fabric.nodeCount
            if nodes == 1 { return fabric.intraNodeAlphaBeta.streamingReduction.ring(ranks: g, bytes: bytes) }
            let inter = fabric.interNodeAlphaBeta(concurrentPerNode: g).streamingReduction
            let shard = g == 1 ? bytes : bytes / Double(g)
            let between: Double
            if interNodeAlgorithm == .tree {
                let k = max(1, Int((shard / 2 / Double(max(1, chunkBytes))).rounded(.up)))
                between = inter.doubleBinaryTree(ranks: nodes, bytes: shard, chunks: k)
            } else {
                between = inter.ring(ranks: nodes, bytes: shard)
            }
            if g == 1 { return between }
            let intra = fabric.intraNodeAlphaBeta.streamingReduction
            return intra.ringReduceScatter(ranks: g, bytes: bytes) + between + intra.ringAllgather(ranks: g, bytes: bytes)
        }
    }
}
