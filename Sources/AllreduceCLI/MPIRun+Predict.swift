import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
import CollectiveMPI
import CollectiveSim

extension MPIRun {
    /// `--predict` given without a file (last, or followed by another option) reads as
    /// `--predict calibrate`: ArgumentParser has no option with an optional value.
    static func withBarePredict(_ arguments: [String]) -> [String] {
        guard arguments.first == "mpi" else { return arguments }
        var out: [String] = []
        for (k, a) in arguments.enumerated() {
            out.append(a)
            if a == "--predict" && (k + 1 == arguments.count || arguments[k + 1].hasPrefix("-")) { out.append(MPIPrediction.calibrateFirst) }
        }
        return out
    }
}

/// `allreduce mpi --predict [FILE]`: the simulator's time for the schedule each measured row ran
/// (same algorithm, size, chunk, channels and rank layout) on the topology in FILE, or on the
/// cluster a calibration run measures first.
struct MPIPrediction {
    /// The `--predict` value that calibrates first.
    static let calibrateFirst = "calibrate"
    /// Iterations per probe of that calibration, and of each drift reading, which repeats its
    /// transfer probe the same way (with 10 runs the readings sat 10-20% below the calibration's
    /// figure in three quiet launches of the 2-vCPU guest this was written on).
    static let calibrationIterations = 50

    let simulator: Simulator
    /// Where the topology came from, for the footer.
    let source: String
    /// Per algorithm (as asked), the |ln(predicted / measured)| of its rows.
    var logErrors: [String: [Double]] = [:]

    /// The run's cluster from `topology`: its nodes and ranks per node as MPI reports them (a
    /// CPU cluster file describes one node of ranks sharing its memory; the count follows the run).
    init(topology file: Topology, nodes: Int, ranksPerNode: Int, ranks: Int, source: String) throws {
        guard nodes * ranksPerNode == ranks else {
            throw CLIError("--predict needs the same number of ranks on every node (\(ranks) ranks, \(ranksPerNode) on the first of \(nodes) nodes)")
        }
        let fabric: FabricMap
        do { fabric = try FabricMap(file.shaped(nodes: nodes, ranksPerNode: ranksPerNode)) } catch { throw CLIError("--predict: \(source): \(error)") }
        simulator = Simulator(fabric: fabric, model: .event)
        self.source = source
    }

    /// The predicted time of `algorithm` for `parameters`, microseconds, and records its error
    /// against `measuredMicroseconds` under `group` (nil for rows no schedule ran: mpi, memcpy).
    mutating func predict(_ choice: MPIAlgorithmChoice, parameters: ScheduleParameters, measuredMicroseconds: Double) throws -> Double? {
        guard case .schedule(let algorithm) = choice else { return nil }
        let predicted = try simulator.time(algorithm, parameters: parameters).timeSeconds * 1e6
        if measuredMicroseconds > 0 && predicted > 0 {
            logErrors[choice.description, default: []].append(PredictionError.logError(predicted: predicted, measured: measuredMicroseconds))
        }
        return predicted
    }

    /// The footer line: geometric-mean |error| per algorithm, in `order`.
    func footer(order: [String]) -> String {
        let parts = order.compactMap { name in
            logErrors[name].map { "\(name) \(formatFixed(PredictionError.geometricMean(logErrors: $0) * 100, decimals: 1))% (\($0.count) sizes)" }
        }
        return "predicted by the event model on \(source) (\(simulator.fabric.topology.name)); geometric-mean |error| exp(mean |ln(predicted/measured)|) - 1: " + (parts.isEmpty ? "no schedule rows" : parts.joined(separator: ", "))
    }

    /// The two columns `--predict` adds.
    static let columns = [
        ReportColumn(key: "predicted_us", title: "predicted", unit: "(us)", kind: .number(decimals: 2)),
        ReportColumn(key: "error", title: "error", unit: "(%)", kind: .number(decimals: 1)),
    ]

    /// The cells of those columns: the prediction and (predicted - measured) / measured in percent.
    static func cells(predicted: Double?, measuredMicroseconds: Double) -> [ReportValue] {
        guard let predicted else { return [.number(.nan), .number(.nan)] }
        return [.number(predicted), .number((predicted / measuredMicroseconds - 1) * 100)]
    }
}

/// Whether the machine kept its speed through an `allreduce mpi --predict` run: before each size
/// and after the last, the node's same-node transfer rate at the probe (``MPICalibration/nodeTransferGBps``, as the
/// calibration measures it), beside the topology's. A virtual machine can change the speed of its
/// memory for seconds or minutes at a time; a prediction is only as good as the state its
/// calibration saw, and `Scripts/check-predict` tells a drifted run from a missed target so.
struct MPIDriftProbe {
    let probeBytes: Int
    /// Per step, what the model adds anyway (the same-node latency and the step overhead).
    let fixedSecondsPerStep: Double
    /// The topology's node transfer rate, GB/s (nil: none to compare).
    let referenceGBps: Double?
    /// One reading before each size so far (and one after the last), GB/s.
    var readings: [Double] = []

    /// The probe of `allreduce mpi --predict` without a file: the run's chunk as a whole number
    /// of 16-byte groups, 64 B to 1 GiB.
    static func probeBytes(chunkBytes: Int) -> Int { min(max(chunkBytes / 16 * 16, 64), 1 << 30) }

    /// Nil when the topology's node has one rank or no memory (nothing shared to read).
    init?(topology: Topology, chunkBytes: Int) {
        guard topology.node.gpuCount > 1, let memory = topology.node.memory else { return nil }
        probeBytes = Self.probeBytes(chunkBytes: chunkBytes)
        fixedSecondsPerStep = ((topology.node.pcie?.latencyMicroseconds ?? 0) + topology.node.stepOverheadMicroseconds) * 1e-6
        referenceGBps = memory.transferGBps
    }

#if MPI
    /// Reads the rate now (collective: every rank calls it).
    mutating func read(_ world: Communicator) {
        if let r = MPICalibration.nodeTransferGBps(world, probeBytes: probeBytes, runs: MPIPrediction.calibrationIterations, fixedSecondsPerStep: fixedSecondsPerStep) {
            readings.append(PhysicalUnit.rounded(r, significantDigits: 4))
        }
    }
#endif

    /// The largest reading (or the topology's rate) over the smallest.
    var spread: Double? {
        let all = readings + (referenceGBps.map { [$0] } ?? [])
        guard all.count > 1, let low = all.min(), let high = all.max(), low > 0 else { return nil }
        return high / low
    }

    /// `drift: ... max/min 1.23 x`, or nil before any reading.
    var footer: String? {
        guard let spread, let low = readings.min(), let high = readings.max() else { return nil }
        let probe = ByteCount.format(probeBytes)
        let reference = referenceGBps.map { ", \(PhysicalUnit.formatBandwidth($0)) in the topology" } ?? ""
        let range = low == high ? PhysicalUnit.formatBandwidth(low) : "\(PhysicalUnit.formatBandwidth(low))-\(PhysicalUnit.formatBandwidth(high))"
        let inOrder = readings.count > 1 ? " (in order: \(readings.map { formatFixed($0, decimals: 2) }.joined(separator: " ")) GB/s)" : ""
        return "drift: the node's transfers of \(probe) messages (our ring all-gather) read \(range)"
            + " before each of the \(readings.count - 1) size\(readings.count == 2 ? "" : "s") and after the last\(inOrder)\(reference); max/min \(formatFixed(spread, decimals: 2)) x"
    }
}
