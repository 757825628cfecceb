import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
import CollectiveSim

/// Options shared by `simulate` and `sweep`: the cluster, the model, the data.
struct ClusterOptions: ParsableArguments {
    @Option(name: .long, help: "A preset (see `allreduce topologies`) or a topology file (.json, .yaml or .yml).")
    var topology: String = "dgx-h100"

    @Option(name: .long, help: "Number of nodes (default: the topology's, 1 for presets).")
    var nodes: Int?

    @Option(name: .long, help: "Use the first N GPUs of each node, as nccl-tests' -g (1 ... the node's GPU count; not with --topology switch).")
    var gpus: Int?

    @Flag(name: .long, help: "The network's switches reduce (InfiniBand SHARP, which NCCL reaches through its CollNet plugin): NCCL's NVLS then runs across nodes.")
    var sharp = false

    @Option(name: .long, help: "switch only: number of ranks (default 8).")
    var ranks: Int?

    @Option(name: .customLong("link-bandwidth"), help: "switch only: per-direction link bandwidth, with a unit (100GB/s, 400Gb/s; default 100GB/s).")
    var linkBandwidth: String?

    @Option(name: .customLong("link-latency"), help: "switch only: per-message latency, with a unit (2us, 500ns; default 1us).")
    var linkLatency: String?

    @Option(name: .long, help: "Timing model: event (discrete-event playback of the schedule), analytic (closed forms) or nccl (NCCL's tuning model).")
    var model: TimingModel = .event

    @Option(name: [.customShort("d"), .long], help: "Element type (int8 uint8 int32 uint32 int64 uint64 half float double bfloat16).")
    var datatype: DataType = .float32

    @Option(name: [.customShort("o"), .long], help: "Reduction operator (sum prod min max avg).")
    var op: ReductionOp = .sum

    @Option(name: .customLong("chunk-bytes"), help: "Pipelining chunk size (default: the protocol's step for the nccl algorithms, 2M, NCCL's Simple chunk, for the others).")
    var chunkBytes: String?

    @Option(name: .long, help: "How the event model serves transfers sharing a link: fifo (first come, first served; fast at any scale) or fair (max-min fair sharing; up to a few hundred ranks).")
    var links: LinkService = .fifo

    @Option(name: .customLong("inter-node"), help: "What hierarchical runs between nodes: ring, tree, or auto (the faster closed form at each size).")
    var interNode: InterNodeChoice = .auto

    @Option(name: .long, help: "NCCL protocol of the nccl algorithms: auto (NCCL's pick), LL, LL128 or Simple.")
    var `protocol`: String = "auto"

    @Option(name: .long, help: "Channels of the nccl algorithms (1 ... \(ScheduleParameters.maxChannels); default: NCCL's count for the size).")
    var channels: Int?

    @Option(name: .long, help: "Refuse a run whose event-model playback needs more steps (all ranks, all sizes and algorithms together) than this.")
    var maxSteps: Int = WorkLimit.defaultMaxSteps

    @Option(name: .customLong("fault"), help: ArgumentHelp("Something wrong with the cluster, repeatable: 'node 3 nic 2 at 50%', 'leaf 1 uplinks at 25%', 'node 0 gpu 4 pcie at gen3', 'spine 2 down', 'rank 5 late 20us', 'rank 5 slow 2x', 'jitter exponential 2us seed 7' (added to a topology file's faults). Rows then show the healthy time and the slowdown.", valueName: "spec"))
    var faults: [String] = []

    func validate() throws {
        if let nodes, nodes < 1 { throw ValidationError("--nodes must be at least 1, got \(nodes)") }
        if let ranks, ranks < 1 { throw ValidationError("--ranks must be at least 1, got \(ranks)") }
        if let ranks, ranks > Topology.Limits.maxRanks {
            throw ValidationError("--ranks: too large: \(ranks), at most \(Topology.Limits.maxRanks) ranks are modelled")
        }
        try checkMaxSteps(maxSteps)
        if linkLatency != nil && timingModel == .nccl {
            throw ValidationError("--link-latency does not apply to --model nccl (NCCL's tuning model takes its latencies from NCCL's tables); use --model event or analytic")
        }
        let isSwitch = topology.lowercased() == "switch"
        if !isSwitch && (ranks != nil || linkBandwidth != nil || linkLatency != nil) {
            throw ValidationError("--ranks, --link-bandwidth and --link-latency apply to --topology switch only")
        }
        if isSwitch && nodes != nil { throw ValidationError("--topology switch takes --ranks, not --nodes") }
        if isSwitch && gpus != nil { throw ValidationError("--gpus does not apply to --topology switch (one GPU per rank: use --ranks)") }
        if links == .fair && timingModel != .event {
            throw ValidationError("--links fair applies to --model event (the \(model.rawValue) model has no links to share)")
        }
        if `protocol`.lowercased() != "auto" && NCCLProtocol(name: `protocol`) == nil {
            throw ValidationError("--protocol: must be auto, LL, LL128 or Simple, got '\(`protocol`)'")
        }
        if let channels, channels < 1 || channels > ScheduleParameters.maxChannels {
            throw ValidationError("--channels must be between 1 and \(ScheduleParameters.maxChannels), got \(channels)")
        }
        if let chunkBytes, try parseBytes(chunkBytes, option: "--chunk-bytes") < 1 {
            throw ValidationError("--chunk-bytes must be at least 1 byte")
        }
        _ = try parsedFaults()
        if !faults.isEmpty && timingModel != .event {
            throw ValidationError("--fault applies to --model event (the \(model.rawValue) model's closed forms know no faults)")
        }
    }

    /// `--fault`, read by ``Fault/init(parsing:)``.
    func parsedFaults() throws -> [Fault] {
        var out: [Fault] = []
        for spec in faults {
            do { out.append(try Fault(parsing: spec)) } catch { throw ValidationError("--fault: \(error)") }
        }
        return out
    }

    var timingModel: TimingModel { model }

    /// `--protocol`, nil for auto.
    var ncclProtocol: NCCLProtocol? { NCCLProtocol(name: `protocol`) }

    /// The algorithm list used when `--algorithm` is not given: what NCCL would run on GPU
    /// clusters, the fastest textbook schedule on the `switch` model.
    var defaultAlgorithm: String { topology.lowercased() == "switch" ? "auto" : "nccl" }

    /// `--inter-node`: ring, tree, or nil for auto.
    var interNodeAlgorithm: AllreduceAlgorithm? { interNode.algorithm }

    var chunkSize: Int {
        get throws { try chunkBytes.map { try parseBytes($0, option: "--chunk-bytes") } ?? ScheduleParameters.defaultChunkBytes }
    }

    /// The topology named by `--topology`, with `--gpus` and `--nodes` applied.
    func resolveTopology() throws -> Topology {
        var topo: Topology
        let name = topology
        if name.lowercased() == "switch" {
            var bw = 100.0, lat = 1.0
            if let linkBandwidth {
                switch PhysicalUnit.parseBandwidthGBps(linkBandwidth) {
                case .success(let v): bw = v
                case .failure(let e): throw ValidationError("--link-bandwidth: \(e)")
                }
                guard bw > 0 else { throw ValidationError("--link-bandwidth: must be positive") }
            }
            if let linkLatency {
                switch PhysicalUnit.parseLatencyMicroseconds(linkLatency) {
                case .success(let v): lat = v
                case .failure(let e): throw ValidationError("--link-latency: \(e)")
                }
            }
            topo = Topology.switchCluster(ranks: ranks ?? 8, bandwidthGBps: bw, latencyMicroseconds: lat)
        } else {
            topo = try loadTopology(name, option: "--topology")
        }
        if let gpus {
            do {
                topo = try topo.with(gpusPerNode: gpus)
            } catch {
                throw CLIError("--gpus: \(error.message)")
            }
        }
        if let nodes { topo = topo.with(nodes: nodes) }
        if sharp { topo.network.sharp = true }
        topo.faults += try parsedFaults()
        return topo
    }

    func resolveFabric() throws -> FabricMap {
        let topo = try resolveTopology()
        do {
            return try FabricMap(topo)
        } catch {
            // The switch model's figures come from options, not from topology fields.
            if topology.lowercased() == "switch", let option = ["node.nics.bandwidth": "--link-bandwidth", "node.nics.latency": "--link-latency",
                                                                 "nodes": "--ranks"][error.field] {
                throw CLIError("\(option): \(error.message)")
            }
            throw CLIError("topology '\(topo.name)': \(error)")
        }
    }
}

/// The topology a preset name or a topology file names, or a one-line error naming `option`.
func loadTopology(_ name: String, option: String) throws -> Topology {
    if let preset = Topology.preset(name) { return preset }
    guard name.contains("/") || [".json", ".yaml", ".yml"].contains(where: { name.lowercased().hasSuffix($0) }) else {
        throw ValidationError("\(option): unknown preset '\(name)' (presets: \(Topology.presetNames.joined(separator: ", ")); or a path to a .json or .yaml file)")
    }
    do { return try Topology.load(path: name) } catch { throw CLIError("\(option): \(error)") }
}

/// `--algorithm`: one algorithm, `auto` (the fastest textbook schedule), `nccl` (what NCCL
/// would run) or `nccl:ALGO` (NCCL's algorithm forced, as NCCL_ALGO does).
enum AlgorithmChoice: Hashable {
    case fixed(AllreduceAlgorithm)
    case auto
    case nccl(NCCLAlgorithm?)

    init(parsing text: String) throws {
        let t = text.trimming(" ").lowercased()
        if t == "auto" { self = .auto; return }
        if t == "nccl" { self = .nccl(nil); return }
        if t.hasPrefix("nccl:") {
            let name = String(t.dropFirst(5))
            guard let a = NCCLAlgorithm(name: name) else {
                throw ValidationError("--algorithm: unknown NCCL algorithm '\(name)' in '\(text)' (\(NCCLAlgorithm.modelledNames))")
            }
            guard a.schedule != nil else {
                throw ValidationError("--algorithm: NCCL's \(a.rawValue) is not modelled in this build (\(NCCLAlgorithm.modelledNames))")
            }
            self = .nccl(a)
            return
        }
        guard let a = AllreduceAlgorithm(name: t) else {
            throw ValidationError("--algorithm: unknown algorithm '\(text)' (\(AllreduceAlgorithm.validNames) auto nccl \(NCCLAlgorithm.modelledNames) all)")
        }
        self = .fixed(a)
    }

    var name: String {
        switch self {
        case .fixed(let a): a.rawValue
        case .auto: "auto"
        case .nccl(nil): "nccl"
        case .nccl(let a?): "nccl:\(a.rawValue)"
        }
    }

    /// Parses a comma-separated list (`ring,tree,auto`; ``AlgorithmList``). `all` is every
    /// textbook schedule `simulator` plays on its cluster (those `auto` chooses among); nil (while
    /// validating, before the cluster is built) accepts it.
    static func parseList(_ text: String, simulator: Simulator?) throws -> [AlgorithmChoice] {
        try AlgorithmList.parse(text, every: { simulator?.autoCandidates.map(AlgorithmChoice.fixed) ?? [] }, AlgorithmChoice.init(parsing:))
    }
}

extension String {
    func trimming(_ set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}

/// Builds rows and footer notes shared by `simulate` and `sweep`.
struct SimulationRun {
    let options: ClusterOptions
    var fabric: FabricMap
    var simulator: Simulator
    let chunkBytes: Int
    var engineEvents = 0
    var engineTransfers = 0
    var engineWall = 0.0
    var engineCPU = 0.0
    var ranEvent = false
    /// The NCCL plans played, in order of first use (for the footer).
    var ncclPlans: [NCCLPlan] = []
    /// What hierarchical ran between nodes at each measured size, when `--inter-node auto` chose.
    var interNodeChoices: [(bytes: Int, algorithm: AllreduceAlgorithm)] = []
    /// Watches the event model's runs (a progress line), when it has FIFO links to watch.
    var observer: (any EngineObserver)?
    /// The same cluster without its faults, when it has some: every row is also timed there.
    var healthySimulator: Simulator?
    /// The healthy cluster's outcome of every row measured (with faults only).
    var healthyOutcomes: [SimulationOutcome] = []

    init(options: ClusterOptions, collective: Collective = .allreduce) throws {
        try self.init(options: options, fabric: try options.resolveFabric(), collective: collective)
    }

    /// The runs of `options` on `fabric` (the cluster `options` name, perhaps with more faults);
    /// `comparesHealthy`: time every row on the healthy cluster too, when `fabric` has faults.
    init(options: ClusterOptions, fabric: FabricMap, comparesHealthy: Bool = true, collective: Collective = .allreduce) throws {
        self.options = options
        self.fabric = fabric
        let service = options.links
        if service == .fair && options.timingModel == .event && fabric.rankCount > FairShareEngine.maxRanks {
            throw CLIError("--links fair plays at most \(FairShareEngine.maxRanks) ranks (it recomputes every transfer's rate at each event), this cluster has \(fabric.rankCount); use --links fifo")
        }
        simulator = Simulator(fabric: fabric, model: options.timingModel, interNodeAlgorithm: options.interNodeAlgorithm, linkService: service,
                              maxSteps: options.maxSteps, collective: collective)
        chunkBytes = try options.chunkSize
        healthySimulator = fabric.faults == nil || !comparesHealthy ? nil
            : Simulator(fabric: fabric.healthy, model: options.timingModel, interNodeAlgorithm: options.interNodeAlgorithm, linkService: service,
                        maxSteps: options.maxSteps, collective: collective)
    }

    var columns: [ReportColumn] {
        var c = ReportColumn.allreducePerf
        if options.timingModel == .nccl { c.append(ReportColumn(key: "protocol", title: "protocol", kind: .text)) }
        if healthySimulator != nil { c += ReportColumn.faultComparison }
        return c
    }

    /// Steps the event model would play for `choice` at `bytes` (every candidate of auto).
    func estimatedSteps(_ choice: AlgorithmChoice, bytes: Int) throws -> Double {
        let count = bytes / options.datatype.sizeInBytes
        switch choice {
        case .fixed(let a):
            return simulator.estimatedSteps(a, elementCount: count, dataType: options.datatype, chunkBytes: chunkBytes)
        case .auto:
            return simulator.autoCandidates.reduce(0) { $0 + simulator.estimatedSteps($1, elementCount: count, dataType: options.datatype, chunkBytes: chunkBytes) }
        case .nccl(let a):
            return simulator.estimatedStepsNCCL(elementCount: count, dataType: options.datatype, algorithm: a, protocol: options.ncclProtocol,
                                                channels: options.channels, chunkBytes: try options.chunkBytes.map { try parseBytes($0, option: "--chunk-bytes") })
        }
    }

    /// Refuses, before anything runs, a command whose runs together play more than `--max-steps`.
    func checkWork(_ runs: [(choice: AlgorithmChoice, bytes: Int)]) throws {
        var total = 0.0
        for r in runs { total += try estimatedSteps(r.choice, bytes: r.bytes) }
        if total > Double(options.maxSteps) {
            let figure = total < 9e18 ? "\(Int(total))" : "\(total)"
            let nccl = runs.contains { if case .nccl = $0.choice { true } else { false } }
            let closedForm = nccl ? "NCCL's closed form (--model nccl), another algorithm (--algorithm nccl:tree)" : "--model analytic"
            throw CLIError("the event model would play about \(figure) steps (all ranks\(runs.count > 1 ? ", \(runs.count) runs" : "")), more than --max-steps \(options.maxSteps); use fewer ranks or sizes, larger --chunk-bytes, \(closedForm), or raise --max-steps")
        }
    }

    /// Times one choice at `bytes` (a whole number of elements); returns the row, the outcome
    /// and, for auto, every candidate's outcome.
    mutating func measure(_ choice: AlgorithmChoice, bytes: Int) throws -> (row: [ReportValue], outcome: SimulationOutcome, candidates: [SimulationOutcome]) {
        let size = options.datatype.sizeInBytes
        let count = bytes / size
        let outcome: SimulationOutcome
        var candidates: [SimulationOutcome] = []
        switch choice {
        case .fixed(let a):
            outcome = try simulator.time(a, elementCount: count, dataType: options.datatype, chunkBytes: chunkBytes, observer: watcher)
        case .auto:
            let r = try simulator.fastest(elementCount: count, dataType: options.datatype, chunkBytes: chunkBytes, observer: watcher)
            outcome = r.best
            candidates = r.all
        case .nccl(let a):
            outcome = try timeNCCL(a, count: count, choice: choice, observer: watcher)
        }
        if let plan = outcome.ncclPlan, !ncclPlans.contains(plan) { ncclPlans.append(plan) }
        for o in candidates.isEmpty ? [outcome] : candidates {
            if let s = o.statistics {
                ranEvent = true
                engineEvents += s.events
                engineTransfers += s.transfers
                engineWall += s.wallSeconds
                engineCPU += s.cpuSeconds
            }
        }
        let bytesActual = count * size
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
            .int(bytesActual), .int(count), .text(options.datatype.name), .text(simulator.collective.redopLabel(options.op)), .int(-1),
            .text(name), .number(seconds * 1e6), .number(algbw), .number(busbw),
        ]
        if simulator.model == .nccl { row.append(.text(outcome.ncclProtocol?.rawValue ?? "")) }
        if let healthy = try timeHealthy(choice, bytes: bytes, outcome: outcome) {
            row += [.number(healthy.timeSeconds * 1e6), .number(healthy.timeSeconds > 0 ? seconds / healthy.timeSeconds : 1)]
            healthyOutcomes.append(healthy)
        }
        return (row, outcome, candidates)
    }

    /// What `measure` timed as `outcome` timed again on the healthy cluster (nil without faults):
    /// the same algorithm (for `auto`, the one chosen) and, for NCCL, the same plan.
    func timeHealthy(_ choice: AlgorithmChoice, bytes: Int, outcome: SimulationOutcome) throws -> SimulationOutcome? {
        guard let healthySimulator else { return nil }
        var healthy = self
        healthy.simulator = healthySimulator
        healthy.fabric = healthySimulator.fabric
        healthy.healthySimulator = nil
        return try healthy.replay(choice, bytes: bytes, outcome: outcome, observer: nil)
    }

    /// `observer` when the runs can be watched (the event model with FIFO links).
    var watcher: (any EngineObserver)? {
        simulator.model == .event && simulator.linkService == .fifo ? observer : nil
    }

    /// What NCCL would run (`algorithm` forced if given) for `count` elements, timed.
    func timeNCCL(_ algorithm: NCCLAlgorithm?, count: Int, choice: AlgorithmChoice, observer: (any EngineObserver)? = nil) throws -> SimulationOutcome {
        do {
            return try simulator.timeNCCL(elementCount: count, dataType: options.datatype, algorithm: algorithm,
                                          protocol: options.ncclProtocol, channels: options.channels,
                                          chunkBytes: try options.chunkBytes.map { try parseBytes($0, option: "--chunk-bytes") }, observer: observer)
        } catch let e as SimulationError {
            throw CLIError("--algorithm \(choice.name): \(e)")
        }
    }

    /// Plays again what `measure` timed as `outcome` (for `auto`, the algorithm it chose), with
    /// `observer` watching: the same schedule on the same engine, so the same time.
    func replay(_ choice: AlgorithmChoice, bytes: Int, outcome: SimulationOutcome, observer: (any EngineObserver)?) throws -> SimulationOutcome {
        let count = bytes / options.datatype.sizeInBytes
        switch choice {
        case .fixed, .auto:
            return try simulator.time(outcome.algorithm, elementCount: count, dataType: options.datatype, chunkBytes: chunkBytes, observer: observer)
        case .nccl(let a):
            return try timeNCCL(a, count: count, choice: choice, observer: observer)
        }
    }

    /// `topology: dgx-h100 x 4 nodes = 32 GPUs (...)`.
    var topologyNote: String {
        let t = fabric.topology
        let nodes = t.name == "switch" ? "\(fabric.rankCount) rank\(fabric.rankCount == 1 ? "" : "s")" : "\(fabric.nodeCount) node\(fabric.nodeCount == 1 ? "" : "s") x \(fabric.gpusPerNode) GPUs = \(fabric.rankCount) ranks"
        let service = simulator.model == .event && simulator.linkService == .fair ? " (links shared max-min fairly)" : ""
        return "topology: \(t.name), \(nodes); model: \(simulator.model.rawValue)\(service)"
    }

    /// `faults: node 3 nic 2 at 50%; rank 5 late 20us (healthy: the same runs without them)`.
    var faultNote: String? {
        guard let f = fabric.faults else { return nil }
        return "faults: " + f.specs.map(\.description).joined(separator: "; ") + " (healthy: the same schedule on the cluster without them; slowdown = time / healthy)"
    }

    /// `busiest links: NIC tx 98% (node 0 nic 2 tx), ...` of `outcome`, or nil when it has none.
    static func busiestLinks(_ outcome: SimulationOutcome, label: String = "busiest links") -> String? {
        guard let links = outcome.linkUtilization, !links.isEmpty else { return nil }
        return "\(label): " + links.map { "\($0.linkClass.rawValue) \(formatFixed($0.busyFraction * 100, decimals: 0))% (\($0.busiestLink))" }.joined(separator: ", ")
    }

    /// `dgx-h100, 4 nodes x 8 GPUs` or `switch, 8 ranks`.
    var clusterName: String {
        let t = fabric.topology
        return t.name == "switch" ? "switch, \(fabric.rankCount) rank\(fabric.rankCount == 1 ? "" : "s")"
            : "\(t.name), \(fabric.nodeCount) node\(fabric.nodeCount == 1 ? "" : "s") x \(fabric.gpusPerNode) GPUs"
    }

    /// Why the time is what it is: the bottleneck costs the closed forms see.
    var bottleneckNote: String {
        var parts: [String] = []
        if fabric.gpusPerNode > 1 {
            let c = fabric.intraNodeAlphaBeta
            parts.append("intra-node \(formatFixed(1 / c.betaSecondsPerByte / 1e9, decimals: 1)) GB/s, \(formatFixed(c.alphaSeconds * 1e6, decimals: 2)) us per step")
        }
        if fabric.nodeCount > 1 {
            let c = fabric.interNodeAlphaBeta()
            parts.append("inter-node \(formatFixed(1 / c.betaSecondsPerByte / 1e9, decimals: 1)) GB/s, \(formatFixed(c.alphaSeconds * 1e6, decimals: 2)) us per step")
        }
        if fabric.gammaSecondsPerByte > 0 {
            parts.append("reduction \(formatFixed(1 / fabric.gammaSecondsPerByte / 1e9, decimals: 0)) GB/s")
        }
        return parts.isEmpty ? "paths: none (a single rank)" : "paths (achievable): " + parts.joined(separator: "; ")
    }

    /// `hierarchical between nodes (--inter-node auto): ring from 8 B, tree from 64 KiB`: where the
    /// automatic inter-node choice changes over the sizes measured (nil when it did not choose).
    var interNodeNote: String? {
        guard !interNodeChoices.isEmpty else { return nil }
        var runs: [(bytes: Int, algorithm: AllreduceAlgorithm)] = []
        for c in interNodeChoices.sorted(by: { $0.bytes < $1.bytes }) where runs.last?.algorithm != c.algorithm { runs.append(c) }
        let list = runs.map { "\($0.algorithm.rawValue) from \(ByteCount.format($0.bytes))" }
        return "hierarchical between nodes (--inter-node auto, the faster closed form): " + list.joined(separator: ", ")
    }

    /// `nccl: NCCL's search: 24 channels ...; ring/Simple/24ch: start 20.4 us, hops NVLink 3.4 us ...`:
    /// what the nccl rows played and with which protocol figures.
    var ncclNote: String? {
        guard !ncclPlans.isEmpty else { return nil }
        let planner = NCCLPlanner(fabric: fabric)
        let t = planner.topology
        var parts = ["nccl (\(t.architecture.rawValue)): search \(t.searchChannels) x \(formatFixed(t.speedGBps, decimals: 1)) GB/s, \(t.channels) channels"
                     + (t.nvlsHeads > 0 ? ", NVLS \(t.nvlsHeads) heads x \(formatFixed(t.nvlsSpeedGBps, decimals: 1)) GB/s at \(formatFixed(t.nvlsEfficiency, decimals: 2))" : "")]
        for plan in ncclPlans.prefix(4) {
            let timing = planner.timing(plan)
            var hops = ["NVLink \(formatFixed(timing.nvlinkHopSeconds * 1e6, decimals: 2))"]
            if fabric.nodeCount > 1 { hops.append("network \(formatFixed(timing.networkHopSeconds * 1e6, decimals: 2))") }
            let cap = timing.channelCapGBps > 0 ? ", \(formatFixed(timing.channelCapGBps, decimals: 1)) GB/s per channel" : ""
            parts.append("\(plan): start \(formatFixed(timing.startSeconds * 1e6, decimals: 1)) us, hop \(hops.joined(separator: " / ")) us\(cap), chunk \(ByteCount.format(plan.chunkBytes))")
        }
        return parts.joined(separator: "; ")
    }

    /// `engine: ...` over every event-model run so far.
    var engineNote: String? {
        guard ranEvent else { return nil }
        return EngineStatistics(events: engineEvents, transfers: engineTransfers, wallSeconds: engineWall, cpuSeconds: engineCPU, peakMemoryBytes: peakResidentBytes()).summary
    }
}

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Time an allreduce on a modelled cluster.",
        discussion: """
            Plays the algorithm's schedule over the cluster's links (--model event, the default), or
            evaluates closed forms (analytic) or NCCL's tuning model (nccl). Output columns follow
            nccl-tests' all_reduce_perf; busbw = algbw x 2(n-1)/n. --collective reduce-scatter or
            all-gather times that collective instead (event model), as reduce_scatter_perf and
            all_gather_perf print it: size is the full buffer, busbw = algbw x (n-1)/n.

            Example: allreduce simulate --topology dgx-h100 --nodes 16 --size 1G --algorithm auto
            """)

    @OptionGroup var cluster: ClusterOptions

    @OptionGroup var collective: CollectiveOptions

    @Option(name: .long, help: "Bytes per rank, with an optional 1024-based suffix (8, 64K, 1G).")
    var size: String = "1G"

    @Option(name: .long, help: "Comma-separated (a row each): nccl (what NCCL would run: algorithm, protocol and channels, played by the event model; the default on GPU clusters), \(AlgorithmList.simulatedNames), auto (the fastest textbook schedule; the default on switch), or all (every textbook schedule the model plays on this cluster).")
    var algorithm: String?

    @OptionGroup var output: LatencyFormatOptions

    @Option(name: .long, help: ArgumentHelp("Also write the played schedule as a Chrome/Perfetto trace (open it in ui.perfetto.dev): a track per rank, per link with its utilization, and the critical path. Event model, --links fifo.", valueName: "file.json"))
    var trace: String?

    @Option(name: .customLong("trace-ranks"), help: "Most ranks with tracks in --trace; beyond, every k-th rank is traced.")
    var traceRanks: Int = ChromeTraceRecorder.Limits().ranks

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        try wholeElements(try parseBytes(size, option: "--size"), cluster.datatype, option: "--size")
        let choices = try AlgorithmChoice.parseList(algorithm ?? cluster.defaultAlgorithm, simulator: nil)
        if trace != nil {
            guard choices.count == 1, !AlgorithmList.containsAll(algorithm ?? "") else {
                throw ValidationError("--trace writes one algorithm's run; give one --algorithm, not '\(algorithm ?? "")'")
            }
            guard cluster.timingModel == .event else { throw ValidationError("--trace needs --model event (the \(cluster.timingModel.rawValue) model plays no transfers)") }
            guard cluster.links == .fifo else { throw ValidationError("--trace needs --links fifo") }
            if trace!.isEmpty { throw ValidationError("--trace: empty file name") }
        }
        guard traceRanks >= 1 else { throw ValidationError("--trace-ranks must be at least 1, got \(traceRanks)") }
    }

    /// Everything `run` checks before it times anything: the cluster, the model's memory, the work.
    func prepare() throws -> (sim: SimulationRun, bytes: Int, choices: [AlgorithmChoice]) {
        let sim = try SimulationRun(options: cluster, collective: collective.collective)
        let bytes = try parseBytes(size, option: "--size")
        let choices = try AlgorithmChoice.parseList(algorithm ?? cluster.defaultAlgorithm, simulator: sim.simulator)
        try sim.checkWork(choices.map { ($0, bytes) })
        return (sim, bytes, choices)
    }

    func run() throws {
        var (sim, bytes, choices) = try prepare()
        var report = Report(columns: sim.columns)
        report.latencySource = "simulated on \(sim.clusterName)"
        let line = ProgressLine(label: "simulate", options: progress)
        sim.observer = line.observer
        var m: (row: [ReportValue], outcome: SimulationOutcome, candidates: [SimulationOutcome])! = nil
        for choice in choices {
            do { m = try sim.measure(choice, bytes: bytes) } catch { line.finish(); throw error }
            report.append(m.row, group: choice.name)
        }
        line.finish()
        report.notes.append(sim.topologyNote)
        // The notes about one run (what auto chose, the busiest links, the finish, the trace)
        // are of the last algorithm: with several, of none.
        guard choices.count == 1 else {
            report.notes.append(sim.bottleneckNote)
            for note in [sim.interNodeNote, sim.ncclNote, sim.engineNote] { if let note { report.notes.append(note) } }
            report.print(output.format)
            return
        }
        let choice = choices[0]
        report.notes.append(sim.bottleneckNote)
        if m.candidates.count > 1 {
            let list = m.candidates.map { "\($0.algorithm.rawValue) \(formatFixed($0.timeSeconds * 1e6, decimals: 2)) us" }
            report.notes.append("auto chose \(m.outcome.algorithm.rawValue): " + list.joined(separator: ", "))
        }
        if let n = SimulationRun.busiestLinks(m.outcome) { report.notes.append(n) }
        if let healthy = sim.healthyOutcomes.last {
            if let n = SimulationRun.busiestLinks(healthy, label: "busiest links, healthy") { report.notes.append(n) }
            if let n = sim.faultNote { report.notes.insert(n, at: 0) }
            if sim.simulator.linkService == .fifo {
                let watcher = FinishWatcher(fabric: sim.fabric)
                _ = try sim.replay(choice, bytes: bytes, outcome: m.outcome, observer: watcher)
                report.notes.append("finish: " + (watcher.gate() ?? "the critical path was not followed (more than \(watcher.critical.limit) transfers)"))
            }
        }
        if let n = sim.interNodeNote { report.notes.append(n) }
        if let n = sim.ncclNote { report.notes.append(n) }
        if let e = sim.engineNote { report.notes.append(e) }
        if let path = trace {
            sim.observer = nil
            report.notes.append(try writeTrace(sim, choice: choice, bytes: bytes, outcome: m.outcome, to: path))
        }
        report.print(output.format)
    }

    /// Plays the measured schedule again into a trace file; returns the footer line.
    func writeTrace(_ sim: SimulationRun, choice: AlgorithmChoice, bytes: Int, outcome: SimulationOutcome, to path: String) throws -> String {
        let sink: FileTraceSink
        do { sink = try FileTraceSink(path: path) } catch { throw CLIError("--trace: \(error)") }
        var limits = ChromeTraceRecorder.Limits()
        limits.ranks = traceRanks
        let title = "\(outcome.ncclPlan.map { "nccl(\($0))" } ?? outcome.rowName), \(ByteCount.format(bytes)) per rank, \(sim.clusterName) (simulated)"
        let recorder = ChromeTraceRecorder(fabric: sim.fabric, sink: sink, title: title, expectedSeconds: outcome.timeSeconds,
                                           launchSeconds: outcome.launchSeconds, limits: limits)
        let line = ProgressLine(label: "simulate --trace", options: progress)
        line.inner = recorder
        line.expectedEvents = outcome.statistics?.events
        let replayed: SimulationOutcome
        do { replayed = try sim.replay(choice, bytes: bytes, outcome: outcome, observer: line.observer!) } catch { line.finish(); throw error }
        line.finish()
        let s = recorder.finish(totalSeconds: replayed.timeSeconds)
        do { try sink.close() } catch { throw CLIError("--trace: \(error)") }
        var parts = ["\(s.slices) slices of \(s.transfers) transfers",
                     recorder.rankStride > 1 ? recorder.samplingNote + " by --trace-ranks" : "\(s.tracedRanks) of \(sim.fabric.rankCount) ranks",
                     "\(s.linkTracks) links"]
        parts.append(s.criticalPathTransfers.map { "critical path \($0) transfers" } ?? "critical path not followed (more than \(limits.criticalPathTransfers) transfers)")
        if s.slicesLeftOut > 0 { parts.append("\(s.slicesLeftOut) rank slices left out (more than \(limits.tracksPerRank) at once on a rank)") }
        return "trace: \(path) (\(parts.joined(separator: ", ")))"
    }
}
