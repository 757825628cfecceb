import CollectiveCore
import CollectiveFabric
import CollectiveKernels

/// The rows of `allreduce simulate`, `sweep` and `what-if`: each ``AlgorithmChoice`` timed at a
/// size on one cluster, as an nccl-tests row (``ReportColumn/allreducePerf``), with what the
/// footer notes need gathered on the way (the NCCL plans played, what `auto` and
/// `--inter-node auto` chose, the engine's work, the healthy cluster's times when the cluster
/// has faults).
///
/// ```swift
/// var run = try SimulationRun(settings: SimulationRun.Settings(), fabric: try FabricMap(.preset("dgx-h100")!))
/// try run.checkWork([(.nccl(nil), 1 << 30)])
/// let m = try run.measure(.nccl(nil), bytes: 1 << 30)   // m.row, m.outcome
/// ```
public struct SimulationRun {
    /// What every row shares besides the cluster.
    public let settings: Settings
    public private(set) var fabric: FabricMap
    public private(set) var simulator: Simulator
    /// The pipelining chunk of the textbook schedules (``Settings/chunkBytes`` or
    /// ``ScheduleParameters/defaultChunkBytes``).
    public let chunkBytes: Int
    /// Watches the event model's runs (for a progress line), when it has FIFO links to watch.
    public var observer: (any EngineObserver)?
    /// The healthy cluster's outcome of every row measured (when the cluster has faults).
    public private(set) var healthyOutcomes: [SimulationOutcome] = []
    /// The NCCL plans played, in order of first use (for ``ncclNote``).
    public private(set) var ncclPlans: [NCCLPlan] = []
    /// The folded trees the runs so far played (``FoldedTree``), each once.
    public private(set) var folds: [FoldedTree] = []
    /// What hierarchical ran between nodes at each size measured, when the simulator chose.
    public private(set) var interNodeChoices: [(bytes: Int, algorithm: AllreduceAlgorithm)] = []
    var engineEvents = 0
    var engineTransfers = 0
    var engineWall = 0.0
    var engineCPU = 0.0
    var ranEvent = false
    /// The same cluster without its faults, when it has some: every row is also timed there.
    var healthySimulator: Simulator?

    /// One row: the report values, the outcome and, for `auto`, every candidate's outcome.
    public struct Measurement {
        public var row: [ReportValue]
        public var outcome: SimulationOutcome
        public var candidates: [SimulationOutcome]
    }

    /// The runs on `fabric`; `comparesHealthy`: time every row on the healthy cluster too, when
    /// `fabric` has faults. Throws when `--links fair` meets more ranks than its engine plays.
    public init(settings: Settings, fabric: FabricMap, comparesHealthy: Bool = true) throws {
        self.settings = settings
        self.fabric = fabric
        let service = settings.linkService
        if service == .fair && settings.model == .event && fabric.rankCount > FairShareEngine.maxRanks {
            throw SimulationError("--links fair plays at most \(FairShareEngine.maxRanks) ranks (it recomputes every transfer's rate at each event), this cluster has \(fabric.rankCount); use --links fifo")
        }
        // The settings' simulator on a fabric (the cluster, and its healthy twin).
        func makeSimulator(on fabric: FabricMap) -> Simulator {
            var s = Simulator(fabric: fabric, model: settings.model, interNodeAlgorithm: settings.interNodeAlgorithm, linkService: service,
                              maxSteps: settings.maxSteps, collective: settings.collective, treeFolding: settings.treeFolding,
                              channelCount: settings.channels ?? ScheduleParameters.defaultChannelCount)
            s.inPlace = settings.inPlace
            return s
        }
        simulator = makeSimulator(on: fabric)
        chunkBytes = settings.chunkBytes ?? ScheduleParameters.defaultChunkBytes
        healthySimulator = fabric.faults == nil || !comparesHealthy ? nil : makeSimulator(on: fabric.healthy)
    }

    /// The report's columns: nccl-tests', the protocol with the NCCL model, the healthy time and
    /// slowdown with faults.
    public var columns: [ReportColumn] {
        var c = ReportColumn.allreducePerf
        if settings.model == .nccl { c.append(ReportColumn(key: "protocol", title: "protocol", kind: .text)) }
        if healthySimulator != nil { c += ReportColumn.faultComparison }
        return c
    }

    /// Steps the event model would play for `choice` at `bytes` (every candidate of auto).
    public func estimatedSteps(_ choice: AlgorithmChoice, bytes: Int) -> Double {
        let count = bytes / settings.dataType.sizeInBytes
        switch choice {
        case .fixed(let a):
            return simulator.estimatedSteps(a, elementCount: count, dataType: settings.dataType, chunkBytes: chunkBytes)
        case .auto:
            return simulator.autoCandidates.reduce(0) { $0 + simulator.estimatedSteps($1, elementCount: count, dataType: settings.dataType, chunkBytes: chunkBytes) }
        case .nccl(let a):
            return simulator.estimatedStepsNCCL(elementCount: count, dataType: settings.dataType, algorithm: a, protocol: settings.ncclProtocol,
                                                channels: settings.channels, chunkBytes: settings.chunkBytes)
        }
    }

    /// Refuses, before anything runs, runs that together play more than ``Settings/maxSteps``.
    public func checkWork(_ runs: [(choice: AlgorithmChoice, bytes: Int)]) throws {
        var total = 0.0
        for r in runs { total += estimatedSteps(r.choice, bytes: r.bytes) }
        if total > Double(settings.maxSteps) {
            let figure = total < 9e18 ? "\(Int(total))" : "\(total)"
            let nccl = runs.contains { if case .nccl = $0.choice { true } else { false } }
            let closedForm = nccl ? "NCCL's closed form (--model nccl), another algorithm (--algorithm nccl:tree)" : "--model analytic"
            throw SimulationError("the event model would play about \(figure) steps (all ranks\(runs.count > 1 ? ", \(runs.count) runs" : "")), more than --max-steps \(settings.maxSteps); use fewer ranks or sizes, larger --chunk-bytes, \(closedForm), or raise --max-steps")
        }
    }

    /// Times `choice` at `bytes` (a whole number of elements): the row and the outcomes.
    public mutating func measure(_ choice: AlgorithmChoice, bytes: Int) throws -> Measurement {
        let type = settings.dataType
        let count = bytes / type.sizeInBytes
        let outcome: SimulationOutcome
        var candidates: [SimulationOutcome] = []
        switch choice {
        case .fixed(let a):
            outcome = try simulator.time(a, elementCount: count, dataType: type, chunkBytes: chunkBytes, observer: watcher)
        case .auto:
            let r = try simulator.fastest(elementCount: count, dataType: type, chunkBytes: chunkBytes, observer: watcher)
            outcome = r.best
            candidates = r.all
        case .nccl(let a):
            outcome = try timeNCCL(a, count: count, choice: choice, observer: watcher)
        }
        if let plan = outcome.ncclPlan, !ncclPlans.contains(plan) { ncclPlans.append(plan) }
        if let fold = outcome.fold, !folds.contains(fold) { folds.append(fold) }
        for o in candidates.isEmpty ? [outcome] : candidates {
            if let s = o.statistics {
                ranEvent = true
                engineEvents += s.events
                engineTransfers += s.transfers
                engineWall += s.wallSeconds
                engineCPU += s.cpuSeconds
            }
        }
        let bytesActual = count * type.sizeInBytes
        if simulator.interNodeAlgorithm == nil, let between = outcome.interNodeAlgorithm, outcome.algorithm == .hierarchical {
            interNodeChoices.append((bytesActual, between))
        }
        let seconds = outcome.timeSeconds
        let algbw = Collective.algorithmBandwidthGBps(bytes: bytesActual, seconds: seconds)
        let busbw = simulator.collective.busBandwidthGBps(bytes: bytesActual, seconds: seconds, ranks: fabric.rankCount)
        let name: String
        switch choice {
        case .auto: name = "auto(\(outcome.rowName))"
        case .nccl: name = "nccl(\(outcome.ncclPlan.map { "\($0)" } ?? outcome.rowName))"
        case .fixed: name = outcome.rowName
        }
        var row: [ReportValue] = [
            .int(bytesActual), .int(count), .text(type.name), .text(simulator.collective.redopLabel(settings.op)), .int(-1),
            .text(name), .number(seconds * 1e6), .number(algbw), .number(busbw),
        ]
        if simulator.model == .nccl { row.append(.text(outcome.ncclProtocol?.rawValue ?? "")) }
        if let healthy = try timeHealthy(choice, bytes: bytes, outcome: outcome) {
            row += [.number(healthy.timeSeconds * 1e6), .number(healthy.timeSeconds > 0 ? seconds / healthy.timeSeconds : 1)]
            healthyOutcomes.append(healthy)
        }
        return Measurement(row: row, outcome: outcome, candidates: candidates)
    }

    /// What ``measure(_:bytes:)`` timed as `outcome` timed again on the healthy cluster (nil
    /// without faults): the same algorithm (for `auto`, the one chosen) and, for NCCL, the same plan.
    func timeHealthy(_ choice: AlgorithmChoice, bytes: Int, outcome: SimulationOutcome) throws -> SimulationOutcome? {
        guard let healthySimulator else { return nil }
        var healthy = self
        healthy.simulator = healthySimulator
        healthy.fabric = healthySimulator.fabric
        healthy.healthySimulator = nil
        return try healthy.replay(choice, bytes: bytes, outcome: outcome, observer: nil)
    }

    /// ``observer`` when the runs can be watched (the event model with FIFO links).
    var watcher: (any EngineObserver)? {
        simulator.model == .event && simulator.linkService == .fifo ? observer : nil
    }

    /// What NCCL would run (`algorithm` forced if given) for `count` elements, timed.
    func timeNCCL(_ algorithm: NCCLAlgorithm?, count: Int, choice: AlgorithmChoice, observer: (any EngineObserver)? = nil) throws -> SimulationOutcome {
        do {
            return try simulator.timeNCCL(elementCount: count, dataType: settings.dataType, algorithm: algorithm,
                                          protocol: settings.ncclProtocol, channels: settings.channels,
                                          chunkBytes: settings.chunkBytes, observer: observer)
        } catch let e as SimulationError {
            throw SimulationError("--algorithm \(choice.name): \(e)")
        }
    }

    /// Plays again what ``measure(_:bytes:)`` timed as `outcome` (for `auto`, the algorithm it
    /// chose), with `observer` watching: the same schedule on the same engine, so the same time.
    public func replay(_ choice: AlgorithmChoice, bytes: Int, outcome: SimulationOutcome, observer: (any EngineObserver)?) throws -> SimulationOutcome {
        let count = bytes / settings.dataType.sizeInBytes
        switch choice {
        case .fixed, .auto:
            return try simulator.time(outcome.algorithm, elementCount: count, dataType: settings.dataType, chunkBytes: chunkBytes, observer: observer)
        case .nccl(let a):
            return try timeNCCL(a, count: count, choice: choice, observer: observer)
        }
    }
}
