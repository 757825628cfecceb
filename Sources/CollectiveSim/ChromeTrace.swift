import CollectiveCore
import CollectiveFabric

/// Writes what the ``EventEngine`` plays as a Chrome / Perfetto trace (the JSON trace-event
/// format that ui.perfetto.dev and chrome://tracing open), streaming, in bounded memory.
///
/// Processes and tracks:
/// - **ranks** (pid 1): a track per rank. Each transfer is a `send` slice on its sender (from
///   its start until its bytes have left: a start before the link was free shows as
///   `queued_us`) and a `recv` slice on its receiver (from its start to its completion), with a
///   nested `reduce` slice for the receiver's reduction. Arguments: chunk, peer, bytes, step,
///   lane. Slices that overlap on one rank (pipelined chunks, NCCL's channels) go to extra
///   tracks of the rank (`rank 5 (2)`), at most ``Limits/tracksPerRank``; beyond that a slice
///   is left out and counted.
/// - **links** (pid 2): a track per link with its busy spans (the FIFO reservation: when the
///   transfer held the link), and a counter `<link> utilization` giving the percentage of each
///   of ``Limits/utilizationBins`` equal intervals of the run the link spent transmitting.
/// - **critical path** (pid 3): one track of slices, the chain of transfers that decided the
///   finishing time, followed backwards from the last completion: each transfer started either
///   when the completion of the one before it let its step issue, or when the one before it
///   freed the link it waited for. (The time a receiver's reduction waited for the GPU's
///   previous reduction is inside a slice, not a link of the chain.)
///
/// Large runs: beyond ``Limits/ranks`` ranks, every k-th rank is traced (k the smallest that
/// keeps at most that many), and links get a track when a traced rank's transfer first uses
/// them, up to ``Limits/links``. The critical path is kept for up to
/// ``Limits/criticalPathTransfers`` transfers (48 bytes each). The other state is O(traced
/// ranks + links). What was sampled or left out is said in the ranks process' label and in
/// ``summary``.
///
/// Times are microseconds from the launch; NCCL's launch time (``ProtocolTiming/startSeconds``,
/// given as `launchSeconds`) is the first slice of the critical path. The output is
/// deterministic: the same run writes the same bytes.
public final class ChromeTraceRecorder: EngineObserver, @unchecked Sendable {
    // @unchecked: an observer belongs to one engine run (``EngineObserver``); nothing else
    // touches it until ``finish(totalSeconds:)``.

    /// How much the trace may hold.
    public struct Limits: Sendable {
        /// Most ranks with tracks; beyond, every k-th rank.
        public var ranks = 64
        /// Most links with tracks.
        public var links = 256
        /// Most tracks one rank's overlapping slices spread over (at most 64).
        public var tracksPerRank = 32
        /// Most transfers whose critical path is followed (48 bytes each).
        public var criticalPathTransfers = 1_000_000
        /// Intervals of the utilization counters.
        public var utilizationBins = 100

        public init() {}
    }

    public let fabric: FabricMap
    public let limits: Limits
    /// The document it writes into (its own, or one shared with other processes).
    public let writer: ChromeTraceWriter
    /// Whether ``finish(totalSeconds:)`` ends the document (the recorder started it).
    let ownsDocument: Bool
    /// Added to its process ids (1 ranks, 2 links, 3 critical path) in a shared document.
    public let pidBase: Int
    let launchSeconds: Double
    let binSeconds: Double
    /// Every `rankStride`-th rank is traced.
    public let rankStride: Int

    // Per traced rank: the end of each of its tracks' last slice (-inf: unused).
    var trackEnd: [Double]
    var slicesWritten = 0
    var slicesDropped = 0

    // Per fabric link: its track (-1: none yet).
    var linkTrack: [Int32]
    var trackedLinks: [Int] = []
    var linkBin: [Int] = []
    var linkBusy: [Double] = []
    let path = UnsafeMutablePointer<Int>.allocate(capacity: FabricMap.maxPathLinks)

    /// The chain of transfers that decided the time.
    var critical: CriticalPath

    var finished = false

    /// `title`: the ranks process' name (`ring, 1 GiB, dgx-h100 x 4 (simulated)`).
    /// `expectedSeconds`: the run's simulated time, from an earlier run of the same schedule,
    /// which sets the utilization intervals (0: no counters).
    public convenience init(fabric: FabricMap, sink: any TraceSink, title: String, expectedSeconds: Double, launchSeconds: Double = 0,
                            limits: Limits = Limits()) {
        self.init(fabric: fabric, writer: ChromeTraceWriter(sink: sink), ownsDocument: true, pidBase: 0, title: title,
                  expectedSeconds: expectedSeconds, launchSeconds: launchSeconds, limits: limits)
    }

    /// A recorder writing into `writer`'s document, which other processes share: its processes
    /// are `pidBase` + 1 (ranks), + 2 (links) and + 3 (critical path), sorted from `pidBase`, and
    /// their names carry `title`. ``finish(totalSeconds:)`` leaves the document open.
    public convenience init(fabric: FabricMap, writer: ChromeTraceWriter, pidBase: Int, title: String, expectedSeconds: Double,
                            launchSeconds: Double = 0, limits: Limits = Limits()) {
        self.init(fabric: fabric, writer: writer, ownsDocument: false, pidBase: pidBase, title: title,
                  expectedSeconds: expectedSeconds, launchSeconds: launchSeconds, limits: limits)
    }

    init(fabric: FabricMap, writer: ChromeTraceWriter, ownsDocument: Bool, pidBase: Int, title: String, expectedSeconds: Double,
         launchSeconds: Double, limits: Limits) {
        self.fabric = fabric
        self.writer = writer
        self.ownsDocument = ownsDocument
        self.pidBase = pidBase
        self.limits = limits
        self.launchSeconds = launchSeconds
        let bins = Swift.max(1, limits.utilizationBins)
        binSeconds = expectedSeconds > launchSeconds ? (expectedSeconds - launchSeconds) / Double(bins) : 0
        let p = fabric.rankCount
        let sampling = TraceRankSampling(rankCount: p, limit: limits.ranks)
        rankStride = sampling.stride
        let traced = sampling.tracedCount
        trackEnd = [Double](repeating: -.infinity, count: traced * Swift.min(64, Swift.max(1, limits.tracksPerRank)))
        critical = CriticalPath(fabric: fabric, limit: limits.criticalPathTransfers)
        linkTrack = [Int32](repeating: -1, count: fabric.linkCount)

        // Alone in its document the links and the critical path need no title.
        let of = ownsDocument ? "" : ": " + title
        writer.process(pid: pidBase + 1, name: "ranks: " + title, sortIndex: pidBase + 1)
        writer.process(pid: pidBase + 2, name: "links" + of, sortIndex: pidBase + 2)
        writer.process(pid: pidBase + 3, name: "critical path" + of, sortIndex: pidBase)
        metadata(pid: 3, tid: 1, name: "thread_name", args: "\"name\":\"critical path\"")
        if rankStride > 1 {
            metadata(pid: 1, name: "process_labels", args: "\"labels\":\(jsonQuote(samplingNote))")
        }
    }

    deinit { path.deallocate() }

    /// Whether rank `r` has tracks.
    /// Whether rank `r` has tracks (switch endpoints, which hold no data of their own, have none;
    /// their transfers show on the GPUs' tracks and the links).
    public func isTraced(rank r: Int) -> Bool { r < fabric.rankCount && r % rankStride == 0 }

    /// `64 of 256 ranks traced (every 4th: 0, 4, 8, ...)`.
    public var samplingNote: String {
        TraceRankSampling(rankCount: fabric.rankCount, limit: limits.ranks).note
    }

    // MARK: EngineObserver

    public func transferCompleting(slot: Int, atSeconds seconds: Double) {
        critical.completing(slot: slot)
    }

    public func transferStarted(_ t: ObservedTransfer) {
        let route = fabric.route(from: t.sourceRank, to: t.destinationRank, links: path)
        _ = critical.started(t, links: path, count: route.count)
        let srcTraced = isTraced(rank: t.sourceRank), dstTraced = isTraced(rank: t.destinationRank)
        for k in 0..<route.count {
            let l = path[k]
            if linkTrack[l] < 0 && (srcTraced || dstTraced) && trackedLinks.count < limits.links {
                linkTrack[l] = Int32(trackedLinks.count)
                trackedLinks.append(l)
                linkBin.append(0)
                linkBusy.append(0)
                metadata(pid: 2, tid: trackedLinks.count, name: "thread_name", args: "\"name\":\(jsonQuote(fabric.linkName(l)))")
                metadata(pid: 2, tid: trackedLinks.count, name: "thread_sort_index", args: "\"sort_index\":\(trackedLinks.count)")
            }
            let track = Int(linkTrack[l])
            if track >= 0 {
                slice(pid: 2, tid: track + 1, name: "r\(t.sourceRank) → r\(t.destinationRank)", begin: t.linkBeginSeconds, end: t.linkEndSeconds,
                      args: "\"bytes\":\(Int(t.bytes)),\"chunk\":\(t.chunk),\"lane\":\(t.lane)")
                busy(track: track, from: t.linkBeginSeconds, to: t.linkEndSeconds)
            }
        }
        let common = "\"chunk\":\(t.chunk),\"bytes\":\(Int(t.bytes)),\"lane\":\(t.lane)"
        if srcTraced {
            let queued = Swift.max(0, t.linkBeginSeconds - t.startSeconds)
            place(rank: t.sourceRank, begin: t.startSeconds, end: t.linkEndSeconds) { tid in
                slice(pid: 1, tid: tid, name: "send c\(t.chunk) → \(t.destinationRank)", begin: t.startSeconds, end: t.linkEndSeconds,
                      args: common + ",\"peer\":\(t.destinationRank),\"step\":\(t.sendStep),\"queued_us\":\(micro(queued))")
            }
        }
        if dstTraced {
            place(rank: t.destinationRank, begin: t.startSeconds, end: t.completeSeconds) { tid in
                slice(pid: 1, tid: tid, name: "recv c\(t.chunk) ← \(t.sourceRank)", begin: t.startSeconds, end: t.completeSeconds,
                      args: common + ",\"peer\":\(t.sourceRank),\"step\":\(t.receiveStep),\"reduce\":\(t.reduces)")
                if let r = t.reduceBeginSeconds {
                    slice(pid: 1, tid: tid, name: "reduce c\(t.chunk)", begin: r, end: t.completeSeconds,
                          args: common + ",\"peer\":\(t.sourceRank)")
                }
            }
        }
    }

    // MARK: Finishing

    /// What the trace holds, for a footer line.
    public struct Summary: Sendable {
        public var transfers: Int
        public var slices: Int
        public var slicesLeftOut: Int
        public var tracedRanks: Int
        public var linkTracks: Int
        /// Transfers on the critical path (nil: more transfers than it follows).
        public var criticalPathTransfers: Int?
    }

    /// Writes the counters' last intervals, the critical path and the end of the document.
    /// `totalSeconds`: the run's reported time (launch included).
    @discardableResult
    public func finish(totalSeconds: Double) -> Summary {
        precondition(!finished, "ChromeTraceRecorder: finished twice")
        finished = true
        for track in trackedLinks.indices { flushBins(track: track, upTo: Int.max) }
        var pathLength: Int? = nil
        if let ids = critical.path() {
            let chain = critical.entries
            pathLength = ids.count
            if launchSeconds > 0 {
                event("{\"ph\":\"X\",\"pid\":\(pidBase + 3),\"tid\":1,\"name\":\"launch\",\"ts\":0,\"dur\":\(micro(launchSeconds)),\"args\":{\"what\":\"NCCL's start latency\"}}")
            }
            var from = 0.0
            for (k, id) in ids.enumerated() {
                let c = chain[id]
                let next = k + 1 < ids.count ? chain[ids[k + 1]] : nil
                // Until it released the next: by completing, or by freeing the link the next waited for.
                let end = next.map { $0.waitedLink >= 0 ? c.linkEnd : c.complete } ?? c.complete
                let begin = Swift.max(from, c.start)
                let args = "\"from\":\(c.source),\"to\":\(c.destination),\"started_by\":"
                    + jsonQuote(c.waitedLink >= 0 ? "the link \(fabric.linkName(Int(c.waitedLink))) becoming free" : (c.previous >= 0 ? "the completion before it" : "the start"))
                slice(pid: 3, tid: 1, name: "r\(c.source) → r\(c.destination)", begin: begin, end: Swift.max(begin, end), args: args)
                from = Swift.max(begin, end)
            }
        }
        var labels = "critical path: \(pathLength.map { "\($0) transfers" } ?? "not followed (more than \(limits.criticalPathTransfers) transfers)")"
        if slicesDropped > 0 { labels += "; \(slicesDropped) rank slices left out (more than \(limits.tracksPerRank) at once on a rank)" }
        metadata(pid: 3, name: "process_labels", args: "\"labels\":\(jsonQuote(labels))")
        if trackedLinks.count >= limits.links {
            metadata(pid: 2, name: "process_labels", args: "\"labels\":\(jsonQuote("the first \(limits.links) links the traced ranks used"))")
        }
        if ownsDocument { writer.close(otherData: "\"total_us\":\(jsonQuote(micro(totalSeconds)))") }
        let p = fabric.rankCount
        return Summary(transfers: critical.transfersSeen, slices: slicesWritten, slicesLeftOut: slicesDropped, tracedRanks: (p + rankStride - 1) / rankStride,
                       linkTracks: trackedLinks.count, criticalPathTransfers: pathLength)
    }

    // MARK: Writing

    /// Puts a slice of rank `r` on the first of its tracks free at `begin`, or counts it out.
    func place(rank r: Int, begin: Double, end: Double, _ write: (Int) -> Void) {
        let per = Swift.min(64, Swift.max(1, limits.tracksPerRank))
        let base = (r / rankStride) * per
        for k in 0..<per where trackEnd[base + k] <= begin {
            if trackEnd[base + k] == -.infinity {
                let name = k == 0 ? "rank \(r)" : "rank \(r) (\(k + 1))"
                metadata(pid: 1, tid: r * 64 + k, name: "thread_name", args: "\"name\":\(jsonQuote(name))")
                metadata(pid: 1, tid: r * 64 + k, name: "thread_sort_index", args: "\"sort_index\":\(r * 64 + k)")
            }
            trackEnd[base + k] = end
            write(r * 64 + k)
            return
        }
        slicesDropped += 1
    }

    /// Adds a busy span to a link's utilization intervals, writing every interval it completes.
    func busy(track: Int, from b: Double, to e: Double) {
        guard binSeconds > 0 else { return }
        var x = b
        while x < e {
            var bin = Int(x / binSeconds)
            // x / binSeconds may round below a boundary that x sits on.
            if Double(bin + 1) * binSeconds <= x { bin += 1 }
            if bin > linkBin[track] { flushBins(track: track, upTo: bin) }
            let stop = Swift.min(e, Double(bin + 1) * binSeconds)
            linkBusy[track] += stop - x
            x = stop
        }
    }

    /// Writes the interval a link's counter is in, and a zero after it if the next busy interval
    /// is later than the one following (`bin`: that busy interval; Int.max: the end).
    func flushBins(track: Int, upTo bin: Int) {
        guard binSeconds > 0 else { return }
        let current = linkBin[track]
        let name = "\(fabric.linkName(trackedLinks[track])) utilization"
        if linkBusy[track] > 0 || current == 0 {
            let percent = Swift.min(100, linkBusy[track] / binSeconds * 100)
            writer.counter(pid: pidBase + 2, name: name, atSeconds: Double(current) * binSeconds + launchSeconds, args: "\"busy %\":\(fixedDecimals(percent, 1))")
        }
        if bin > current + 1 || bin == Int.max {
            writer.counter(pid: pidBase + 2, name: name, atSeconds: Double(current + 1) * binSeconds + launchSeconds, args: "\"busy %\":0")
        }
        if bin != Int.max { linkBin[track] = bin }
        linkBusy[track] = 0
    }

    func slice(pid: Int, tid: Int, name: String, begin: Double, end: Double, args: String) {
        slicesWritten += 1
        writer.slice(pid: pidBase + pid, tid: tid, name: name, begin: begin + launchSeconds, end: end + launchSeconds, args: args)
    }

    func metadata(pid: Int, tid: Int = 0, name: String, args: String) {
        writer.metadata(pid: pidBase + pid, tid: tid, name: name, args: args)
    }

    func event(_ json: String) { writer.event(json) }

    /// Seconds as microseconds with three decimals (nanoseconds).
    func micro(_ seconds: Double) -> String { writer.micro(seconds) }
}
