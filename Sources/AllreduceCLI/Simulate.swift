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

    @Option(name: .long, help: "Channels (1 ... \(ScheduleParameters.maxChannels)) of NCCL's choices (nccl, nccl:ALGO; default: NCCL's count for the size) and of the nccl-ring and nccl-tree schedules (default \(ScheduleParameters.defaultChannelCount), as `allreduce mpi` runs them).")
    var channels: Int?

    @Flag(name: .customLong("in-place"), help: "Time in-place runs, as `allreduce mpi --in-place` and nccl-tests' in-place column: one buffer per rank, not an input and a separate output. On a calibrated CPU cluster it halves the working set the node's memory rates are read at; GPU fabrics time the same.")
    var inPlace = false

    @Option(name: .long, help: "Refuse a run whose event-model playback needs more steps (all ranks, all sizes and algorithms together) than this.")
    var maxSteps: Int = WorkLimit.defaultMaxSteps

    @Option(name: .long, help: "Play NCCL's NVLS tree folded, one node per place in the double binary tree of the nodes (2 log2(N) nodes for N; a power of two of at least 8 nodes, no faults): auto (when the full playback would pass --max-steps), on, or off.")
    var fold: TreeFolding = .auto

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
    var defaultAlgorithm: AlgorithmSelection<AlgorithmChoice> { AlgorithmSelection(defaults: topology.lowercased() == "switch" ? .auto : .nccl(nil)) }

    /// `--inter-node`: ring, tree, or nil for auto.
    var interNodeAlgorithm: AllreduceAlgorithm? { interNode.algorithm }

    /// What every row shares besides the cluster, from the options.
    func settings(collective: Collective = .allreduce) throws -> SimulationRun.Settings {
        var s = SimulationRun.Settings()
        s.dataType = datatype
        s.op = op
        s.collective = collective
        s.model = timingModel
        s.linkService = links
        s.interNodeAlgorithm = interNodeAlgorithm
        s.ncclProtocol = ncclProtocol
        s.channels = channels
        s.chunkBytes = try chunkBytes.map { try parseBytes($0, option: "--chunk-bytes") }
        s.maxSteps = maxSteps
        s.treeFolding = fold
        s.inPlace = inPlace
        return s
    }

    /// The runs of these options on the cluster they name (`fabric`: that cluster, perhaps
    /// with more faults); `comparesHealthy`: time every row on the healthy cluster too.
    func simulationRun(fabric: FabricMap? = nil, comparesHealthy: Bool = true, collective: Collective = .allreduce) throws -> SimulationRun {
        try SimulationRun(settings: settings(collective: collective), fabric: fabric ?? resolveFabric(), comparesHealthy: comparesHealthy)
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

extension String {
    func trimming(_ set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
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

    @Option(name: .long, help: "Comma-separated (a row each): nccl (what NCCL would run: algorithm, protocol and channels, played by the event model; the default on GPU clusters), nccl:ALGO (NCCL's algorithm forced, as NCCL_ALGO), a schedule, auto (the fastest textbook schedule; the default on switch), or all (every textbook schedule the model plays on this cluster).")
    var algorithm: AlgorithmSelection<AlgorithmChoice>?

    @OptionGroup var output: LatencyFormatOptions

    @Option(name: .long, help: ArgumentHelp("Also write the played schedule as a Chrome/Perfetto trace (open it in ui.perfetto.dev): a track per rank, per link with its utilization, and the critical path. Event model, --links fifo.", valueName: "file.json"))
    var trace: String?

    @Option(name: .customLong("trace-ranks"), help: "Most ranks with tracks in --trace; beyond, every k-th rank is traced.")
    var traceRanks: Int = ChromeTraceRecorder.Limits().ranks

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        try wholeElements(try parseBytes(size, option: "--size"), cluster.datatype, option: "--size")
        let choices = (algorithm ?? cluster.defaultAlgorithm).choices(on: nil)
        if trace != nil {
            guard choices.count == 1, algorithm?.containsAll != true else {
                throw ValidationError("--trace writes one algorithm's run; give one --algorithm, not '\(algorithm?.defaultValueDescription ?? "")'")
            }
            guard cluster.timingModel == .event else { throw ValidationError("--trace needs --model event (the \(cluster.timingModel.rawValue) model plays no transfers)") }
            guard cluster.links == .fifo else { throw ValidationError("--trace needs --links fifo") }
            if trace!.isEmpty { throw ValidationError("--trace: empty file name") }
        }
        guard traceRanks >= 1 else { throw ValidationError("--trace-ranks must be at least 1, got \(traceRanks)") }
    }

    /// Everything `run` checks before it times anything: the cluster, the model's memory, the work.
    func prepare() throws -> (sim: SimulationRun, bytes: Int, choices: [AlgorithmChoice]) {
        let sim = try cluster.simulationRun(collective: collective.collective)
        let bytes = try parseBytes(size, option: "--size")
        let choices = (algorithm ?? cluster.defaultAlgorithm).choices(on: sim.simulator)
        try sim.checkWork(choices.map { ($0, bytes) })
        return (sim, bytes, choices)
    }

    func run() throws {
        var (sim, bytes, choices) = try prepare()
        var report = Report(columns: sim.columns)
        report.latencySource = "simulated on \(sim.clusterName)"
        let line = ProgressLine(label: "simulate", options: progress)
        sim.observer = line.observer
        var m: SimulationRun.Measurement! = nil
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
