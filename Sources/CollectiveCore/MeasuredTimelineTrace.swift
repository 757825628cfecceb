/// Writes measured step timelines (``StepTimelineRecord``s, e.g. what `allreduce mpi --trace`
/// gathered from its ranks) as one process of a Chrome / Perfetto trace, with the
/// ``ChromeTraceWriter`` that also writes the simulator's played schedules, and in the same
/// shape: a track per traced rank, a `send` slice on the sender from issue until the message
/// completed, a `recv` slice on the receiver from issue until the step completed, with a nested
/// `reduce` slice for a `recvReduce`'s reduction. Arguments: chunk, peer, bytes, step (and
/// `reduce` on receives). Records without steps (``StepTimelineRecord/Kind/call``) are one slice
/// named `callName`.
///
/// Slices that overlap on one rank (a ring posts its send and its receive together; pipelined
/// chunks) go to extra tracks of the rank (`rank 3 (2)`), at most `tracksPerRank`; beyond that a
/// slice is left out and counted. Ranks that ``TraceRankSampling`` leaves out, and records a
/// rank's ``StepTimeline`` did not keep, are said in the process' label.
public enum MeasuredTimelineTrace {
    /// What one process holds, for a footer line.
    public struct Summary: Sendable, Equatable {
        public var records = 0
        public var slices = 0
        public var slicesLeftOut = 0

        public init() {}
    }

    /// Writes `records` (any order) as process `pid`, named `title`.
    /// `droppedRecords`: records the ranks could not keep, summed.
    @discardableResult
    public static func write(_ records: [StepTimelineRecord], into writer: ChromeTraceWriter, pid: Int, sortIndex: Int, title: String,
                             sampling: TraceRankSampling, droppedRecords: Int = 0, callName: String = "call",
                             tracksPerRank: Int = 32) -> Summary {
        writer.process(pid: pid, name: title, sortIndex: sortIndex)
        var summary = Summary()
        summary.records = records.count
        let perRank = Swift.min(64, Swift.max(1, tracksPerRank))
        let sorted = records.sorted { ($0.rank, $0.startSeconds, $0.stepIndex) < ($1.rank, $1.startSeconds, $1.stepIndex) }
        var trackEnd: [Double] = []
        var currentRank: Int32 = -1
        for r in sorted {
            if r.rank != currentRank {
                currentRank = r.rank
                trackEnd = [Double](repeating: -.infinity, count: perRank)
            }
            let end = r.kind == .send ? r.transferEndSeconds : r.endSeconds
            guard let k = trackEnd.firstIndex(where: { $0 <= r.startSeconds }) else {
                summary.slicesLeftOut += 1
                continue
            }
            let rank = Int(r.rank), tid = rank * 64 + k
            if trackEnd[k] == -.infinity {
                writer.track(pid: pid, tid: tid, name: k == 0 ? "rank \(rank)" : "rank \(rank) (\(k + 1))", sortIndex: tid)
            }
            trackEnd[k] = end
            let common = "\"chunk\":\(r.chunk),\"bytes\":\(r.bytes),\"peer\":\(r.peer),\"step\":\(r.stepIndex)"
            switch r.kind {
            case .send:
                writer.slice(pid: pid, tid: tid, name: "send c\(r.chunk) → \(r.peer)", begin: r.startSeconds, end: end, args: common)
            case .recvCopy, .recvReduce:
                let reduces = r.kind == .recvReduce
                writer.slice(pid: pid, tid: tid, name: "recv c\(r.chunk) ← \(r.peer)", begin: r.startSeconds, end: end,
                             args: common + ",\"reduce\":\(reduces)")
                if reduces {
                    writer.slice(pid: pid, tid: tid, name: "reduce c\(r.chunk)", begin: Swift.max(r.startSeconds, r.reduceBeginSeconds), end: end,
                                 args: common)
                    summary.slices += 1
                }
            case .call:
                writer.slice(pid: pid, tid: tid, name: callName, begin: r.startSeconds, end: end, args: "\"bytes\":\(r.bytes)")
            }
            summary.slices += 1
        }
        var labels: [String] = []
        if sampling.stride > 1 { labels.append(sampling.note) }
        if droppedRecords > 0 { labels.append("\(droppedRecords) steps not recorded (beyond the per-rank limit)") }
        if summary.slicesLeftOut > 0 { labels.append("\(summary.slicesLeftOut) slices left out (more than \(perRank) at once on a rank)") }
        if !labels.isEmpty {
            writer.metadata(pid: pid, name: "process_labels", args: "\"labels\":\(jsonQuote(labels.joined(separator: "; ")))")
        }
        return summary
    }
}
