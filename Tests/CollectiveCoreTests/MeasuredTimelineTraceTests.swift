import CollectiveCore
import Testing
import _TestSupport

/// Records as an executor would keep them for `schedule`: rank r's step k issued at 10k us, its
/// message done 15 us later (so a rank's consecutive steps overlap), a reduction of 3 us after
/// it (staged ones 2 us later).
func syntheticRecords(_ schedule: some Schedule, elementSizeBytes: Int = 4, ranks: [Int]? = nil) -> [StepTimelineRecord] {
    var out: [StepTimelineRecord] = []
    for r in ranks ?? Array(0..<schedule.rankCount) {
        for (k, step) in schedule.steps(forRank: r).enumerated() {
            let start = Double(k) * 10e-6, arrived = start + 15e-6
            let reduceBegin = step.kind == .recvReduce ? arrived + (step.reduceAfter == nil ? 0 : 2e-6) : nil
            out.append(StepTimelineRecord(kind: .init(step.kind), rank: r, stepIndex: k, peer: step.peer, chunk: step.chunk,
                                          bytes: step.count * elementSizeBytes, startSeconds: start, transferEndSeconds: arrived,
                                          reduceBeginSeconds: reduceBegin, endSeconds: reduceBegin.map { $0 + 3e-6 }))
        }
    }
    return out
}

/// Writes `records` as a whole document with one measured process (pid 1).
func measuredDocument(_ records: [StepTimelineRecord], sampling: TraceRankSampling, dropped: Int = 0, tracksPerRank: Int = 32)
    throws -> (trace: LoadedTrace, summary: MeasuredTimelineTrace.Summary)
{
    let sink = StringTraceSink()
    let writer = ChromeTraceWriter(sink: sink)
    let summary = MeasuredTimelineTrace.write(records, into: writer, pid: 1, sortIndex: 0, title: "measured: test", sampling: sampling,
                                              droppedRecords: dropped, callName: "MPI_Allreduce", tracksPerRank: tracksPerRank)
    writer.close(otherData: "\"calls\":1")
    return (try LoadedTrace(sink.text), summary)
}

func ringParameters(ranks: Int, bytes: Int, chunkBytes: Int) -> ScheduleParameters {
    ScheduleParameters(rankCount: ranks, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: chunkBytes, ranksPerNode: ranks)
}

@Suite("Measured step timelines as Chrome / Perfetto traces")
struct MeasuredTimelineTraceTests {
    @Test("recorded steps pass the trace checks the simulated traces pass: fields, named tracks, nesting")
    func schema() throws {
        let ring = try RingSchedule(ringParameters(ranks: 4, bytes: 1 << 20, chunkBytes: 64 << 10))
        let records = syntheticRecords(ring)
        let (trace, summary) = try measuredDocument(records, sampling: TraceRankSampling(rankCount: 4, limit: 64))
        #expect(trace.schemaProblems == [])
        #expect(trace.nestingProblems == [])
        #expect(trace.slicePids == [1])
        #expect(trace.metadata("process_name", pid: 1) as? String == "measured: test")
        #expect(trace.otherData["calls"] as? Int == 1)
        // A slice per step, and one more per recvReduce (its reduction); nothing left out.
        let reduces = records.filter { $0.kind == .recvReduce }.count
        #expect(summary.slices == records.count + reduces && summary.slicesLeftOut == 0)
        #expect(trace.spans(pid: 1).count == summary.slices)
    }

    @Test("each slice names its peer, bytes, chunk and step, on its rank's tracks; reductions nest in their receive")
    func slices() throws {
        let ring = try RingSchedule(ringParameters(ranks: 3, bytes: 3 << 16, chunkBytes: 1 << 14))
        let (trace, _) = try measuredDocument(syntheticRecords(ring), sampling: TraceRankSampling(rankCount: 3, limit: 64))
        let spans = trace.spans(pid: 1)
        for s in spans {
            let rank = s.tid / 64
            let step = ring.steps(forRank: rank)[s.args["step"] as! Int]
            #expect(s.args["peer"] as? Int == step.peer && s.args["bytes"] as? Int == step.count * 4 && s.args["chunk"] as? Int == step.chunk)
            switch step.kind {
            case .send: #expect(s.name == "send c\(step.chunk) → \(step.peer)")
            case .recvCopy: #expect(s.name == "recv c\(step.chunk) ← \(step.peer)" && s.args["reduce"] as? Bool == false)
            case .recvReduce: #expect(s.name == "recv c\(step.chunk) ← \(step.peer)" || s.name == "reduce c\(step.chunk)")
            }
        }
        for reduce in spans where reduce.name.hasPrefix("reduce") {
            let receive = spans.first { $0.tid == reduce.tid && $0.name.hasPrefix("recv") && $0.args["step"] as? Int == reduce.args["step"] as? Int }
            #expect(receive != nil && receive!.begin <= reduce.begin && reduce.end <= receive!.end)
        }
        // Overlapping steps of a rank spread over its extra tracks, each named.
        #expect(trace.metadata("thread_name", pid: 1, tid: 1) as? String == "rank 0 (2)")
    }

    @Test("beyond the tracks a rank may use, slices are counted out and the process says so")
    func tracksPerRank() throws {
        let ring = try RingSchedule(ringParameters(ranks: 4, bytes: 1 << 20, chunkBytes: 64 << 10))
        let (trace, summary) = try measuredDocument(syntheticRecords(ring), sampling: TraceRankSampling(rankCount: 4, limit: 64), tracksPerRank: 1)
        #expect(summary.slicesLeftOut > 0)
        #expect(trace.nestingProblems == [])
        let label = try #require(trace.metadata("process_labels", pid: 1, key: "labels") as? String)
        #expect(label.contains("\(summary.slicesLeftOut) slices left out"))
    }

    @Test("sampled ranks and steps the ranks did not keep are said in the label")
    func sampling() throws {
        let sampling = TraceRankSampling(rankCount: 16, limit: 4)
        #expect(sampling.stride == 4 && sampling.tracedCount == 4)
        #expect((0..<16).filter(sampling.isTraced) == [0, 4, 8, 12])
        let ring = try RingSchedule(ringParameters(ranks: 16, bytes: 1 << 20, chunkBytes: 1 << 20))
        let (trace, _) = try measuredDocument(syntheticRecords(ring, ranks: [0, 4, 8, 12]), sampling: sampling, dropped: 7)
        #expect(Set(trace.spans(pid: 1).map { $0.tid / 64 }) == [0, 4, 8, 12])
        let label = try #require(trace.metadata("process_labels", pid: 1, key: "labels") as? String)
        #expect(label.contains("4 of 16 ranks traced (every 4th: 0, 4, 8, ...)") && label.contains("7 steps not recorded"))
    }

    @Test("a call without steps is one slice per rank, named as asked")
    func call() throws {
        let records = (0..<3).map { StepTimelineRecord(kind: .call, rank: $0, stepIndex: -1, peer: -1, chunk: 0, bytes: 4096,
                                                        startSeconds: 0, transferEndSeconds: 20e-6 + Double($0) * 1e-6) }
        let (trace, _) = try measuredDocument(records, sampling: TraceRankSampling(rankCount: 3, limit: 64))
        #expect(trace.schemaProblems == [])
        let spans = trace.spans(pid: 1)
        #expect(spans.count == 3 && spans.allSatisfy { $0.name == "MPI_Allreduce" && $0.args["bytes"] as? Int == 4096 })
        #expect(abs(spans.first { $0.tid == 128 }!.end - 22) < 1e-9)
    }

    @Test("a rank's timeline keeps at most its capacity and counts the rest")
    func timelineCapacity() {
        var timeline = StepTimeline(capacity: 2)
        for k in 0..<5 {
            timeline.append(StepTimelineRecord(kind: .send, rank: 0, stepIndex: k, peer: 1, chunk: 0, bytes: 8, startSeconds: 0, transferEndSeconds: 1))
        }
        #expect(timeline.records.map(\.stepIndex) == [0, 1] && timeline.droppedCount == 3)
        timeline.removeAll()
        #expect(timeline.records.isEmpty && timeline.droppedCount == 0)
    }
}
