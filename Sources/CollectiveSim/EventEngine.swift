import CollectiveCore
import CollectiveFabric

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The discrete-event engine: plays every step of a ``Schedule`` over the links of a
/// ``FabricMap`` and reports when the last rank finishes.
///
/// Model:
/// - Each rank is driven by a ``RankProgress`` over its own step iterator (O(ranks) memory, never
///   the whole schedule): steps issue in order, a step issues once its dependencies completed.
/// - A send to b and a receive from a match in order per (a, b) pair. The transfer is *ready* when
///   both have issued (rendezvous: the receiver has a buffer for it).
/// - Contention: **FIFO link reservation**. A ready transfer reserves every link on its path at
///   once, starting when the last of them is free, for `bytes / bottleneck rate`; links are served
///   in the order transfers become ready (the order of the event queue), without back-filling.
///   Every modelled link (GPU port, NVLink pair, PCIe, NIC, leaf uplink) carries one flow at the
///   line rate, and a shared leaf's bandwidth is split over its uplinks by fixed routes, so FIFO
///   service of whole transfers (chunks) gives the same finishing times as fair sharing would for
///   the last of the flows, at one event per transfer instead of a rate update per flow change.
/// - The transfer arrives `latency` after its last byte leaves (latency includes the per-step
///   software overhead and switch hops).
/// - A reducing receive reduces *as the data streams in*, as NCCL's kernels do: the reduction
///   starts with the first byte (or when the GPU's previous reduction ends: reductions on one GPU
///   are served FIFO) and runs at the node's reduction rate, so it finishes at
///   `max(arrival, start + bytes / reduceRate)`: it costs nothing extra while the GPU reduces
///   faster than the link delivers, and bounds the step when it does not. A copying receive
///   completes on arrival.
/// - Send and receive complete together (the sender's buffer is reusable once the receiver has
///   consumed the data, as with NCCL's credit-based FIFOs): one event per transfer.
///
/// Events: one per transfer, at its completion. Transfers from one sender to one receiver
/// complete in the order they started (same path, FIFO), so only the oldest of such a chain waits
/// in the event queue; the next enters when it completes. The queue holds about one event per
/// rank however many chunks are in flight.
///
/// Determinism: the event queue orders by (time, sequence); ties keep scheduling order; all
/// arithmetic is in a fixed order. The same input gives the same output bit for bit.
public struct EventEngine: Sendable {
    public let fabric: FabricMap

    public init(fabric: FabricMap) { self.fabric = fabric }

    /// Plays `schedule` (one rank per GPU of the fabric) with elements of `elementSizeBytes`.
    @inlinable
    public func run<S: Schedule>(_ schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        guard schedule.rankCount == fabric.rankCount else {
            throw SimulationError("the schedule has \(schedule.rankCount) ranks but the cluster has \(fabric.rankCount) GPUs")
        }
        let clock = WallClock()
        let cpuStart = WallClock.processCPUSeconds()
        var state = _EngineState<S.StepIterator>(fabric: fabric, elementSizeBytes: elementSizeBytes)
        defer { state.release() }
        for r in 0..<schedule.rankCount {
            (state.ranks + r).initialize(to: RankProgress(schedule.makeSteps(forRank: r)))
        }
        state.initializedRanks = schedule.rankCount
        try state.play()
        return EventResult(
            timeSeconds: state.now,
            linkUtilization: state.utilization(),
            statistics: EngineStatistics(events: state.events, transfers: state.transfers, wallSeconds: clock.elapsedSeconds,
                                         cpuSeconds: WallClock.processCPUSeconds() - cpuStart, peakMemoryBytes: peakResidentBytes()))
    }
}

/// What the event engine measured: simulated time and how hard it worked.
public struct EventResult: Sendable {
    /// Simulated time of the allreduce, seconds.
    public var timeSeconds: Double
    /// The busiest link of each kind that carried data: its name and the fraction of the run it
    /// spent transmitting at its rate. A link near 100% is what the allreduce waited on.
    public var linkUtilization: [LinkUtilization]
    public var statistics: EngineStatistics

    public init(timeSeconds: Double, linkUtilization: [LinkUtilization] = [], statistics: EngineStatistics) {
        self.timeSeconds = timeSeconds
        self.linkUtilization = linkUtilization
        self.statistics = statistics
    }
}

/// How busy the busiest link of one kind was.
public struct LinkUtilization: Sendable {
    public var linkClass: FabricMap.LinkClass
    /// `node 3 nic 7 tx`.
    public var busiestLink: String
    /// Bytes it carried / (its achievable rate x simulated time), 0 ... 1.
    public var busyFraction: Double
}

/// Work done by the event engine.
public struct EngineStatistics: Sendable {
    public var events: Int
    public var transfers: Int
    public var wallSeconds: Double
    /// CPU time of the process while the engine ran, seconds (the engine is single-threaded).
    public var cpuSeconds: Double
    /// Peak resident memory of the process, bytes (getrusage).
    public var peakMemoryBytes: Int

    public init(events: Int, transfers: Int, wallSeconds: Double, cpuSeconds: Double, peakMemoryBytes: Int) {
        self.events = events
        self.transfers = transfers
        self.wallSeconds = wallSeconds
        self.cpuSeconds = cpuSeconds
        self.peakMemoryBytes = peakMemoryBytes
    }

    /// Events per second of CPU time on one core (wall time when the CPU clock reads zero):
    /// the engine's throughput, independent of other load on the machine.
    public var eventsPerSecond: Double {
        let t = cpuSeconds > 0 ? cpuSeconds : wallSeconds
        return t > 0 ? Double(events) / t : 0
    }

    /// `engine: 1234 events, 12.3 M events/s (one core), wall 0.010 s, peak memory 12.3 MiB`.
    public var summary: String {
        func fixed(_ x: Double, _ d: Int) -> String {
            var s = 1.0
            for _ in 0..<d { s *= 10 }
            let v = (x * s).rounded() / s
            var t = "\(v)"
            if let dot = t.firstIndex(of: ".") {
                let frac = t[t.index(after: dot)...]
                if frac.count < d { t += String(repeating: "0", count: d - frac.count) }
            } else if d > 0 { t += "." + String(repeating: "0", count: d) }
            return t
        }
        return "engine: \(events) events, \(fixed(eventsPerSecond / 1e6, 1)) M events/s (one core, CPU time), wall \(fixed(wallSeconds, 3)) s, peak memory \(fixed(Double(peakMemoryBytes) / 1048576, 1)) MiB"
    }
}

/// A schedule that cannot be played (deadlock, bad peer, size mismatch).
public struct SimulationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Monotonic wall clock.
public struct WallClock: Sendable {
    @usableFromInline let start: Double
    public init() { start = WallClock.now() }
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
    public var elapsedSeconds: Double { WallClock.now() - start }
    /// CPU time consumed by this process so far, seconds.
    public static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// Peak resident set size of this process, bytes.
public func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #if os(Linux)
    return Int(usage.ru_maxrss) * 1024
    #else
    return Int(usage.ru_maxrss)
    #endif
}

/// The engine's state, struct-of-arrays over raw buffers: no allocation per event.
@usableFromInline
struct _EngineState<Steps: IteratorProtocol<Step>>: ~Copyable {
    @usableFromInline let fabric: FabricMap
    @usableFromInline let rankCount: Int
    @usableFromInline let elementSizeBytes: Double
    @usableFromInline let gammaSecondsPerByte: Double

    @usableFromInline var ranks: UnsafeMutablePointer<RankProgress<Steps>>
    @usableFromInline var initializedRanks = 0

    // Unmatched issued sends (per sender) and receives (per receiver): singly linked FIFO lists
    // threaded through a pool.
    @usableFromInline var sendHead: UnsafeMutablePointer<Int>
    @usableFromInline var sendTail: UnsafeMutablePointer<Int>
    @usableFromInline var recvHead: UnsafeMutablePointer<Int>
    @usableFromInline var recvTail: UnsafeMutablePointer<Int>
    @usableFromInline var pendNext: UnsafeMutablePointer<Int>
    @usableFromInline var pendPeer: UnsafeMutablePointer<Int>
    @usableFromInline var pendStep: UnsafeMutablePointer<Int>
    @usableFromInline var pendCount: UnsafeMutablePointer<Int>
    @usableFromInline var pendReduce: UnsafeMutablePointer<Bool>
    @usableFromInline var pendCapacity: Int
    @usableFromInline var pendFree = -1
    @usableFromInline var pendUsed = 0

    // Transfers in flight.
    @usableFromInline var trSrc: UnsafeMutablePointer<Int>
    @usableFromInline var trSrcStep: UnsafeMutablePointer<Int>
    @usableFromInline var trDst: UnsafeMutablePointer<Int>
    @usableFromInline var trDstStep: UnsafeMutablePointer<Int>
    /// Completion time, and the next transfer of the same sender's chain (-1: last, -2: unchained).
    @usableFromInline var trTime: UnsafeMutablePointer<Double>
    @usableFromInline var trNext: UnsafeMutablePointer<Int>
    // Per sender: the chain of transfers to one receiver, oldest first.
    @usableFromInline var chainDst: UnsafeMutablePointer<Int>
    @usableFromInline var chainHead: UnsafeMutablePointer<Int>
    @usableFromInline var chainTail: UnsafeMutablePointer<Int>
    @usableFromInline var trCapacity: Int
    @usableFromInline var trFree = -1
    @usableFromInline var trUsed = 0

    @usableFromInline var linkFreeAt: UnsafeMutablePointer<Double>
    @usableFromInline var linkBusy: UnsafeMutablePointer<Double>
    @usableFromInline let linkCount: Int
    @usableFromInline var reduceFreeAt: UnsafeMutablePointer<Double>
    // Route cache, one entry per sender (schedules send to few peers, often the same one):
    // destination, link count, rate, latency, and the links (maxPathLinks per rank).
    @usableFromInline var cacheDst: UnsafeMutablePointer<Int>
    @usableFromInline var cacheCount: UnsafeMutablePointer<Int>
    @usableFromInline var cacheRate: UnsafeMutablePointer<Double>
    @usableFromInline var cacheLatency: UnsafeMutablePointer<Double>
    @usableFromInline var cacheLinks: UnsafeMutablePointer<Int>

    @usableFromInline var queue: EventQueue
    @usableFromInline var now: Double = 0
    @usableFromInline var events = 0
    @usableFromInline var transfers = 0
    @usableFromInline var failure: String?

    @inlinable
    init(fabric: FabricMap, elementSizeBytes: Int) {
        self.fabric = fabric
        rankCount = fabric.rankCount
        self.elementSizeBytes = Double(elementSizeBytes)
        gammaSecondsPerByte = fabric.gammaSecondsPerByte
        let p = rankCount
        ranks = .allocate(capacity: p)
        func filled<T>(_ n: Int, _ v: T) -> UnsafeMutablePointer<T> {
            let b = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(n, 1))
            b.initialize(repeating: v, count: Swift.max(n, 1))
            return b
        }
        sendHead = filled(p, -1); sendTail = filled(p, -1); recvHead = filled(p, -1); recvTail = filled(p, -1)
        pendCapacity = Swift.max(64, 2 * p)
        pendNext = .allocate(capacity: pendCapacity); pendPeer = .allocate(capacity: pendCapacity)
        pendStep = .allocate(capacity: pendCapacity); pendCount = .allocate(capacity: pendCapacity)
        pendReduce = .allocate(capacity: pendCapacity)
        trCapacity = Swift.max(64, 2 * p)
        trSrc = .allocate(capacity: trCapacity); trSrcStep = .allocate(capacity: trCapacity)
        trDst = .allocate(capacity: trCapacity); trDstStep = .allocate(capacity: trCapacity)
        trTime = .allocate(capacity: trCapacity); trNext = .allocate(capacity: trCapacity)
        chainDst = filled(p, -1); chainHead = filled(p, -1); chainTail = filled(p, -1)
        linkCount = fabric.linkCount
        linkFreeAt = filled(fabric.linkCount, 0.0)
        linkBusy = filled(fabric.linkCount, 0.0)
        reduceFreeAt = filled(p, 0.0)
        cacheDst = filled(p, -1); cacheCount = filled(p, 0); cacheRate = filled(p, 0.0); cacheLatency = filled(p, 0.0)
        cacheLinks = filled(p * FabricMap.maxPathLinks, 0)
        queue = EventQueue(capacity: Swift.max(1024, 2 * p))
    }

    @inlinable
    mutating func release() {
        ranks.deinitialize(count: initializedRanks)
        ranks.deallocate()
        for b in [sendHead, sendTail, recvHead, recvTail, pendNext, pendPeer, pendStep, pendCount, trSrc, trSrcStep, trDst, trDstStep, trNext,
                  chainDst, chainHead, chainTail, cacheDst, cacheCount, cacheLinks] {
            b.deallocate()
        }
        pendReduce.deallocate()
        linkFreeAt.deallocate()
        linkBusy.deallocate()
        cacheRate.deallocate()
        trTime.deallocate()
        cacheLatency.deallocate()
        reduceFreeAt.deallocate()
    }

    @inlinable
    mutating func play() throws(SimulationError) {
        for r in 0..<rankCount { issueReady(r) }
        while failure == nil, let e = queue.pop() {
            now = e.time
            events += 1
            let id = e.payload
            let src = trSrc[id], dst = trDst[id]
            if trNext[id] != -2 {
                // The head of `src`'s chain: the next transfer of the chain enters the queue.
                let next = trNext[id]
                chainHead[src] = next
                if next < 0 { chainTail[src] = -1 } else { queue.push(time: trTime[next], payload: next) }
            }
            ranks[src].complete(trSrcStep[id])
            ranks[dst].complete(trDstStep[id])
            freeTransfer(id)
            issueReady(src)
            issueReady(dst)
        }
        if let failure { throw SimulationError(failure) }
        for r in 0..<rankCount where !ranks[r].isFinished() {
            let next = ranks[r].peek()
            let what = next.map { "step \(ranks[r].nextIndex) (\($0.kind) with rank \($0.peer))" } ?? "an unmatched transfer"
            throw SimulationError("the schedule deadlocks: rank \(r) waits at \(what) at \(now * 1e6) us")
        }
    }

    /// The busiest link of each class.
    @usableFromInline
    func utilization() -> [LinkUtilization] {
        guard now > 0 else { return [] }
        var best: [FabricMap.LinkClass: (Int, Double)] = [:]
        for l in 0..<linkCount where linkBusy[l] > 0 {
            let c = fabric.linkClass(l)
            let busy = linkBusy[l] / fabric.linkBytesPerSecond(l)
            if best[c] == nil || busy > best[c]!.1 { best[c] = (l, busy) }
        }
        return FabricMap.LinkClass.allCases.compactMap { c in
            best[c].map { LinkUtilization(linkClass: c, busiestLink: fabric.linkName($0.0), busyFraction: min(1, $0.1 / now)) }
        }
    }

    /// Issues every step of rank `r` that may start now, matching sends with receives.
    @inlinable
    mutating func issueReady(_ r: Int) {
        while let (index, step) = ranks[r].issueNext() {
            let peer = step.peer
            guard peer >= 0 && peer < rankCount && peer != r else {
                failure = "rank \(r) step \(index) names peer \(peer), outside 0..<\(rankCount) or itself"
                return
            }
            if step.kind == .send {
                // The oldest unmatched receive at `peer` from `r`.
                var prev = -1
                var i = recvHead[peer]
                while i >= 0 && pendPeer[i] != r { prev = i; i = pendNext[i] }
                if i >= 0 {
                    unlink(i, prev: prev, head: recvHead + peer, tail: recvTail + peer)
                    start(src: r, srcStep: index, dst: peer, dstStep: pendStep[i], count: step.count, recvCount: pendCount[i], reduce: pendReduce[i])
                    freePending(i)
                } else {
                    appendPending(to: r, heads: sendHead, tails: sendTail, peer: peer, step: index, count: step.count, reduce: false)
                }
            } else {
                var prev = -1
                var i = sendHead[peer]
                while i >= 0 && pendPeer[i] != r { prev = i; i = pendNext[i] }
                if i >= 0 {
                    unlink(i, prev: prev, head: sendHead + peer, tail: sendTail + peer)
                    start(src: peer, srcStep: pendStep[i], dst: r, dstStep: index, count: pendCount[i], recvCount: step.count, reduce: step.kind == .recvReduce)
                    freePending(i)
                } else {
                    appendPending(to: r, heads: recvHead, tails: recvTail, peer: peer, step: index, count: step.count, reduce: step.kind == .recvReduce)
                }
            }
            if failure != nil { return }
        }
    }

    /// Reserves the path of a matched transfer and schedules its arrival.
    @inlinable
    mutating func start(src: Int, srcStep: Int, dst: Int, dstStep: Int, count: Int, recvCount: Int, reduce: Bool) {
        guard count == recvCount else {
            failure = "rank \(src) sends \(count) elements to rank \(dst), which expects \(recvCount)"
            return
        }
        let bytes = Double(count) * elementSizeBytes
        let path = cacheLinks + src * FabricMap.maxPathLinks
        if cacheDst[src] != dst {
            let route = fabric.route(from: src, to: dst, links: path)
            cacheDst[src] = dst; cacheCount[src] = route.count
            cacheRate[src] = route.bytesPerSecond; cacheLatency[src] = route.latencySeconds
        }
        let count = cacheCount[src]
        let latency = cacheLatency[src]
        let duration = bytes / cacheRate[src]
        var begin = now
        for k in 0..<count { begin = Swift.max(begin, linkFreeAt[path[k]]) }
        let end = begin + duration
        for k in 0..<count {
            linkFreeAt[path[k]] = end
            linkBusy[path[k]] += bytes
        }
        var done = end + latency
        if reduce && gammaSecondsPerByte > 0 {
            let reduceStart = Swift.max(begin + latency, reduceFreeAt[dst])
            done = Swift.max(done, reduceStart + bytes * gammaSecondsPerByte)
            reduceFreeAt[dst] = done
        }
        let id = allocTransfer()
        trSrc[id] = src; trSrcStep[id] = srcStep; trDst[id] = dst; trDstStep[id] = dstStep
        trTime[id] = done
        transfers += 1
        // Transfers from one sender to one receiver share a path, which serves them in order, so
        // they complete in order: only the oldest of such a chain waits in the event queue.
        if chainTail[src] < 0 {
            chainDst[src] = dst; chainHead[src] = id; chainTail[src] = id; trNext[id] = -1
            queue.push(time: done, payload: id)
        } else if chainDst[src] == dst {
            trNext[chainTail[src]] = id; chainTail[src] = id; trNext[id] = -1
        } else {
            trNext[id] = -2  // not chained
            queue.push(time: done, payload: id)
        }
    }

    @inlinable
    mutating func unlink(_ i: Int, prev: Int, head: UnsafeMutablePointer<Int>, tail: UnsafeMutablePointer<Int>) {
        let next = pendNext[i]
        if prev < 0 { head.pointee = next } else { pendNext[prev] = next }
        if tail.pointee == i { tail.pointee = prev }
    }

    @inlinable
    mutating func appendPending(to r: Int, heads: UnsafeMutablePointer<Int>, tails: UnsafeMutablePointer<Int>, peer: Int, step: Int, count: Int, reduce: Bool) {
        let i: Int
        if pendFree >= 0 { i = pendFree; pendFree = pendNext[i] } else {
            if pendUsed == pendCapacity { growPending() }
            i = pendUsed; pendUsed += 1
        }
        pendNext[i] = -1; pendPeer[i] = peer; pendStep[i] = step; pendCount[i] = count; pendReduce[i] = reduce
        let t = tails[r]
        if t < 0 { heads[r] = i } else { pendNext[t] = i }
        tails[r] = i
    }

    @inlinable
    mutating func freePending(_ i: Int) {
        pendNext[i] = pendFree
        pendFree = i
    }

    @inlinable
    mutating func allocTransfer() -> Int {
        if trFree >= 0 { let i = trFree; trFree = trSrc[i]; return i }
        if trUsed == trCapacity { growTransfers() }
        let i = trUsed
        trUsed += 1
        return i
    }

    @inlinable
    mutating func freeTransfer(_ i: Int) {
        trSrc[i] = trFree
        trFree = i
    }

    @usableFromInline
    mutating func growPending() {
        let n = pendCapacity * 2
        func grown<T>(_ old: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
            let b = UnsafeMutablePointer<T>.allocate(capacity: n)
            b.moveInitialize(from: old, count: pendCapacity)
            old.deallocate()
            return b
        }
        pendNext = grown(pendNext); pendPeer = grown(pendPeer); pendStep = grown(pendStep); pendCount = grown(pendCount)
        pendReduce = grown(pendReduce)
        pendCapacity = n
    }

    @usableFromInline
    mutating func growTransfers() {
        let n = trCapacity * 2
        func grown<T>(_ old: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
            let b = UnsafeMutablePointer<T>.allocate(capacity: n)
            b.moveInitialize(from: old, count: trCapacity)
            old.deallocate()
            return b
        }
        trSrc = grown(trSrc); trSrcStep = grown(trSrcStep); trDst = grown(trDst); trDstStep = grown(trDstStep)
        trTime = grown(trTime); trNext = grown(trNext)
        trCapacity = n
    }
}
