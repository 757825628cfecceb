import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveSim
import Foundation

/// `allreduce accuracy`: the simulator against published nccl-tests figures, point by point.
struct Accuracy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accuracy",
        abstract: "Compare the simulator with published nccl-tests measurements.",
        discussion: """
            Reads a tab-separated file of published all_reduce_perf figures (default:
            Data/nccl-tests-published.tsv; columns system, nodes, gpus, bytes, value, algorithm,
            source), simulates each point with what NCCL would run (--algorithm nccl, played by the
            event model; the algorithm forced where the measurement forced it), and prints the
            published and simulated figures and the error. The summary gives the median |error| of
            busbw at 256 MiB and above and the geometric-mean error exp(mean |ln(sim/pub)|) - 1,
            over every point and over the points NVLink SHARP does not decide.
            """)

    @Argument(help: "The file of published figures.")
    var file: String = "Data/nccl-tests-published.tsv"

    @OptionGroup var output: FormatOptions

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw CLIError("cannot read '\(file)'")
        }
        let points: [PublishedPoint]
        do { points = try PublishedMeasurements.parse(text) } catch { throw CLIError("\(file): \(error)") }
        guard !points.isEmpty else { throw CLIError("\(file): no measurements") }
        var report = Report(columns: [
            ReportColumn(key: "system", title: "system", kind: .text),
            ReportColumn(key: "nodes", title: "nodes", kind: .integer),
            ReportColumn(key: "size", title: "size", unit: "(B)", kind: .integer),
            ReportColumn(key: "metric", title: "metric", kind: .text),
            ReportColumn(key: "published_algorithm", title: "published", unit: "algorithm", kind: .text),
            ReportColumn(key: "published", title: "published", kind: .number(decimals: 1)),
            ReportColumn(key: "simulated", title: "simulated", kind: .number(decimals: 1)),
            ReportColumn(key: "error_percent", title: "error", unit: "(%)", kind: .number(decimals: 1)),
            ReportColumn(key: "played", title: "played", kind: .text),
        ])
        var comparisons: [PublishedMeasurements.Comparison] = []
        for (i, p) in points.enumerated() {
            let c: PublishedMeasurements.Comparison
            do { c = try PublishedMeasurements.simulate(p) } catch { throw CLIError("\(file): point \(i + 1): \(error)") }
            comparisons.append(c)
            report.append([.text(p.system), .int(p.nodes), .int(p.bytes), .text(p.metric == .busBandwidthGBps ? "busbw GB/s" : "time us"),
                           .text(p.algorithm), .number(p.value), .number(c.simulated), .number(c.error * 100), .text(c.played)])
        }
        func line(_ name: String, _ cs: [PublishedMeasurements.Comparison]) -> String {
            let s = PublishedMeasurements.summarize(cs)
            return "\(name) (\(s.count) points): median |error| of busbw at >= 256 MiB \(formatFixed(s.medianLargeBusbwError * 100, decimals: 1))% over \(s.largeCount) points; geometric-mean error \(formatFixed(s.geometricMeanError * 100, decimals: 1))%"
        }
        report.notes.append(line("every point", comparisons))
        report.notes.append(line("points NVLS does not decide", comparisons.filter { !$0.point.isNVLS }))
        report.notes.append("played: NCCL's choice on the event model (the algorithm forced where the measurement forced it), NVLS included where the NVSwitch reduces (one node, or across nodes with SHARP), and NVLS tree across nodes without SHARP")
        report.print(output.format)
    }
}
