import CollectiveCore
import CollectiveFabric

/// How the event engine serves transfers that share a link.
public enum LinkService: String, CaseIterable, Sendable, Hashable {
    /// First come, first served: a transfer reserves every link of its path at once, for its
    /// whole duration (``EventEngine``). One event per transfer; the default, fast at any scale.
    case fifo
    /// Max-min fair sharing: the transfers crossing a link share its bandwidth, each getting an
    /// equal share unless another link limits it, and rates are recomputed whenever a transfer
    /// starts or ends (``FairShareEngine``). Closer to packet-level networks; costs O(transfers
    /// in flight x path length) per event, so it suits what-if studies of up to a few hundred
    /// ranks.
    case fair
}

/// The discrete-event engine with **max-min fair sharing** of links (``LinkService/fair``).
///
/// It does not play CPU nodes (a topology with ``NodeSpec/memory``, as `allreduce calibrate` writes
/// it): it refuses them; their shared memory and reductions are the FIFO engine's.
///
/// Everything but the service of links is as in ``EventEngine``: ranks issue their steps in order
/// through ``RankProgress``; a send and a receive match in order per pair; a matched transfer
/// starts at once and arrives `latency` after its last byte; a reducing receive streams its
/// reduction and finishes at `max(arrival, start + latency + bytes x gamma)` with one GPU's
/// reductions served in turn; send and receive complete together at the arrival.
///
/// Rates: at any moment each transfer in flight runs at its max-min fair rate over the links of
/// its path (progressive filling: the link with the smallest share per unfrozen transfer fixes
/// those transfers' rate, its capacity leaves the other links they cross, and so on), capped by
/// its route's own rate. Rates change only when a transfer starts or finishes its bytes.
///
/// Determinism: transfers are kept in start order, events in (time, sequence) order, and all
/// arithmetic runs in a fixed order: the same input gives the same output bit for bit.
public struct FairShareEngine: Sendable {
    public let fabric: FabricMap

    /// The most ranks the command line lets it play: every event recomputes the rates of all
    /// transfers in flight, so a 512-rank tree of 64 MiB already takes about a second.
    public static let maxRanks = 1024

    public init(fabric: FabricMap) { self.fabric = fabric }

    /// Plays `schedule` (one rank per GPU of the fabric) with elements of `elementSizeBytes`.
    public func run<S: Schedule>(_ schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        guard schedule.rankCount == fabric.rankCount else {
            throw SimulationError("the schedule has \(schedule.rankCount) ranks but the cluster has \(fabric.rankCount) GPUs")
        }
        guard schedule.switchCount == 0 else {
            throw SimulationError("\(schedule.algorithm.rawValue) reduces in the switch, which the fair-share engine does not model; play it with --links fifo")
        }
        // A CPU node's shared memory, its ranks' reductions after arrival and their message-size
        // and working-set rates are the FIFO engine's (``EventEngine``); played here the ranks
        // would move data at their path's rate and reduce for free.
        guard fabric.topology.node.memory == nil else {
            throw SimulationError("the fair-share engine (--links fair) does not model a CPU node's shared memory (a calibrated topology); play it with --links fifo")
        }
        let clock = WallClock()
        let cpuStart = WallClock.processCPUSeconds()
        var state = _FairState(fabric: fabric, elementSizeBytes: Double(elementSizeBytes),
                               ranks: (0..<schedule.rankCount).map { RankProgress(schedule.makeSteps(forRank: $0)) })
        try state.play()
        return EventResult(
            timeSeconds: state.now,
            linkUtilization: [],
            statistics: EngineStatistics(events: state.events, transfers: state.transfers, wallSeconds: clock.elapsedSeconds,
                                         cpuSeconds: WallClock.processCPUSeconds() - cpuStart, peakMemoryBytes: peakResidentBytes()))
    }
}

extension FairShareEngine {
    /// Plays any schedule.
    public func run(any schedule: any Schedule, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        try _runOpened(schedule, elementSizeBytes: elementSizeBytes)
    }

    func _runOpened<S: Schedule>(_ schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        try run(schedule, elementSizeBytes: elementSizeBytes)
    }
}

/// A transfer whose bytes are still moving.
struct _FairFlow {
    var src: Int
    var dst: Int
    var srcStep: Int
    var dstStep: Int
    var links: [Int]
    var routeBytesPerSecond: Double
    var latencySeconds: Double
    var bytes: Double
    var remainingBytes: Double
    var startSeconds: Double
    var reduce: Bool
    /// The receive's ``Step/reduceAfter`` (-1: none).
    var reduceAfter: Int = -1
    var rate: Double = 0
}

/// A transfer whose last byte left, waiting for its arrival.
struct _FairArrival {
    var src: Int
    var dst: Int
    var srcStep: Int
    var dstStep: Int
    var reduceAfter: Int
}

/// An issued step of the fair engine, as its matcher keeps it.
struct _FairPosted: SendReceivePosting {
    var index: Int
    var step: Step
}

struct _FairState<Steps: IteratorProtocol<Step>> {
    let fabric: FabricMap
    let elementSizeBytes: Double
    let gammaSecondsPerByte: Double
    var ranks: [RankProgress<Steps>]
    /// Pairs the ranks' issued sends and receives (their step indices and steps).
    var matcher: SendReceiveMatcher<_FairPosted>
    var flows: [_FairFlow] = []
    var arrivals: [_FairArrival] = []
    var freeArrivals: [Int] = []
    /// Arrivals to come, a min-heap on (time, sequence).
    var queue = _ArrivalHeap()
    var reduceFreeAt: [Double]
    /// Per rank: staged receives (step, reduceAfter) that arrived before the send they follow
    /// completed (``Step/reduceAfter``); they complete with it.
    var parked: [[(step: Int, after: Int)]]
    var linkCapacity: [Double]
    /// Scratch space for one route's links.
    var path = Array(repeating: 0, count: FabricMap.maxPathLinks)
    var now = 0.0
    var events = 0
    var transfers = 0
    var failure: String?

    init(fabric: FabricMap, elementSizeBytes: Double, ranks: [RankProgress<Steps>]) {
        self.fabric = fabric
        self.elementSizeBytes = elementSizeBytes
        gammaSecondsPerByte = fabric.gammaSecondsPerByte
        self.ranks = ranks
        matcher = SendReceiveMatcher(endpointCount: ranks.count)
        reduceFreeAt = Array(repeating: 0, count: ranks.count)
        parked = Array(repeating: [], count: ranks.count)
        linkCapacity = (0..<fabric.linkCount).map { fabric.linkBytesPerSecond($0) }
    }

    mutating func play() throws(SimulationError) {
        for r in 0..<ranks.count { issueReady(r) }
        while failure == nil && (!flows.isEmpty || !queue.isEmpty) {
            assignRates()
            // The next moment something happens: a transfer's last byte, or an arrival.
            var step = Double.infinity
            for f in flows where f.rate > 0 { step = min(step, f.remainingBytes / f.rate) }
            let nextArrival = queue.peekTime ?? .infinity
            let t = min(now + step, nextArrival)
            guard t.isFinite else { break }
            let dt = t - now
            now = t
            // Move the bytes; transfers whose bytes are all out leave the links (in start order).
            var kept: [_FairFlow] = []
            kept.reserveCapacity(flows.count)
            for var f in flows {
                f.remainingBytes -= f.rate * dt
                if f.remainingBytes <= f.bytes * 1e-12 || (f.rate > 0 && f.remainingBytes / f.rate <= 1e-15 * max(1, now)) {
                    finish(f)
                } else {
                    kept.append(f)
                }
            }
            flows = kept
            // Arrivals due now complete their steps, which may start new transfers.
            while let e = queue.peekTime, e <= now {
                guard let (_, id) = queue.pop() else { break }
                let a = arrivals[id]
                freeArrivals.append(id)
                events += 1
                ranks[a.src].complete(a.srcStep)
                if a.reduceAfter >= 0 && !ranks[a.dst].isCompleted(a.reduceAfter) {
                    parked[a.dst].append((a.dstStep, a.reduceAfter))
                } else {
                    ranks[a.dst].complete(a.dstStep)
                }
                if !parked[a.src].isEmpty {
                    let src = a.src
                    for x in parked[src] where ranks[src].isCompleted(x.after) { ranks[src].complete(x.step) }
                    parked[src].removeAll { ranks[src].isCompleted($0.step) }
                }
                issueReady(a.src)
                issueReady(a.dst)
            }
        }
        if let failure { throw SimulationError(failure) }
        for r in 0..<ranks.count where !ranks[r].isFinished() {
            throw SimulationError.deadlock(rank: r, &ranks[r], atSeconds: now)
        }
    }

    /// A transfer's last byte left at `now`: it arrives `latency` later (or when its streamed
    /// reduction ends).
    mutating func finish(_ f: _FairFlow) {
        var done = now + f.latencySeconds
        if f.reduce && gammaSecondsPerByte > 0 {
            let reduceStart = max(f.startSeconds + f.latencySeconds, reduceFreeAt[f.dst])
            done = max(done, reduceStart + f.bytes * gammaSecondsPerByte)
            reduceFreeAt[f.dst] = done
        }
        let a = _FairArrival(src: f.src, dst: f.dst, srcStep: f.srcStep, dstStep: f.dstStep, reduceAfter: f.reduceAfter)
        let id: Int
        if let free = freeArrivals.popLast() { id = free; arrivals[id] = a } else { id = arrivals.count; arrivals.append(a) }
        queue.push(time: done, payload: id)
    }

    /// Max-min fair rates by progressive filling, each flow also capped by its route's rate.
    mutating func assignRates() {
        guard !flows.isEmpty else { return }
        var capacity = linkCapacity
        var users: [Int: [Int]] = [:]
        for (i, f) in flows.enumerated() { for l in f.links { users[l, default: []].append(i) } }
        var frozen = Array(repeating: false, count: flows.count)
        var unfrozen = Array(repeating: 0, count: capacity.count)
        for (l, list) in users { unfrozen[l] = list.count }
        var left = flows.count
        let linkOrder = users.keys.sorted()
        while left > 0 {
            // The tightest constraint: a link's equal share, or a flow's own route rate.
            var share = Double.infinity
            var tightLink = -1
            for l in linkOrder where unfrozen[l] > 0 {
                let s = capacity[l] / Double(unfrozen[l])
                if s < share { share = s; tightLink = l }
            }
            var tightFlow = -1
            for i in flows.indices where !frozen[i] && flows[i].routeBytesPerSecond < share {
                share = flows[i].routeBytesPerSecond
                tightFlow = i
            }
            let fixed: [Int] = tightFlow >= 0 ? [tightFlow] : (users[tightLink] ?? []).filter { !frozen[$0] }
            for i in fixed {
                frozen[i] = true
                left -= 1
                flows[i].rate = max(0, share)
                for l in flows[i].links {
                    capacity[l] -= share
                    unfrozen[l] -= 1
                }
            }
        }
    }

    mutating func issueReady(_ r: Int) {
        let p = ranks.count
        while let (index, step) = ranks[r].issueNext() {
            let peer = step.peer
            guard peer >= 0 && peer < p && peer != r else {
                failure = "rank \(r) step \(index) names peer \(peer), outside 0..<\(p) or itself"
                return
            }
            if let m = matcher.post(_FairPosted(index: index, step: step), of: r) {
                let receive = m.receive.step
                start(src: m.sender, srcStep: m.send.index, dst: m.receiver, dstStep: m.receive.index, count: m.send.step.count,
                      recvCount: receive.count, reduce: receive.kind == .recvReduce, reduceAfter: receive.reduceAfter ?? -1)
            }
            if failure != nil { return }
        }
    }

    mutating func start(src: Int, srcStep: Int, dst: Int, dstStep: Int, count: Int, recvCount: Int, reduce: Bool, reduceAfter: Int = -1) {
        guard count == recvCount else {
            failure = "rank \(src) sends \(count) elements to rank \(dst), which expects \(recvCount)"
            return
        }
        transfers += 1
        let fabric = fabric
        let (route, links) = path.withUnsafeMutableBufferPointer { buffer in
            let route = fabric.route(from: src, to: dst, links: buffer.baseAddress!)
            return (route, Array(buffer.prefix(route.count)))
        }
        let bytes = Double(count) * elementSizeBytes
        let flow = _FairFlow(src: src, dst: dst, srcStep: srcStep, dstStep: dstStep, links: links,
                             routeBytesPerSecond: route.bytesPerSecond, latencySeconds: route.latencySeconds,
                             bytes: bytes, remainingBytes: bytes, startSeconds: now, reduce: reduce, reduceAfter: reduceAfter)
        if bytes == 0 {
            finish(flow)
        } else {
            flows.append(flow)
        }
    }
}

/// A binary min-heap of (time, sequence, payload): ties pop in the order they were pushed.
struct _ArrivalHeap {
    var items: [(time: Double, sequence: Int, payload: Int)] = []
    var nextSequence = 0

    var isEmpty: Bool { items.isEmpty }
    var peekTime: Double? { items.first?.time }

    static func less(_ a: (time: Double, sequence: Int, payload: Int), _ b: (time: Double, sequence: Int, payload: Int)) -> Bool {
        a.time < b.time || (a.time == b.time && a.sequence < b.sequence)
    }

    mutating func push(time: Double, payload: Int) {
        items.append((time, nextSequence, payload))
        nextSequence += 1
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (time: Double, payload: Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && Self.less(items[l], items[m]) { m = l }
                if r < items.count && Self.less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return (top.time, top.payload)
    }
}
