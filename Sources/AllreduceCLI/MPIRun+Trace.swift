import CollectiveCore
import CollectiveFabric
import CollectiveMPI
import CollectiveSim

/// `allreduce mpi --trace FILE.json` on rank 0: each traced call (``MPITracedRun``) becomes a
/// process of measured rank tracks in one Chrome / Perfetto trace, written by the same
/// ``ChromeTraceWriter`` as `simulate --trace`; with `--predict`, the simulator's play of the same
/// schedule, size and rank layout follows it as its own processes (ranks, links, critical path),
/// so that measured and predicted line up in one view. Streams: nothing is kept between calls.
final class MPITraceFile {
    let path: String
    let sink: FileTraceSink
    let writer: ChromeTraceWriter
    /// Calls written, and those with a prediction beside them.
    var calls = 0, predicted = 0
    /// The measured processes' slices, summed.
    var measured = MeasuredTimelineTrace.Summary()
    var droppedRecords = 0
    var sampling: TraceRankSampling?
    var problem: String?

    /// Process ids per traced call: measured `10k + 1` (sorted first), the prediction's `10k + 2` (ranks), `+ 3` (links), `+ 4` (critical path).
    static let pidsPerCall = 10

    init(path: String) throws {
        self.path = path
        do { sink = try FileTraceSink(path: path) } catch { throw CLIError("--trace: \(error)") }
        writer = ChromeTraceWriter(sink: sink)
    }

    /// Writes one traced call, and with `prediction` the simulator's play of `parameters`.
    /// `traceRanks`: `--trace-ranks`, which samples the predicted ranks as the measured ones.
    func add(_ run: MPITracedRun, ranks: Int, transport: String, traceRanks: Int, prediction: MPIPrediction?, parameters: ScheduleParameters) {
        let base = calls * Self.pidsPerCall
        calls += 1
        sampling = run.sampling
        let size = ByteCount.format(run.sizeBytes)
        let s = MeasuredTimelineTrace.write(
            run.records, into: writer, pid: base + 1, sortIndex: base,
            title: "measured: \(run.name), \(size) per rank, \(ranks) rank\(ranks == 1 ? "" : "s") under mpirun (\(transport))",
            sampling: run.sampling, droppedRecords: run.droppedRecords, callName: run.callName)
        measured.slices += s.slices
        measured.slicesLeftOut += s.slicesLeftOut
        droppedRecords += run.droppedRecords
        guard let prediction, case .schedule(let algorithm) = run.choice else { return }
        do {
            let expected = try prediction.simulator.time(algorithm, parameters: parameters)
            var limits = ChromeTraceRecorder.Limits()
            limits.ranks = traceRanks
            let recorder = ChromeTraceRecorder(
                fabric: prediction.simulator.fabric, writer: writer, pidBase: base + 1,
                title: "predicted: \(run.name), \(size) per rank, \(prediction.simulator.fabric.topology.name) (simulated)",
                expectedSeconds: expected.timeSeconds, limits: limits)
            let played = try prediction.simulator.time(algorithm, parameters: parameters, observer: recorder)
            recorder.finish(totalSeconds: played.timeSeconds)
            predicted += 1
        } catch {
            problem = problem ?? "--trace: the prediction of \(run.name) at \(size) could not be traced: \(error)"
        }
    }

    /// Ends the document; returns the footer line.
    func close() throws -> String {
        writer.close(otherData: "\"calls\":\(calls)")
        do { try sink.close() } catch { throw CLIError("--trace: \(error)") }
        var parts = ["\(calls) measured call\(calls == 1 ? "" : "s") (one per size and algorithm, untimed, after a barrier)", "\(measured.slices) measured slices"]
        if let sampling { parts.append(sampling.stride > 1 ? sampling.note + " by --trace-ranks" : "\(sampling.tracedCount) of \(sampling.rankCount) ranks") }
        if predicted > 0 { parts.append("\(predicted) predicted beside them") }
        if droppedRecords > 0 { parts.append("\(droppedRecords) steps not recorded (beyond the per-rank limit)") }
        if measured.slicesLeftOut > 0 { parts.append("\(measured.slicesLeftOut) slices left out (too many at once on a rank)") }
        if let problem { parts.append(problem) }
        return "trace: \(path) (\(parts.joined(separator: ", ")))"
    }
}
