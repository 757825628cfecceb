import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectivePlot
import CollectiveSim
import Foundation

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Time allreduces over a range of sizes, like nccl-tests.",
        discussion: """
            Sizes go from -b to -e, multiplied by -f (default 2) or, with -i, increased by -i bytes,
            as in nccl-tests. Several algorithms at once: --algorithm ring,tree,auto (auto: the
            fastest at each size). The footer gives each algorithm's average bus bandwidth and the
            sizes where the fastest algorithm changes.

            Example: allreduce sweep --topology dgx-h100 --nodes 4 -b 8 -e 8G -f 4 --algorithm ring,tree,auto
            """)

    @OptionGroup var cluster: ClusterOptions

    @OptionGroup var collective: CollectiveOptions

    @Option(name: [.customShort("b"), .customLong("minbytes")], help: "Smallest size (bytes, 1024-based suffixes).")
    var minBytes: String = "8"

    @Option(name: [.customShort("e"), .customLong("maxbytes")], help: "Largest size.")
    var maxBytes: String = "128M"

    @Option(name: [.customShort("f"), .customLong("stepfactor")], help: "Multiply the size by this at each step.")
    var stepFactor: Int = 2

    @Option(name: [.customShort("i"), .customLong("stepbytes")], help: "Add this many bytes at each step instead (overrides -f).")
    var stepBytes: String?

    @Option(name: .long, help: "Comma-separated algorithms, a line each, as simulate's: nccl, nccl:ALGO, a schedule, auto, all (every textbook schedule the model plays on this cluster; default: nccl on GPU clusters, ring,tree,auto on switch).")
    var algorithm: AlgorithmSelection<AlgorithmChoice>?

    var algorithmList: AlgorithmSelection<AlgorithmChoice> {
        algorithm ?? (cluster.topology.lowercased() == "switch" ? AlgorithmSelection(defaults: .fixed(.ring), .fixed(.tree), .auto) : AlgorithmSelection(defaults: .nccl(nil)))
    }

    @OptionGroup var output: LatencyFormatOptions

    @OptionGroup var plot: PlotOptions

    @Option(name: .customLong("plot-measured"), help: ArgumentHelp("With --plot: also draw the published measurements of this cluster (same preset, nodes and GPUs per node) from a file in the format of Data/nccl-tests-published.tsv, as solid lines.", valueName: "file.tsv"))
    var plotMeasured: String?

    @OptionGroup var progress: ProgressOptions

    /// Most sizes a sweep may have (a guard against -i 1 over gigabytes).
    static let maxSizes = 100_000

    func validate() throws {
        let lo = try parseBytes(minBytes, option: "-b")
        let hi = try parseBytes(maxBytes, option: "-e")
        guard lo <= hi else { throw ValidationError("-b (\(lo)) must not exceed -e (\(hi))") }
        if let stepBytes {
            guard try parseBytes(stepBytes, option: "-i") >= 1 else { throw ValidationError("-i must be at least 1 byte") }
        } else {
            guard stepFactor >= 2 else { throw ValidationError("-f must be at least 2, got \(stepFactor)") }
            guard lo >= 1 || lo == hi else { throw ValidationError("-b must be at least 1 with -f (0 never grows)") }
        }
        try wholeElements(lo, cluster.datatype, option: "-b")
        if let stepBytes { try wholeElements(try parseBytes(stepBytes, option: "-i"), cluster.datatype, option: "-i") }
        _ = try sizes()
        if plotMeasured != nil && plot.plot == nil { throw ValidationError("--plot-measured draws into --plot's file: give --plot too") }
    }

    /// Everything `run` checks before it times anything: the cluster, the model's memory, the
    /// work of every size and algorithm together.
    func prepare() throws -> (sim: SimulationRun, choices: [AlgorithmChoice], sizes: [Int]) {
        let sim = try cluster.simulationRun(collective: collective.collective)
        let choices = algorithmList.choices(on: sim.simulator)
        let sizes = try sizes()
        try sim.checkWork(sizes.flatMap { s in choices.map { ($0, s) } })
        return (sim, choices, sizes)
    }

    /// The sizes, as nccl-tests steps them.
    func sizes() throws -> [Int] {
        let lo = try parseBytes(minBytes, option: "-b")
        let hi = try parseBytes(maxBytes, option: "-e")
        var out: [Int] = []
        var s = lo
        if let stepBytes {
            let inc = try parseBytes(stepBytes, option: "-i")
            while s <= hi {
                out.append(s)
                if out.count > Self.maxSizes { throw ValidationError("the sweep has more than \(Self.maxSizes) sizes; raise -i") }
                let (n, o) = s.addingReportingOverflow(inc)
                if o { break }
                s = n
            }
        } else {
            while s <= hi {
                out.append(s)
                if s == 0 { break }
                let (n, o) = s.multipliedReportingOverflow(by: stepFactor)
                if o { break }
                s = n
            }
        }
        return out
    }

    func run() throws {
        var (sim, choices, sizes) = try prepare()
        var report = Report(columns: sim.columns)
        report.latencySource = "simulated on \(sim.clusterName)"
        var busSums = [Double](repeating: 0, count: choices.count)
        var fastestBySize: [(size: Int, name: String)] = []
        var lines = [[SizePoint]](repeating: [], count: choices.count)
        let sizeList = sizes
        // A point's share of the work: its bytes, plus a chunk's worth for the fixed costs.
        let weight = { (bytes: Int) in Double(bytes) + Double(sim.chunkBytes) }
        let line = ProgressLine(label: "sweep", options: progress, totalCount: sizeList.count * choices.count,
                                totalWeight: sizeList.reduce(0) { $0 + weight($1) } * Double(choices.count))
        sim.observer = line.observer
        defer { line.finish() }
        for bytes in sizeList {
            var best: (name: String, seconds: Double)?
            for (i, c) in choices.enumerated() {
                let m = try sim.measure(c, bytes: bytes)
                line.completed(weight: weight(bytes))
                report.append(m.row, group: c.name)
                if case .number(let bus) = m.row[8] {
                    busSums[i] += bus
                    if case .int(let b) = m.row[0] { lines[i].append(SizePoint(bytes: b, timeSeconds: m.outcome.timeSeconds, busbwGBps: bus)) }
                }
                if best == nil || m.outcome.timeSeconds < best!.seconds {
                    best = (m.outcome.rowName, m.outcome.timeSeconds)
                }
            }
            if let best { fastestBySize.append((bytes, best.name)) }
        }
        let n = Double(max(1, report.rows.count / max(1, choices.count)))
        if let n = sim.faultNote { report.notes.append(n) }
        report.notes.append(sim.topologyNote)
        report.notes.append(sim.bottleneckNote)
        if choices.count == 1 {
            report.notes.append("Avg bus bandwidth    : \(formatFixed(busSums[0] / n, decimals: 3))")
        } else {
            for (i, c) in choices.enumerated() {
                report.notes.append("Avg bus bandwidth (\(c.name)) : \(formatFixed(busSums[i] / n, decimals: 3))")
            }
            var changes: [String] = []
            for k in 1..<max(1, fastestBySize.count) where fastestBySize[k].name != fastestBySize[k - 1].name {
                changes.append("\(fastestBySize[k - 1].name) -> \(fastestBySize[k].name) at \(ByteCount.format(fastestBySize[k].size))")
            }
            if let first = fastestBySize.first {
                report.notes.append("fastest: \(first.name) from \(ByteCount.format(first.size))" + (changes.isEmpty ? " throughout" : "; " + changes.joined(separator: "; ")))
            }
        }
        if let n = sim.interNodeNote { report.notes.append(n) }
        if let n = sim.ncclNote { report.notes.append(n) }
        if let e = sim.engineNote { report.notes.append(e) }
        line.finish()
        if let file = plot.plot {
            let title = "\(sim.simulator.collective.rawValue) on \(sim.clusterName), \(cluster.datatype.name) \(cluster.op.rawValue): \(sim.simulator.model.rawValue) model"
                + (plotMeasured == nil ? "" : " and published measurements")
            var series: [(name: String, origin: LinePlot.Origin, points: [SizePoint])] = zip(choices, lines).map { (name: $0.name, origin: .predicted, points: $1) }
            var measured = ""
            if let path = plotMeasured {
                let published = try publishedLines(path, on: sim.fabric, sizes: (sizeList.min() ?? 0)...(sizeList.max() ?? 0))
                series = published + series
                measured = published.isEmpty ? "; no published measurements of this cluster in \(path)"
                    : "; measured: \(published.map { "\($0.name) (\($0.points.count) points)" }.joined(separator: ", ")) from \(path)"
            }
            try plot.write(LinePlot(title: title, quantity: plot.plotY, lines: series))
            report.notes.append("plot: \(file) (\(plot.plotY.axisLabel) against size, \(choices.count) predicted line\(choices.count == 1 ? "" : "s")\(measured))")
        }
        report.print(output.format)
    }

    /// The published measurements of `fabric`'s cluster in `path` within the sweep's `sizes`, one
    /// line per algorithm NCCL ran (`nccl-tests auto`), in the plot's metric.
    func publishedLines(_ path: String, on fabric: FabricMap, sizes: ClosedRange<Int>) throws -> [(name: String, origin: LinePlot.Origin, points: [SizePoint])] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CLIError("--plot-measured: cannot read '\(path)'")
        }
        let all: [PublishedPoint]
        do { all = try PublishedMeasurements.parse(text) } catch { throw CLIError("--plot-measured: \(path): \(error)") }
        let metric: PublishedPoint.Metric = plot.plotY == .busbw ? .busBandwidthGBps : .timeMicroseconds
        let mine = PublishedMeasurements.points(all, on: fabric).filter { $0.metric == metric && sizes.contains($0.bytes) }
        var names: [String] = []
        for p in mine where !names.contains(p.algorithm) { names.append(p.algorithm) }
        return names.map { name in
            let points = mine.filter { $0.algorithm == name }.sorted { $0.bytes < $1.bytes }.map {
                SizePoint(bytes: $0.bytes, timeSeconds: metric == .timeMicroseconds ? $0.value / 1e6 : .nan,
                          busbwGBps: metric == .busBandwidthGBps ? $0.value : .nan)
            }
            return (name: "nccl-tests \(name)", origin: .measured, points: points)
        }
    }
}
