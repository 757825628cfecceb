import CollectiveCore
import CollectiveFabric
import CollectiveKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One published nccl-tests measurement (a row of `Data/nccl-tests-published.tsv`).
public struct PublishedPoint: Sendable, Hashable {
    /// What the value measures.
    public enum Metric: String, Sendable, Hashable {
        /// nccl-tests' busbw, GB/s.
        case busBandwidthGBps = "busbw"
        /// Time of one allreduce, microseconds.
        case timeMicroseconds = "time"
    }

    /// The preset.
    public var system: String
    public var nodes: Int
    public var gpusPerNode: Int
    /// Bytes per rank.
    public var bytes: Int
    public var value: Double
    public var metric: Metric
    /// What NCCL ran: `auto`, `ring`, `tree`, `nvls`, `nvls-tree`, `ring-1channel`.
    public var algorithm: String
    public var source: String

    /// Whether NVLink SHARP decided the published figure.
    public var isNVLS: Bool { algorithm.hasPrefix("nvls") }
}

/// The published measurements, and how the simulator does against them.
public enum PublishedMeasurements {
    /// Parses the tab-separated file: `#` lines are comments, except that rows after the comment
    /// `# small-message latency ...` give times in microseconds instead of busbw. Throws a one-line
    /// message naming the line on a malformed row.
    public static func parse(_ text: String) throws -> [PublishedPoint] {
        var out: [PublishedPoint] = []
        var metric = PublishedPoint.Metric.busBandwidthGBps
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = _trimmed(raw)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                if _trimmed(line.dropFirst()).lowercased().hasPrefix("small-message latency") { metric = .timeMicroseconds }
                continue
            }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { _trimmed($0) }
            guard f.count >= 6, let nodes = Int(f[1]), nodes >= 1, let gpus = Int(f[2]), gpus >= 1, let bytes = Int(f[3]), bytes >= 1,
                  let value = Double(f[4]), value > 0, value.isFinite
            else {
                throw SimulationError("line \(i + 1): expected 'system<TAB>nodes<TAB>gpus<TAB>bytes<TAB>value<TAB>algorithm<TAB>source' with positive numbers")
            }
            out.append(PublishedPoint(system: f[0], nodes: nodes, gpusPerNode: gpus, bytes: bytes, value: value, metric: metric,
                                      algorithm: f[5].lowercased(), source: f.count > 6 ? f[6] : ""))
        }
        return out
    }

    /// The points of `points` measured on `fabric`'s cluster: the same preset, node count and GPUs
    /// per node.
    public static func points(_ points: [PublishedPoint], on fabric: FabricMap) -> [PublishedPoint] {
        points.filter {
            $0.system == fabric.topology.name && $0.nodes == fabric.nodeCount && $0.gpusPerNode == fabric.gpusPerNode
        }
    }

    /// One point, simulated.
    public struct Comparison: Sendable {
        public var point: PublishedPoint
        /// The simulated figure, in the point's metric.
        public var simulated: Double
        /// What was played (`ring/LL128/24ch`).
        public var played: String
        /// simulated / published - 1.
        public var error: Double { simulated / point.value - 1 }
        /// |ln(simulated / published)|: the error as a ratio, the same for 2x over and 2x under.
        public var logError: Double { PredictionError.logError(predicted: simulated, measured: point.value) }
    }

    /// Simulates `point` as a new user would: the preset with `nodes` nodes, using the first
    /// `gpus` GPUs of each (``Topology/with(gpusPerNode:)``; more than the preset has is an error), float elements,
    /// NCCL's choice played by the event engine, with the algorithm (and for `ring-1channel`
    /// the channel count) forced as the measurement forced it. `nvls` and `auto` points play
    /// NCCL's choice, NVLS included where the node's NVSwitch reduces (one node); `ring` points
    /// force the ring, as the measurements that turned NVLS off did. NVLS tree (NVLS inside
    /// nodes, trees between them) is not picked (``NCCLModel/algorithms``): across nodes without
    /// SHARP NCCL's choice is ring or tree here.
    public static func simulate(_ point: PublishedPoint) throws -> Comparison {
        guard let preset = Topology.preset(point.system) else {
            throw SimulationError("unknown system '\(point.system)' (presets: \(Topology.presetNames.joined(separator: ", ")))")
        }
        guard point.gpusPerNode <= preset.node.gpuCount else {
            throw SimulationError("\(point.system) has \(preset.node.gpuCount) GPUs per node, the point \(point.gpusPerNode)")
        }
        let fabric = try FabricMap(preset.with(gpusPerNode: point.gpusPerNode).with(nodes: point.nodes))
        var algorithm: NCCLAlgorithm? = nil
        var channels: Int? = nil
        switch point.algorithm {
        case "ring": algorithm = .ring
        case "tree": algorithm = .tree
        case "ring-1channel": algorithm = .ring; channels = 1
        default: break
        }
        let type = DataType.float32
        let outcome = try Simulator(fabric: fabric, model: .event)
            .timeNCCL(elementCount: point.bytes / type.sizeInBytes, dataType: type, algorithm: algorithm, channels: channels)
        let bytes = Double(point.bytes / type.sizeInBytes * type.sizeInBytes)
        let p = Double(fabric.rankCount)
        let simulated: Double
        switch point.metric {
        case .timeMicroseconds: simulated = outcome.timeSeconds * 1e6
        case .busBandwidthGBps: simulated = bytes / outcome.timeSeconds / 1e9 * 2 * (p - 1) / p
        }
        return Comparison(point: point, simulated: simulated, played: outcome.ncclPlan.map { "\($0)" } ?? outcome.algorithm.rawValue)
    }

    /// The figures the accuracy goals are stated in.
    public struct Summary: Sendable {
        /// Median |error| of busbw at 256 MiB and above.
        public var medianLargeBusbwError: Double
        public var largeCount: Int
        /// exp(mean |ln(simulated / published)|) - 1 over the points.
        public var geometricMeanError: Double
        public var count: Int
    }

    /// The summary of `comparisons`.
    public static func summarize(_ comparisons: [Comparison]) -> Summary {
        let large = comparisons.filter { $0.point.metric == .busBandwidthGBps && $0.point.bytes >= 256 << 20 }.map { abs($0.error) }.sorted()
        let median: Double
        if large.isEmpty { median = 0 }
        else if large.count % 2 == 1 { median = large[large.count / 2] }
        else { median = (large[large.count / 2 - 1] + large[large.count / 2]) / 2 }
        return Summary(medianLargeBusbwError: median, largeCount: large.count,
                       geometricMeanError: PredictionError.geometricMean(logErrors: comparisons.map(\.logError)), count: comparisons.count)
    }
}

/// `text` without leading and trailing spaces, tabs and carriage returns.
func _trimmed(_ text: Substring) -> String {
    let blank: (Character) -> Bool = { $0 == " " || $0 == "\r" || $0 == "\t" }
    return String(text.drop(while: blank).reversed().drop(while: blank).reversed())
}
