import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
import CollectiveSim

struct WhatIf: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "what-if",
        abstract: "Time an allreduce over many random link faults: the spread of slowdowns per algorithm.",
        discussion: """
            Each draw picks network cables of the cluster (a NIC's cable to its leaf, a leaf's cable
            to a spine) and takes them down or degrades them (--effect); every algorithm is played
            on the cluster with those faults and on the cluster without them. A draw that cuts ranks
            off (a GPU's only NIC down) fails: NCCL's communicator would fail; it is counted, not timed.
            Draws come from --seed: the same seed gives the same output. --fault adds fixed faults
            to every draw (and to the baseline).

            Example: allreduce what-if --topology dgx-h100 --nodes 64 --size 1G --algorithm nccl,ring,tree --cables spine --faults-per-draw 1...8 --draws 50
            """)

    @OptionGroup var cluster: ClusterOptions

    @Option(name: .long, help: "Bytes per rank, with an optional 1024-based suffix (8, 64K, 1G).")
    var size: String = "1G"

    @Option(name: .long, help: "Comma-separated algorithms (as sweep's; default: nccl,ring,tree on GPU clusters, ring,tree on switch).")
    var algorithm: AlgorithmSelection<AlgorithmChoice>?

    @Option(name: .long, help: "Random draws of faults (1 ... \(WhatIf.maxDraws)).")
    var draws: Int = 20

    @Option(name: .long, help: "Seed of the draws.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Cables a draw picks from: network (NIC and spine cables), nic or spine.")
    var cables: String = "network"

    @Option(name: .customLong("faults-per-draw"), help: ArgumentHelp("Cables per draw: N or LOW...HIGH, uniformly (default 1...8).", valueName: "range"))
    var faultsPerDraw: String = "1...8"

    @Option(name: .customLong("link-fraction"), help: ArgumentHelp("Instead of --faults-per-draw: each cable is faulty with this probability (0.001: one link in a thousand).", valueName: "p"))
    var linkFraction: Double?

    @Option(name: .long, help: ArgumentHelp("What happens to a drawn cable: down, or a rate as in --fault (50%, gen3, 12GB/s).", valueName: "effect"))
    var effect: String = "down"

    @OptionGroup var output: FormatOptions
    @OptionGroup var progress: ProgressOptions

    static let maxDraws = 100_000

    func validate() throws {
        try wholeElements(try parseBytes(size, option: "--size"), cluster.datatype, option: "--size")
        guard draws >= 1 && draws <= Self.maxDraws else { throw ValidationError("--draws must be between 1 and \(Self.maxDraws), got \(draws)") }
        _ = try randomFaults()
        guard cluster.timingModel == .event else {
            throw ValidationError("what-if plays faults with --model event (the \(cluster.model.rawValue) model's closed forms know no faults)")
        }
    }

    var defaultAlgorithms: AlgorithmSelection<AlgorithmChoice> {
        cluster.topology.lowercased() == "switch" ? AlgorithmSelection(defaults: .fixed(.ring), .fixed(.tree)) : AlgorithmSelection(defaults: .nccl(nil), .fixed(.ring), .fixed(.tree))
    }

    /// The draws' shape, from --cables, --faults-per-draw or --link-fraction, and --effect.
    func randomFaults() throws -> RandomFaults {
        guard let c = RandomFaults.Cables(rawValue: cables.lowercased()) else {
            throw ValidationError("--cables: must be network, nic or spine, got '\(cables)'")
        }
        let e: Fault.LinkEffect
        do { e = try Fault.linkEffect(parsing: effect) } catch { throw ValidationError("--effect: \(error)") }
        if let p = linkFraction {
            guard p.isFinite && p > 0 && p <= 1 else { throw ValidationError("--link-fraction must be above 0 and at most 1, got \(p)") }
            return RandomFaults(cables: c, count: .fraction(p), effect: e)
        }
        let parts = faultsPerDraw.components(separatedBy: "...")
        let bounds = parts.map { Int($0.trimming(" ")) }
        guard parts.count <= 2, let lo = bounds.first ?? nil, let hi = bounds.last ?? nil, lo >= 1, lo <= hi, hi <= Topology.Limits.maxRanks else {
            throw ValidationError("--faults-per-draw: expected N or LOW...HIGH with 1 <= LOW <= HIGH, got '\(faultsPerDraw)'")
        }
        return RandomFaults(cables: c, count: .range(lo...hi), effect: e)
    }

    /// Everything `run` checks before it times anything: the cluster and its fixed faults, the
    /// work of every draw, the cables to draw from.
    func prepare() throws -> (base: SimulationRun, bytes: Int, choices: [AlgorithmChoice], shape: RandomFaults, candidates: [Fault]) {
        let base = try cluster.simulationRun()
        try base.simulator.checkFaults()
        let bytes = try parseBytes(size, option: "--size")
        let choices = (algorithm ?? defaultAlgorithms).choices(on: base.simulator)
        try base.checkWork(Array(repeating: choices.map { ($0, bytes) }, count: draws + 1).flatMap { $0 })
        let shape = try randomFaults()
        let candidates = shape.candidates(on: base.fabric)
        guard !candidates.isEmpty else {
            throw CLIError("--cables \(cables.lowercased()): \(base.clusterName) has no such cables to draw (it needs several nodes, and several leaves for spine cables)")
        }
        return (base, bytes, choices, shape, candidates)
    }

    func run() throws {
        let (base, bytes, choices, shape, candidates) = try prepare()
        let topology = try cluster.resolveTopology()

        let line = ProgressLine(label: "what-if", options: progress, totalCount: (draws + 1) * choices.count, unit: "runs")
        var baseline = base
        baseline.observer = line.observer
        var healthy: [Double] = []
        var names: [String] = []
        do {
            for c in choices {
                let m = try baseline.measure(c, bytes: bytes)
                healthy.append(m.outcome.timeSeconds)
                if case .text(let name) = m.row[5] { names.append(name) } else { names.append(c.name) }
                line.completed()
            }
        } catch { line.finish(); throw error }

        var random = SplitMix64(seed: seed)
        var slowdowns = [[Double]](repeating: [], count: choices.count)
        var worst = [(slowdown: Double, faults: [Fault])](repeating: (0, []), count: choices.count)
        var failed = 0, faultCount = 0
        do {
            for _ in 0..<draws {
                let drawn = shape.draw(from: candidates, using: &random)
                faultCount += drawn.count
                var t = topology
                t.faults += drawn
                let fabric: FabricMap
                do { fabric = try FabricMap(t) } catch { throw CLIError("topology '\(t.name)': \(error)") }
                if fabric.faults?.cutOff != nil {
                    failed += 1
                    for _ in choices { line.completed() }
                    continue
                }
                var run = try cluster.simulationRun(fabric: fabric, comparesHealthy: false)
                run.observer = line.observer
                for (i, c) in choices.enumerated() {
                    let s = drawn.isEmpty ? 1 : try run.measure(c, bytes: bytes).outcome.timeSeconds / healthy[i]
                    slowdowns[i].append(s)
                    if s > worst[i].slowdown { worst[i] = (s, drawn) }
                    line.completed()
                }
            }
        } catch { line.finish(); throw error }
        line.finish()

        var report = Report(columns: Self.columns)
        for i in choices.indices {
            let s = slowdowns[i].sorted()
            var row: [ReportValue] = [.text(names[i]), .number(healthy[i] * 1e6), .int(draws), .int(failed)]
            if s.isEmpty {
                row += [.text("-"), .text("-"), .text("-"), .text("-")]
            } else {
                row += [.number(s[0]), .number(SampleStatistics.median(s)), .number(Self.nearestRank(s, 0.95)), .number(s[s.count - 1])]
            }
            report.append(row)
        }
        report.notes.append("what-if: \(draws) draws (seed \(seed)) of \(Self.describe(shape)) out of \(candidates.count) \(shape.cables == .network ? "NIC and spine" : shape.cables.rawValue) cables, \(faultCount) faults in all; slowdown = time / time without the drawn faults")
        if failed > 0 {
            report.notes.append("failed: \(failed) of \(draws) draws cut ranks off (a GPU's only NIC down, or a leaf without spines): NCCL's communicator would fail")
        }
        if let f = base.faultNote { report.notes.append(f + "; in every draw and in the baseline") }
        report.notes.append(base.topologyNote)
        for i in choices.indices where worst[i].slowdown > 1 {
            report.notes.append("worst draw for \(names[i]) (\(formatFixed(worst[i].slowdown, decimals: 3))x): " + worst[i].faults.map { "--fault '\($0)'" }.joined(separator: " "))
        }
        report.print(output.format)
    }

    static let columns: [ReportColumn] = [
        ReportColumn(key: "algorithm", title: "algorithm", kind: .text),
        ReportColumn(key: "healthy_us", title: "healthy", unit: "(us)", kind: .number(decimals: 2)),
        ReportColumn(key: "draws", title: "draws", kind: .integer),
        ReportColumn(key: "failed", title: "failed", kind: .integer),
        ReportColumn(key: "min", title: "min", unit: "(x)", kind: .number(decimals: 3)),
        ReportColumn(key: "median", title: "median", unit: "(x)", kind: .number(decimals: 3)),
        ReportColumn(key: "p95", title: "p95", unit: "(x)", kind: .number(decimals: 3)),
        ReportColumn(key: "max", title: "max", unit: "(x)", kind: .number(decimals: 3)),
    ]

    /// The nearest-rank `q` quantile of `sorted` (not empty).
    static func nearestRank(_ sorted: [Double], _ q: Double) -> Double {
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    /// `1...8 cables down`, `each cable at 50% with probability 0.001`.
    static func describe(_ shape: RandomFaults) -> String {
        let what: String
        switch shape.effect {
        case .down: what = "down"
        default: what = String(Fault(.link(.spine(0), shape.effect)).description.dropFirst("spine 0 ".count))
        }
        switch shape.count {
        case .range(let r): return "\(r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)...\(r.upperBound)") cables \(what)"
        case .fraction(let p): return "each cable \(what) with probability \(p)"
        }
    }
}
