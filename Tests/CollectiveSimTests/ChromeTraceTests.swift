import CollectiveCore
import CollectiveFabric
import CollectiveKernels
@testable import CollectiveSim
import Foundation
import Testing
import _TestSupport

/// Plays `schedule` on `fabric` with a recorder into a string; returns the run and the trace.
func tracedRun(_ fabric: FabricMap, _ schedule: some Schedule, limits: ChromeTraceRecorder.Limits = .init())
    throws -> (result: EventResult, trace: LoadedTrace, text: String, summary: ChromeTraceRecorder.Summary)
{
    let expected = try EventEngine(fabric: fabric).run(schedule, elementSizeBytes: 4)
    let sink = StringTraceSink()
    let recorder = ChromeTraceRecorder(fabric: fabric, sink: sink, title: "test", expectedSeconds: expected.timeSeconds, limits: limits)
    var engine = EventEngine(fabric: fabric)
    engine.observer = recorder
    let result = try engine.run(schedule, elementSizeBytes: 4)
    let summary = recorder.finish(totalSeconds: result.timeSeconds)
    return (result, try LoadedTrace(sink.text), sink.text, summary)
}

func switchRing(ranks: Int, bytes: Int, chunkBytes: Int = ScheduleParameters.defaultChunkBytes) throws -> (FabricMap, RingSchedule) {
    let fabric = try FabricMap(Topology.switchCluster(ranks: ranks, bandwidthGBps: 100, latencyMicroseconds: 1))
    let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: chunkBytes)
    return (fabric, try RingSchedule(params))
}

@Suite("Chrome / Perfetto traces of the event engine")
struct ChromeTraceTests {
    @Test("every event carries the fields Perfetto reads, and every track is named")
    func fields() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!.with(nodes: 2))
        let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: 1 << 20, elementSizeBytes: 4, chunkBytes: 1 << 18)
        let run = try tracedRun(fabric, try HierarchicalSchedule(params))
        #expect(!run.trace.events.isEmpty)
        #expect(run.trace.schemaProblems == [])
        for pid in 1...3 { #expect(run.trace.metadata("process_name", pid: pid) is String) }
        // Ranks, links and the critical path all have slices.
        #expect(run.trace.slicePids == [1, 2, 3])
    }

    @Test("slices on one track nest or follow each other, as Perfetto needs")
    func nesting() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!.with(nodes: 2))
        let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: 1 << 22, elementSizeBytes: 4, chunkBytes: 1 << 17)
        let run = try tracedRun(fabric, try HierarchicalSchedule(params))
        #expect(run.trace.nestingProblems == [])
    }

    @Test("one send and one receive slice per transfer, naming chunk, peer and bytes")
    func rankSlices() throws {
        let (fabric, ring) = try switchRing(ranks: 4, bytes: 4 << 20, chunkBytes: 256 << 10)
        let run = try tracedRun(fabric, ring)
        let spans = run.trace.spans(pid: 1)
        let sends = spans.filter { $0.name.hasPrefix("send") }, receives = spans.filter { $0.name.hasPrefix("recv") }
        let reduces = spans.filter { $0.name.hasPrefix("reduce") }
        #expect(sends.count == run.result.statistics.transfers)
        #expect(receives.count == run.result.statistics.transfers)
        #expect(run.summary.transfers == run.result.statistics.transfers)
        // Ring: the reduce-scatter half of every rank's receives reduce; switch reduces for free.
        #expect(reduces.isEmpty == (fabric.gammaSecondsPerByte == 0))
        // 1 MiB shards in 256 KiB chunks: chunks 0...3, each of 256 KiB.
        #expect(Set(sends.map { $0.args["chunk"] as! Int }) == [0, 1, 2, 3])
        #expect(sends.allSatisfy { $0.args["bytes"] as? Int == 256 << 10 })
        for s in sends {
            let rank = s.tid / 64, peer = s.args["peer"] as! Int
            #expect(peer == (rank + 1) % 4)
            #expect(s.name.hasSuffix("→ \(peer)"))
        }
        for r in receives { #expect(r.args["peer"] as! Int == (r.tid / 64 + 3) % 4) }
    }

    @Test("link spans add up to the bytes each link carried, and the counters to the same busy time")
    func links() throws {
        let (fabric, ring) = try switchRing(ranks: 8, bytes: 8 << 20, chunkBytes: 512 << 10)
        let run = try tracedRun(fabric, ring)
        let spans = run.trace.spans(pid: 2)
        var busy: [Int: Double] = [:], bytes: [Int: Int] = [:]
        for s in spans {
            busy[s.tid, default: 0] += s.end - s.begin
            bytes[s.tid, default: 0] += s.args["bytes"] as! Int
        }
        // On a switch each rank has a port out and a port in: 16 links, every one used.
        #expect(busy.count == 16)
        let rate = fabric.linkBytesPerSecond(0)
        for (tid, b) in bytes { #expect(abs(busy[tid]! - Double(b) / rate * 1e6) < 1e-3 * Double(spans.count)) }
        // Utilization intervals: 1 % of the run each; the counter's integral is the busy time.
        let bin = run.result.timeSeconds * 1e6 / 100
        var integral: [String: Double] = [:]
        for e in run.trace.events where e["ph"] as? String == "C" {
            integral[e["name"] as! String, default: 0] += ((e["args"] as! [String: Any])["busy %"] as! Double) / 100 * bin
        }
        #expect(integral.count == 16)
        for tid in busy.keys {
            let name = run.trace.metadata("thread_name", pid: 2, tid: tid) as! String
            let counted = try #require(integral[name + " utilization"])
            // The counter's values are rounded to 0.1 %.
            #expect(abs(counted - busy[tid]!) <= 0.0005 * bin * 100 + 1e-6, "\(name): counter \(counted) us, spans \(busy[tid]!) us")
        }
    }

    @Test("the critical path runs from 0 to the finishing time; on a ring it is every step of one rank",
          arguments: [4, 8])
    func criticalPath(ranks: Int) throws {
        let (fabric, ring) = try switchRing(ranks: ranks, bytes: ranks << 20)
        let run = try tracedRun(fabric, ring)
        let path = run.trace.spans(pid: 3).sorted { $0.begin < $1.begin }
        #expect(run.summary.criticalPathTransfers == path.count)
        // 2(p - 1) steps of one chunk, each started by the completion before it.
        #expect(path.count == 2 * (ranks - 1))
        #expect(path.first?.begin == 0)
        for (a, b) in zip(path, path.dropFirst()) {
            #expect(abs(a.end - b.begin) < 1e-9)
            #expect(b.args["started_by"] as? String == "the completion before it")
        }
        #expect(abs(path.last!.end - run.result.timeSeconds * 1e6) < 1e-3)
    }

    @Test("a transfer that waited for a link is started by the one that held it")
    func linkWait() throws {
        // On a switch each rank has one port out: a tree's parent sends to its two children
        // through it, one after the other, so the second waits for the port.
        let fabric = try FabricMap(Topology.switchCluster(ranks: 8, bandwidthGBps: 10, latencyMicroseconds: 1))
        let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: 1 << 20, elementSizeBytes: 4, chunkBytes: 1 << 22)
        let run = try tracedRun(fabric, try TreeSchedule(params))
        let path = run.trace.spans(pid: 3)
        let reasons = Set(path.compactMap { $0.args["started_by"] as? String })
        #expect(reasons.contains { $0.hasPrefix("the link ") && $0.hasSuffix(" becoming free") })
        #expect(abs(path.map(\.end).max()! - run.result.timeSeconds * 1e6) < 1e-3)
    }

    @Test("beyond the rank limit every k-th rank is traced, and the trace says so")
    func sampling() throws {
        let (fabric, ring) = try switchRing(ranks: 16, bytes: 16 << 20)
        var limits = ChromeTraceRecorder.Limits()
        limits.ranks = 4
        let run = try tracedRun(fabric, ring, limits: limits)
        let ranks = Set(run.trace.spans(pid: 1).map { $0.tid / 64 })
        #expect(ranks == [0, 4, 8, 12])
        #expect(run.summary.tracedRanks == 4)
        let label = try #require(run.trace.metadata("process_labels", pid: 1, key: "labels") as? String)
        #expect(label.contains("4 of 16 ranks traced"))
        // Every transfer still counts for the critical path.
        #expect(run.summary.criticalPathTransfers == 30)
    }

    @Test("past the critical path's limit the trace says it was not followed")
    func criticalPathLimit() throws {
        let (fabric, ring) = try switchRing(ranks: 4, bytes: 4 << 20)
        var limits = ChromeTraceRecorder.Limits()
        limits.criticalPathTransfers = 5
        let run = try tracedRun(fabric, ring, limits: limits)
        #expect(run.summary.criticalPathTransfers == nil)
        #expect(run.trace.spans(pid: 3).isEmpty)
        let label = try #require(run.trace.metadata("process_labels", pid: 3, key: "labels") as? String)
        #expect(label.contains("not followed"))
    }

    @Test("watching changes nothing, and the same run writes the same trace")
    func deterministic() throws {
        let (fabric, ring) = try switchRing(ranks: 6, bytes: 6 << 20, chunkBytes: 1 << 19)
        let a = try tracedRun(fabric, ring), b = try tracedRun(fabric, ring)
        let plain = try EventEngine(fabric: fabric).run(ring, elementSizeBytes: 4)
        #expect(a.result.timeSeconds == plain.timeSeconds)
        #expect(a.result.statistics.events == plain.statistics.events)
        #expect(a.text == b.text)
    }

    @Test("NCCL's plans: lanes on the rank tracks, the launch first on the critical path")
    func nccl() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!)
        let simulator = Simulator(fabric: fabric, model: .event)
        let count = 1 << 22
        let plain = try simulator.timeNCCL(elementCount: count, dataType: .float32)
        let sink = StringTraceSink()
        let recorder = ChromeTraceRecorder(fabric: fabric, sink: sink, title: "nccl", expectedSeconds: plain.timeSeconds,
                                           launchSeconds: plain.launchSeconds)
        let traced = try simulator.timeNCCL(elementCount: count, dataType: .float32, observer: recorder)
        recorder.finish(totalSeconds: traced.timeSeconds)
        #expect(traced.timeSeconds == plain.timeSeconds)
        #expect(plain.launchSeconds > 0)
        let trace = try LoadedTrace(sink.text)
        let lanes = Set(trace.spans(pid: 1).map { $0.args["lane"] as! Int })
        #expect(lanes.count == plain.ncclPlan!.channels)
        let path = trace.spans(pid: 3).sorted { $0.begin < $1.begin }
        #expect(path.first?.name == "launch")
        #expect(abs(path.first!.end - plain.launchSeconds * 1e6) < 1e-3)
        #expect(abs(path.last!.end - traced.timeSeconds * 1e6) < 1e-3)
    }
}

@Suite("Measured and predicted in one trace")
struct SharedTraceTests {
    @Test("a measured process and a recorder at a pid offset share one document that passes the trace checks")
    func measuredBesidePredicted() throws {
        let (fabric, ring) = try switchRing(ranks: 4, bytes: 4 << 20, chunkBytes: 256 << 10)
        let expected = try EventEngine(fabric: fabric).run(ring, elementSizeBytes: 4)
        let sink = StringTraceSink()
        let writer = ChromeTraceWriter(sink: sink)
        // The measured steps: each rank's steps back to back, 10 us each.
        var records: [StepTimelineRecord] = []
        for r in 0..<4 {
            for (k, step) in ring.steps(forRank: r).enumerated() {
                records.append(StepTimelineRecord(kind: .init(step.kind), rank: r, stepIndex: k, peer: step.peer, chunk: step.chunk,
                                                  bytes: step.count * 4, startSeconds: Double(k) * 10e-6, transferEndSeconds: Double(k + 1) * 10e-6))
            }
        }
        MeasuredTimelineTrace.write(records, into: writer, pid: 1, sortIndex: 0, title: "measured: ring", sampling: TraceRankSampling(rankCount: 4, limit: 64))
        let recorder = ChromeTraceRecorder(fabric: fabric, writer: writer, pidBase: 1, title: "predicted: ring", expectedSeconds: expected.timeSeconds)
        var engine = EventEngine(fabric: fabric)
        engine.observer = recorder
        let played = try engine.run(ring, elementSizeBytes: 4)
        recorder.finish(totalSeconds: played.timeSeconds)
        writer.close(otherData: "\"calls\":1")
        let trace = try LoadedTrace(sink.text)
        #expect(trace.schemaProblems == [])
        #expect(trace.nestingProblems == [])
        #expect(trace.slicePids == [1, 2, 3, 4])
        #expect(trace.metadata("process_name", pid: 1) as? String == "measured: ring")
        #expect(trace.metadata("process_name", pid: 2) as? String == "ranks: predicted: ring")
        #expect(trace.metadata("process_name", pid: 3) as? String == "links: predicted: ring")
        #expect(trace.metadata("process_name", pid: 4) as? String == "critical path: predicted: ring")
        // Rank tracks line up: the same tids in both processes.
        #expect(Set(trace.spans(pid: 1).map { $0.tid / 64 }) == Set(trace.spans(pid: 2).map { $0.tid / 64 }))
        // The predicted ranks hold the same transfers as a recorder alone writes.
        let alone = try tracedRun(fabric, ring)
        #expect(trace.spans(pid: 2).count == alone.trace.spans(pid: 1).count)
        #expect(trace.otherData["calls"] as? Int == 1)
    }
}
