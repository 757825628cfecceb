import CCollectiveCore
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
/// - On CPU nodes (``NodeMemorySpec``, a memory link per node that same-node transfers cross,
///   each holding it for its bytes at the memory's transfer rate, not at its path's slower
///   per-rank rate) a reducing receive reduces *after* its data has arrived, as a CPU rank under
///   MPI does, on its rank's core: after the rank's previous reduction, for its share of the
///   node's reduction rate (`bytes x ranks per node / memory reduction rate`). It does not hold
///   the memory link, so it overlaps the transfers in flight. A message with a cache regime
///   (``NodeMemorySpec/cache``: by its size, while the collective's buffers fit) holds the
///   memory link and reduces at that regime's rates instead; its rank's path still bounds it.
///   A regime that gives the rate of one transfer alone (``NodeMemorySpec/Regime/pairGBps``)
///   bounds the transfer at that rate in place of its path's. Every rate is the one of the run's
///   working set (``ScheduleParameters/workingSetBytes``): the input and the output of each rank,
///   or its one buffer when the run is in place (``inPlace``).
/// - Send and receive complete together (the sender's buffer is reusable once the receiver has
///   consumed the data, as with NCCL's credit-based FIFOs): one event per transfer. A staged
///   receive (``Step/reduceAfter``) completes at its transfer's event or, if later, when the
///   send it follows completes (its reduction is timed as any other; in an exchange both
///   directions end together).
/// - Under an NCCL protocol (``protocolTiming``) sends are *eager*, as NCCL's sender writes into
///   the receiver's FIFO without waiting for it, while the rank's (lane's) unmatched sends to that
///   receiver fit in its FIFO (``ProtocolTiming/fifoBytes``): a send starts as soon as it issues, the send
///   completes when its data has arrived, and the receive completes then or, if it is posted
///   later, when it is posted (its reduction streaming with the data is not timed separately).
///   Lanes (``run(lanes:elementSizeBytes:)``) play a schedule's channels apart, as GPUs run
///   them; on CPU nodes ``run(any:elementSizeBytes:)`` plays each rank's interleaved program in
///   order instead, as an MPI process issues it (``FabricMap/channelsRunApart``).
///
/// - Faults (``FabricMap/faults``, none on a healthy cluster): routes run at their slowest
///   degraded link and avoid down spine cables (the fabric's routes); a transfer to or from a
///   late rank starts no earlier than the rank enters, a slow rank's transfers hold their links
///   its slowdown times as long (the larger of the two ends') and its reductions take as long
///   times its slowdown, and jitter adds a seeded draw to every transfer's latency, drawn in the
///   order transfers start. The per-transfer part runs only when ranks or jitter are faulted.
///
/// - On a CPU cluster (``FabricMap/channelsRunApart`` false) the messages in flight between one
///   pair of ranks progress together, as an MPI transport interleaves their fragments: a transfer
///   that starts while an earlier one of its pair still holds its links delays that one by the
///   time the two share (`_EngineState._interleave`); it ends itself when
///   the links would have carried both. GPUs keep one connection per channel and FIFO service.
///
/// Events: one per transfer, at its completion. Transfers from one sender to one receiver
/// complete in the order they started (same path, FIFO), so only the oldest of such a chain waits
/// in the event queue; the next enters when it completes. The queue holds about one event per
/// rank however many chunks are in flight. (A chain's head that a later transfer delayed waits
/// again when its first time comes.)
///
/// Determinism: the event queue orders by (time, sequence); ties keep scheduling order; all
/// arithmetic is in a fixed order. The same input gives the same output bit for bit.
public struct EventEngine: Sendable {
    public let fabric: FabricMap
    /// How NCCL's protocol moves data, when the schedule is played as NCCL plays it (nil: the
    /// fabric's own latencies, every byte on the wire is payload, no per-channel cap).
    public let protocolTiming: ProtocolTiming?
    /// Watches the run (nil: nobody, the default): every transfer and event (``EngineObserver``).
    public var observer: (any EngineObserver)?
    /// Whether the schedule runs in place (``ScheduleParameters/inPlace``): a CPU node's memory
    /// rates are those of the run's working set (``ScheduleParameters/workingSetBytes``), one
    /// buffer per rank in place, an input and an output otherwise (the default).
    public var inPlace: Bool

    public init(fabric: FabricMap, protocolTiming: ProtocolTiming? = nil, inPlace: Bool = false) {
        self.fabric = fabric
        self.protocolTiming = protocolTiming
        self.inPlace = inPlace
    }

    /// Plays `schedule` (one rank per GPU of the fabric) with elements of `elementSizeBytes`.
    @inlinable
    public func run<S: Schedule>(_ schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        try _check(schedule)
        let clock = WallClock()
        let cpuStart = WallClock.processCPUSeconds()
        var state = _EngineState<S.StepIterator>(fabric: fabric, elementSizeBytes: elementSizeBytes, timing: protocolTiming,
                                                 switches: schedule.switchCount, elementCount: schedule.elementCount, inPlace: inPlace)
        defer { state.release() }
        state.watch(observer)
        for r in 0..<schedule.endpointCount {
            state.progress(r).initialize(to: RankProgress(schedule.makeSteps(forRank: r)))
        }
        state.initializedRanks = schedule.endpointCount
        return try _finish(&state, clock: clock, cpuStart: cpuStart)
    }

    /// Plays a schedule's lanes apart (``LanedSchedule``): every (rank, lane) issues its steps in
    /// order on its own, as NCCL's channels run in separate thread blocks, and transfers between
    /// the lanes of two ranks take the path between the two GPUs. Per lane, the reduction of a
    /// GPU is served on its own (a GPU reduces several channels' data at once).
    @inlinable
    public func run<S: LanedSchedule>(lanes schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        try _check(schedule)
        let lanes = max(1, schedule.laneCount)
        guard schedule.endpointCount <= (Int(Int32.max) - 1) / lanes else {
            throw SimulationError("\(fabric.rankCount) ranks x \(lanes) lanes is more than the engine indexes")
        }
        let clock = WallClock()
        let cpuStart = WallClock.processCPUSeconds()
        var state = _EngineState<S.LaneSteps>(fabric: fabric, elementSizeBytes: elementSizeBytes, timing: protocolTiming, lanes: lanes,
                                              switches: schedule.switchCount, elementCount: schedule.elementCount, inPlace: inPlace)
        defer { state.release() }
        state.watch(observer)
        for r in 0..<schedule.endpointCount {
            for l in 0..<lanes {
                state.progress(r * lanes + l).initialize(to: RankProgress(schedule.makeSteps(forRank: r, lane: l)))
                state.initializedRanks += 1
            }
        }
        return try _finish(&state, clock: clock, cpuStart: cpuStart)
    }

    /// Throws unless `schedule` fits the fabric: one rank per GPU, and switch endpoints only where
    /// the nodes' switches reduce.
    @inlinable
    func _check<S: Schedule>(_ schedule: S) throws(SimulationError) {
        guard schedule.rankCount == fabric.rankCount else {
            throw SimulationError("the schedule has \(schedule.rankCount) ranks but the cluster has \(fabric.rankCount) GPUs")
        }
        if let problem = fabric.switchEndpointProblem(schedule.switchCount, nodeSwitches: schedule.reducesInNodeSwitches) {
            throw SimulationError("\(schedule.algorithm.rawValue) reduces in switches, but \(problem)")
        }
    }

    @inlinable
    func _finish<Steps>(_ state: inout _EngineState<Steps>, clock: WallClock, cpuStart: Double) throws(SimulationError) -> EventResult {
        try state.play()
        return EventResult(
            timeSeconds: state.now + (protocolTiming?.startSeconds ?? 0),
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

    /// `the schedule deadlocks: rank 3 waits at step 7 (recvReduce with rank 2) at 12.5 us`: rank
    /// `rank` has steps left when no event is left.
    @usableFromInline
    static func deadlock<Steps>(rank: Int, _ progress: inout RankProgress<Steps>, atSeconds now: Double) -> SimulationError {
        let what = progress.peek().map { "step \(progress.nextIndex) (\($0.kind) with rank \($0.peer))" } ?? "an unmatched transfer"
        return SimulationError("the schedule deadlocks: rank \(rank) waits at \(what) at \(now * 1e6) us")
    }
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

/// Asks the CPU to load the cache line holding `address` (no effect on results): the C shim's
/// `__builtin_prefetch`, one instruction.
@inlinable @inline(__always)
func _prefetch(_ address: UnsafeRawPointer) {
    collective_prefetch(address)
}

/// What the engine keeps per rank besides its ``RankProgress``: one 128-byte record (two cache
/// lines), because events touch ranks in no particular order and one record costs one or two
/// cache misses where a field per array would cost one each.
@usableFromInline
struct _RankRecord {
    // Line 1: the sender side.
    /// Route cache: destination (-1: none), link count, rate (bytes/s), latency (s).
    @usableFromInline var cacheDst: Int32 = -1
    @usableFromInline var cacheCount: Int32 = 0
    @usableFromInline var cacheRate: Double = 0
    @usableFromInline var cacheLatency: Double = 0
    /// The chain of transfers to one receiver, oldest first (-1: empty).
    @usableFromInline var chainDst: Int32 = -1
    @usableFromInline var chainHead: Int32 = -1
    @usableFromInline var chainTail: Int32 = -1
    /// The cached route's ``StepWire`` (its raw value): a folded playback's transfers between
    /// one pair may hold all of the path or one side of it.
    @usableFromInline var cacheWire: UInt8 = 0
    /// When the last transfer of the chain leaves its links (its `end`), for
    /// ``_EngineState/interleavesPairs``.
    @usableFromInline var chainTailEnd: Double = 0
    /// Same-node transfers this rank has sent that have not arrived yet, on a CPU node whose
    /// memory moves faster with more in flight (``_EngineState/inFlightFactor``).
    @usableFromInline var sameNodeInFlight: Int64 = 0
    /// When this GPU's (on a CPU node: this rank's core's) previous reduction ends.
    @usableFromInline var reduceFreeAt: Double = 0
    // Line 2: the cached route's links.
    @usableFromInline var links: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Staged receives of this rank whose transfer completed before the send they follow: a list
    /// of transfer records through `next` (-1: empty).
    @usableFromInline var parkedHead: Int32 = -1
    @usableFromInline var _pad0: Int32 = 0
    /// Eager sends of this rank whose receive is not posted yet, per destination: up to four
    /// destinations (-1: free) with a count each (at most NCCL_STEPS: one FIFO per connection).
    @usableFromInline var eagerPeers: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
    @usableFromInline var eagerCounts: (Int16, Int16, Int16, Int16) = (0, 0, 0, 0)

    /// The unmatched eager sends to `peer` (0 when none).
    @inlinable func eagerCount(to peer: Int32) -> Int32 {
        withUnsafeBytes(of: eagerPeers) { p in
            withUnsafeBytes(of: eagerCounts) { c in
                let peers = p.bindMemory(to: Int32.self), counts = c.bindMemory(to: Int16.self)
                for k in 0..<4 where peers[k] == peer { return Int32(counts[k]) }
                return 0
            }
        }
    }

    /// Adds `delta` to the unmatched eager sends to `peer`; false when four other destinations
    /// already hold slots (the send then waits for its receive).
    @inlinable mutating func addEager(to peer: Int32, _ delta: Int32) -> Bool {
        var slot = -1, free = -1
        withUnsafeBytes(of: eagerPeers) { p in
            let peers = p.bindMemory(to: Int32.self)
            for k in 0..<4 {
                if peers[k] == peer { slot = k; break }
                if peers[k] < 0 && free < 0 { free = k }
            }
        }
        if slot < 0 { slot = free }
        guard slot >= 0 else { return false }
        withUnsafeMutableBytes(of: &eagerPeers) { p in p.bindMemory(to: Int32.self)[slot] = peer }
        withUnsafeMutableBytes(of: &eagerCounts) { c in
            let counts = c.bindMemory(to: Int16.self)
            counts[slot] += Int16(truncatingIfNeeded: delta)
            if counts[slot] == 0 { withUnsafeMutableBytes(of: &eagerPeers) { p in p.bindMemory(to: Int32.self)[slot] = -1 } }
        }
        return true
    }

    @inlinable init() {}
}

/// A transfer in flight (32 bytes: two per cache line, none across two).
@usableFromInline
struct _TransferRecord {
    @usableFromInline var src: Int32 = 0
    @usableFromInline var dst: Int32 = 0
    /// Next transfer of the sender's chain (-1: last, -2: not chained).
    @usableFromInline var next: Int32 = -1
    /// The step indices of the send and of the receive (step indices are 32-bit, as in
    /// ``StepDependencies``). An eager transfer not yet matched has receive -1, and -2 once it
    /// has arrived.
    @usableFromInline var srcStep: Int32 = 0
    @usableFromInline var dstStep: Int32 = 0
    /// The receive's ``Step/reduceAfter`` (-1: none).
    @usableFromInline var reduceAfter: Int32 = -1
    /// Completion time, seconds.
    @usableFromInline var time: Double = 0
    @inlinable init() {}
}

/// An issued send or receive waiting for its match (what the engine's ``SendReceiveMatcher``
/// keeps).
@usableFromInline
struct _PendingRecord {
    @usableFromInline var reduce: Bool = false
    /// A send's ``Step/wire``.
    @usableFromInline var wire: StepWire = .full
    /// A receive's ``Step/reduceAfter`` (-1: none).
    @usableFromInline var reduceAfter: Int32 = -1
    /// An eager send's transfer, already on its way (-1: a send waiting for its receive).
    @usableFromInline var transfer: Int32 = -1
    @usableFromInline var step: Int = 0
    @usableFromInline var count: Int = 0
    @inlinable init(step: Int, count: Int, reduce: Bool = false, reduceAfter: Int32 = -1, transfer: Int32 = -1, wire: StepWire = .full) {
        self.wire = wire
        self.step = step
        self.count = count
        self.reduce = reduce
        self.reduceAfter = reduceAfter
        self.transfer = transfer
    }
}

/// A link: when it is next free, and the bytes it carried.
@usableFromInline
struct _LinkRecord {
    @usableFromInline var freeAt: Double = 0
    @usableFromInline var bytes: Double = 0
    @inlinable init() {}
}

/// The engine's state over raw buffers of records: no allocation per event.
@usableFromInline
struct _EngineState<Steps: IteratorProtocol<Step>>: ~Copyable {
    @usableFromInline let fabric: FabricMap
    /// Progress entries: ranks x lanes (entry `rank * lanes + lane`).
    @usableFromInline let rankCount: Int
    @usableFromInline let lanes: Int
    /// GPUs of the fabric.
    @usableFromInline let gpuCount: Int
    /// GPUs and the schedule's switch endpoints (``Schedule/switchCount``): the peers a step may name.
    @usableFromInline let endpointCount: Int
    @usableFromInline let elementSizeBytes: Double
    @usableFromInline let gammaSecondsPerByte: Double
    /// A CPU node's memory (``NodeMemorySpec``): seconds per byte a reduction holds its node's
    /// memory link (0: no memory link, reductions stream with the data at gamma). This and the
    /// transfer rate below are the memory's rates at the run's working set (the bytes of buffer
    /// each rank spans, ``ScheduleParameters/workingSetBytes``;
    /// ``FabricMap/memorySecondsPerByte(workingSetBytes:)``).
    @usableFromInline let memoryReduceSecondsPerByte: Double
    /// The memory's message-size regimes at this run's working set
    /// (``FabricMap/memoryCache(workingSetBytes:)``, increasing bytes; empty: none): a message of
    /// at most an entry's bytes crosses a node's memory at its seconds per byte.
    @usableFromInline let cacheRegimes: [FabricMap.MemoryCacheRegime]
    /// Seconds per byte a same-node transfer holds its node's memory link (0: no memory link).
    @usableFromInline let memoryTransferSecondsPerByte: Double
    /// Seconds per byte of one same-node transfer alone at the run's working set, outside the
    /// cache regimes (``FabricMap/memorySecondsPerByte(workingSetBytes:)``; 0: the path's links
    /// set it).
    @usableFromInline let memoryPairSecondsPerByte: Double
    /// On a CPU node, how many times the memory's reduction seconds per byte (what all the node's
    /// ranks reduce together) one rank's reduction takes on its core
    /// (``NodeMemorySpec/coreReduceShare(ranksPerNode:)``).
    @usableFromInline let coreReduceShare: Double
    /// The run's working set is beyond a CPU node's caches
    /// (``FabricMap/memoryBeyondCaches(workingSetBytes:)``): a same-node reduction then also holds
    /// its rank's incoming link, the core that copies the rank's incoming messages.
    @usableFromInline let memoryBeyondCaches: Bool
    /// A CPU node's same-node transfer rate factor by the messages in flight of the sender
    /// (``FabricMap/memoryInFlightFactors(workingSetBytes:)``, indexed by the count; empty: none).
    @usableFromInline let inFlightFactor: [Double]
    /// The protocol's figures: hop latency by path kind, wire bytes per payload byte, and the
    /// least time per payload byte of one channel (0: no cap).
    @usableFromInline let timing: ProtocolTiming?
    @usableFromInline let wireFactor: Double
    @usableFromInline let channelSecondsPerByte: Double
    /// Sends leave without waiting for their receive (NCCL's FIFOs), under a protocol's timing.
    @usableFromInline let eager: Bool
    /// Payload a connection's FIFO holds (``ProtocolTiming/fifoBytes``).
    @usableFromInline let fifoBytes: Double
    /// Whether messages between one pair of ranks progress together (a CPU cluster's MPI
    /// transport interleaves the fragments of the messages in flight to one peer) rather than
    /// one after another (a GPU's FIFO): ``FabricMap/channelsRunApart`` false.
    @usableFromInline let interleavesPairs: Bool

    /// Whether one more eager send of `bytes` from `r` to `peer` fits in the FIFO (the first
    /// always does).
    @inlinable func fifoRoom(_ r: Int, _ peer: Int, bytes: Double) -> Bool {
        let n = rank[r].eagerCount(to: Int32(truncatingIfNeeded: peer))
        return n == 0 || Double(n + 1) * bytes <= fifoBytes
    }

    /// Each rank's ``RankProgress`` at a multiple of 64 bytes (its first lines, what completing
    /// and issuing a step read, then sit in as few cache lines as they can).
    @usableFromInline var ranks: UnsafeMutableRawPointer
    @usableFromInline let progressStride: Int
    /// The leading bytes of a rank's progress that issuing and completing steps read (at most 256).
    @usableFromInline let progressHotBytes: Int
    @usableFromInline var initializedRanks = 0
    @usableFromInline var rank: UnsafeMutablePointer<_RankRecord>
    @usableFromInline var rankStorage: UnsafeMutableRawPointer

    /// Pairs the (rank, lane) entries' issued sends and receives.
    @usableFromInline var matcher: SendReceiveMatcher<_PendingRecord>

    @usableFromInline var transfer: UnsafeMutablePointer<_TransferRecord>
    @usableFromInline var trCapacity: Int
    /// Freed transfer records, a stack (capacity `trCapacity`): the record a completion frees is
    /// the one the transfers it starts reuse, still in the cache, and taking it reads no record.
    @usableFromInline var trFree: UnsafeMutablePointer<Int32>
    @usableFromInline var trFreeCount = 0
    @usableFromInline var trUsed = 0

    /// Link records in the order the engine first used the links (a route's links, first used
    /// together, then share one or two cache lines): `linkSlot[l]` is the record of fabric link
    /// `l` (-1: not used yet).
    @usableFromInline var link: UnsafeMutablePointer<_LinkRecord>
    @usableFromInline let linkCount: Int
    @usableFromInline var linkSlot: UnsafeMutablePointer<Int32>
    @usableFromInline var linkSlotsUsed = 0
    @usableFromInline var path: UnsafeMutablePointer<Int>

    @usableFromInline var queue: EventQueue
    /// The CPU nodes' memories, reserved by same-node transfers (no node: no memory link).
    @usableFromInline var memoryCalendar: MemoryCalendar
    @usableFromInline var now: Double = 0
    @usableFromInline var events = 0
    @usableFromInline var transfers = 0
    @usableFromInline var failure: String?
    /// The run's observer, whether there is one (what the hot paths test: a plain flag, where
    /// testing the optional reference could retain and release it), and the chunk of the step
    /// being issued (what it is told).
    @usableFromInline var observer: (any EngineObserver)?
    @usableFromInline var watching = false
    @usableFromInline var observedChunk = 0
    /// Whether ranks are late or slow or transfers jitter (``FabricFaults/timesRanks``): what
    /// ``start`` tests before it times a transfer's ranks (a healthy run: this flag only).
    @usableFromInline let timesRanks: Bool
    /// The jitter's draws, in the order transfers start.
    @usableFromInline var jitterRandom: SplitMix64

    @inlinable
    mutating func watch(_ observer: (any EngineObserver)?) {
        self.observer = observer
        watching = observer != nil
    }

    @inlinable
    init(fabric: FabricMap, elementSizeBytes: Int, timing: ProtocolTiming? = nil, lanes: Int = 1, switches: Int = 0, elementCount: Int = 0,
         inPlace: Bool = false) {
        precondition((fabric.rankCount + switches) * lanes < Int(Int32.max) && fabric.linkCount < Int(Int32.max), "EventEngine: cluster too large")
        self.fabric = fabric
        self.lanes = lanes
        gpuCount = fabric.rankCount
        endpointCount = fabric.rankCount + switches
        self.timing = timing
        wireFactor = timing?.wireBytesPerPayloadByte ?? 1
        eager = timing != nil
        fifoBytes = timing?.fifoBytes ?? 0
        interleavesPairs = !fabric.channelsRunApart
        channelSecondsPerByte = timing.map { $0.channelCapGBps > 0 ? 1 / ($0.channelCapGBps * 1e9) : 0 } ?? 0
        timesRanks = fabric.faults?.timesRanks ?? false
        jitterRandom = SplitMix64(seed: fabric.faults?.jitter?.seed ?? 0)
        rankCount = endpointCount * lanes
        self.elementSizeBytes = Double(elementSizeBytes)
        gammaSecondsPerByte = fabric.gammaSecondsPerByte
        let workingSet = ScheduleParameters.workingSetBytes(elementCount: elementCount, elementSizeBytes: elementSizeBytes, inPlace: inPlace)
        let memory = fabric.memorySecondsPerByte(workingSetBytes: workingSet)
        memoryReduceSecondsPerByte = memory.reduce
        cacheRegimes = fabric.memoryCache(workingSetBytes: workingSet)
        memoryTransferSecondsPerByte = memory.transfer
        memoryPairSecondsPerByte = memory.pair
        coreReduceShare = NodeMemorySpec.coreReduceShare(ranksPerNode: fabric.gpusPerNode)
        memoryBeyondCaches = fabric.memoryBeyondCaches(workingSetBytes: workingSet)
        inFlightFactor = fabric.memoryInFlightFactors(workingSetBytes: workingSet)
        let p = Swift.max(rankCount, 1)
        progressStride = (MemoryLayout<RankProgress<Steps>>.stride + 63) / 64 * 64
        progressHotBytes = Swift.min(RankProgress<Steps>.hotBytes, progressStride, 256)
        ranks = .allocate(byteCount: p * progressStride, alignment: 64)
        rankStorage = .allocate(byteCount: p * MemoryLayout<_RankRecord>.stride, alignment: 64)
        rank = rankStorage.bindMemory(to: _RankRecord.self, capacity: p)
        rank.initialize(repeating: _RankRecord(), count: p)
        matcher = SendReceiveMatcher(endpointCount: p)
        trCapacity = Swift.max(64, 2 * p)
        transfer = .allocate(capacity: trCapacity)
        trFree = .allocate(capacity: trCapacity)
        linkCount = fabric.linkCount
        link = .allocate(capacity: Swift.max(1, linkCount))
        link.initialize(repeating: _LinkRecord(), count: Swift.max(1, linkCount))
        linkSlot = .allocate(capacity: Swift.max(1, linkCount))
        linkSlot.initialize(repeating: -1, count: Swift.max(1, linkCount))
        path = .allocate(capacity: FabricMap.maxPathLinks)
        queue = EventQueue(capacity: Swift.max(1024, 2 * p))
        memoryCalendar = MemoryCalendar(nodes: memoryTransferSecondsPerByte > 0 ? fabric.nodeCount : 0)
    }

    /// Rank `r`'s progress.
    @inlinable @inline(__always)
    func progress(_ r: Int) -> UnsafeMutablePointer<RankProgress<Steps>> {
        (ranks + r * progressStride).assumingMemoryBound(to: RankProgress<Steps>.self)
    }

    /// Starts loading rank `r`'s progress and record into the cache: the lines of its progress
    /// that issuing and completing steps read (``RankProgress/hotBytes``: the counters and
    /// flags, the next step, and the first fields of the step iterator) and its record.
    @inlinable @inline(__always)
    func prefetchRank(_ r: Int) {
        let p = UnsafeRawPointer(ranks + r * progressStride)
        _prefetch(p)
        _prefetch(p + 64)
        if progressHotBytes > 128 { _prefetch(p + 128) }
        if progressHotBytes > 192 { _prefetch(p + 192) }
        _prefetch(UnsafeRawPointer(rank + r))
        _prefetch(UnsafeRawPointer(rank + r) + 64)
    }

    /// Starts loading what issuing the step rank `r`'s iterator has produced reads of the peer it
    /// names: the peer's lists in the matcher (which it scans) and the peer's record (whose route
    /// cache a matched receive's transfer reads, and whose eager counts it updates).
    @inlinable @inline(__always)
    func prefetchPeer(of r: Int) {
        let peer = progress(r).pointee.nextPeerHint
        guard peer >= 0 && peer < endpointCount else { return }
        let entry = lanes == 1 ? peer : peer * lanes + r % lanes
        matcher.prefetchLists(of: entry)
        _prefetch(UnsafeRawPointer(rank + entry))
    }

    @inlinable
    mutating func release() {
        for r in 0..<initializedRanks { _ = progress(r).deinitialize(count: 1) }
        ranks.deallocate()
        rankStorage.deallocate()
        transfer.deallocate()
        trFree.deallocate()
        link.deallocate()
        linkSlot.deallocate()
        path.deallocate()
    }

    @inlinable
    mutating func play() throws(SimulationError) {
        for r in 0..<rankCount { issueReady(r) }
        while failure == nil, let e = queue.pop() {
            // A transfer a later one of its pair slowed (``interleavesPairs``) completes later
            // than it was queued for: it waits again.
            if interleavesPairs && transfer[e.payload].time > e.time {
                queue.push(time: transfer[e.payload].time, payload: e.payload)
                continue
            }
            now = e.time
            events += 1
            // Fetch what the coming events touch while this one runs: the records of the next
            // event's ranks (its transfer record was fetched two events earlier), and the
            // transfer record of the event three ahead.
            if let a = queue.payload(ahead: 0) {
                prefetchRank(Int(transfer[a].src))
                prefetchRank(Int(transfer[a].dst))
                // The next transfer of its chain, which its completion queues.
                if transfer[a].next >= 0 { _prefetch(transfer + Int(transfer[a].next)) }
                if let b = queue.payload(ahead: 2) { _prefetch(transfer + b) }
            }
            let id = e.payload
            if watching { _observeCompletion(id) }
            let t = transfer[id]
            let src = Int(t.src), dst = Int(t.dst)
            if !inFlightFactor.isEmpty && rank[src].sameNodeInFlight > 0 && _crossesMemory(src: src, dst: dst) { rank[src].sameNodeInFlight -= 1 }
            prefetchPeer(of: src)
            prefetchPeer(of: dst)
            if t.next != -2 {
                // The head of `src`'s chain: the next transfer of the chain enters the queue.
                rank[src].chainHead = t.next
                if t.next < 0 { rank[src].chainTail = -1 } else { queue.push(time: transfer[Int(t.next)].time, payload: Int(t.next)) }
            }
            progress(src).pointee.complete(Int(t.srcStep))
            if t.dstStep < 0 {
                // An eager transfer that arrived before its receive was posted: the receive
                // completes when it is issued.
                transfer[id].dstStep = -2
            } else {
                deliver(id, to: dst)
            }
            if rank[src].parkedHead >= 0 { releaseParked(src) }
            issueReady(src)
            issueReady(dst)
        }
        if let failure { throw SimulationError(failure) }
        for r in 0..<rankCount where !progress(r).pointee.isFinished() {
            throw SimulationError.deadlock(rank: r / lanes, &progress(r).pointee, atSeconds: now)
        }
    }

    /// Tells the observer the engine handles transfer `id`'s completion (out of line).
    @usableFromInline @inline(never)
    func _observeCompletion(_ id: Int) {
        observer?.transferCompleting(slot: id, atSeconds: now)
    }

    /// The busiest link of each class.
    @usableFromInline
    func utilization() -> [LinkUtilization] {
        guard now > 0 else { return [] }
        var best: [FabricMap.LinkClass: (Int, Double)] = [:]
        for l in 0..<linkCount where linkSlot[l] >= 0 && link[Int(linkSlot[l])].bytes > 0 {
            let c = fabric.linkClass(l)
            let busy = link[Int(linkSlot[l])].bytes / fabric.linkBytesPerSecond(l)
            if best[c] == nil || busy > best[c]!.1 { best[c] = (l, busy) }
        }
        return FabricMap.LinkClass.allCases.compactMap { c in
            best[c].map { LinkUtilization(linkClass: c, busiestLink: fabric.linkName($0.0), busyFraction: min(1, $0.1 / now)) }
        }
    }

    /// Completes the staged receives of rank `r` whose send has completed.
    @usableFromInline
    mutating func releaseParked(_ r: Int) {
        var prev: Int32 = -1
        var i = rank[r].parkedHead
        while i >= 0 {
            let next = transfer[Int(i)].next
            if progress(r).pointee.isCompleted(Int(transfer[Int(i)].reduceAfter)) {
                if prev < 0 { rank[r].parkedHead = next } else { transfer[Int(prev)].next = next }
                progress(r).pointee.complete(Int(transfer[Int(i)].dstStep))
                freeTransfer(Int(i))
            } else {
                prev = i
            }
            i = next
        }
    }

    /// Issues every step of rank `r` that may start now, matching sends with receives.
    @inlinable
    mutating func issueReady(_ r: Int) {
        while let (index, step) = progress(r).pointee.issueNext() {
            if watching { observedChunk = step.chunk }
            let gpu = lanes == 1 ? r : r / lanes
            guard step.peer >= 0 && step.peer < endpointCount && step.peer != gpu else {
                failure = "rank \(gpu) step \(index) names peer \(step.peer), outside 0..<\(endpointCount) or itself"
                return
            }
            if gpu >= gpuCount || step.peer >= gpuCount {
                // A GPU and a switch endpoint (``FabricMap/switchServes(_:gpu:)``).
                let (endpoint, other) = gpu >= gpuCount ? (gpu, step.peer) : (step.peer, gpu)
                guard fabric.switchServes(endpoint, gpu: other) else {
                    failure = "rank \(gpu) step \(index) names peer \(step.peer): a switch endpoint exchanges data with its own node's GPUs (an NVSwitch) or with one GPU index of every node (the network's reduction) only"
                    return
                }
            }
            let peer = lanes == 1 ? step.peer : step.peer * lanes + (r - gpu * lanes)
            if step.kind == .send {
                if let q = matcher.takeReceive(at: peer, from: r) {
                    start(src: r, srcStep: index, dst: peer, dstStep: q.step, count: step.count, recvCount: q.count, reduce: q.reduce,
                          reduceAfter: q.reduceAfter, wire: step.wire)
                } else if eager && fifoRoom(r, peer, bytes: Double(step.count) * elementSizeBytes)
                            && rank[r].addEager(to: Int32(truncatingIfNeeded: peer), 1) {
                    // NCCL's sender writes into the receiver's FIFO without waiting for it, as
                    // long as the FIFO has a free slot.
                    let id = start(src: r, srcStep: index, dst: peer, dstStep: -1, count: step.count, recvCount: step.count, reduce: false,
                                   wire: step.wire)
                    if id >= 0 {
                        matcher.waitSend(_PendingRecord(step: index, count: step.count, transfer: Int32(truncatingIfNeeded: id)), from: r, to: peer)
                    }
                } else {
                    matcher.waitSend(_PendingRecord(step: index, count: step.count, wire: step.wire), from: r, to: peer)
                }
            } else {
                let reduceAfter = Int32(truncatingIfNeeded: step.reduceAfter ?? -1)
                if let q = matcher.takeSend(from: peer, to: r) {
                    if q.transfer >= 0 {
                        _ = rank[peer].addEager(to: Int32(truncatingIfNeeded: r), -1)
                        matchEager(Int(q.transfer), receiver: r, step: index, reduceAfter: reduceAfter)
                    } else {
                        start(src: peer, srcStep: q.step, dst: r, dstStep: index, count: q.count, recvCount: step.count,
                              reduce: step.kind == .recvReduce, reduceAfter: reduceAfter, wire: q.wire)
                    }
                } else {
                    matcher.waitReceive(_PendingRecord(step: index, count: step.count, reduce: step.kind == .recvReduce, reduceAfter: reduceAfter),
                                        at: r, from: peer)
                }
            }
            if failure != nil { return }
        }
    }

    /// Matches the receive `step` of `receiver` with eager transfer `id`: completes the receive
    /// now if the data has arrived (parked behind its `reduceAfter` send if that is still in
    /// flight), else lets the transfer's event complete it.
    @inlinable
    mutating func matchEager(_ id: Int, receiver r: Int, step: Int, reduceAfter: Int32) {
        let arrived = transfer[id].dstStep == -2
        transfer[id].dstStep = Int32(truncatingIfNeeded: step)
        transfer[id].reduceAfter = reduceAfter
        if arrived { deliver(id, to: r) }
    }

    /// Completes the receive of arrived transfer `id` at `dst` and frees the transfer, or parks
    /// it while the send its ``Step/reduceAfter`` names is still in flight.
    @inlinable
    mutating func deliver(_ id: Int, to dst: Int) {
        let reduceAfter = transfer[id].reduceAfter
        if reduceAfter >= 0 && !progress(dst).pointee.isCompleted(Int(reduceAfter)) {
            transfer[id].next = rank[dst].parkedHead
            rank[dst].parkedHead = Int32(truncatingIfNeeded: id)
        } else {
            progress(dst).pointee.complete(Int(transfer[id].dstStep))
            freeTransfer(id)
        }
    }

    /// Reserves the path of a matched transfer (or, eager, of a send whose receive is not posted
    /// yet: `dstStep` -1) and schedules its arrival. Returns the transfer, or -1 on a failure.
    @inlinable @discardableResult
    mutating func start(src: Int, srcStep: Int, dst: Int, dstStep: Int, count: Int, recvCount: Int, reduce: Bool, reduceAfter: Int32 = -1,
                        wire stepWire: StepWire = .full) -> Int {
        guard count == recvCount else {
            failure = "rank \(src / lanes) sends \(count) elements to rank \(dst / lanes), which expects \(recvCount)"
            return -1
        }
        let bytes = Double(count) * elementSizeBytes
        let dst32 = Int32(truncatingIfNeeded: dst)
        if rank[src].cacheDst != dst32 || rank[src].cacheWire != stepWire.rawValue {
            let route = fabric.route(from: src / lanes, to: dst / lanes, links: path)
            rank[src].cacheDst = dst32
            rank[src].cacheWire = stepWire.rawValue
            // A same-node route of a CPU node ends at the node's memory link, which a transfer
            // holds at the memory's rate for its message and working set (`start`'s memory
            // hold); the path's own rate is that of its other links, the rank's.
            var rate = route.bytesPerSecond
            if route.count > 1 && fabric.linkClass(path[route.count - 1]) == .memory {
                rate = (0..<(route.count - 1)).reduce(Double.infinity) { Swift.min($0, fabric.linkBytesPerSecond(path[$1])) }
            }
            // A folded playback's transfer that stands for a node not played holds one side of
            // the path (``StepWire``), at the whole path's rate and latency.
            let held = stepWire == .full ? 0..<route.count
                : fabric.side(stepWire == .senderSide ? .sender : .receiver, ofRoute: path, count: route.count)
            if held.lowerBound > 0 { for k in held { path[k - held.lowerBound] = path[k] } }
            rank[src].cacheCount = Int32(held.count)
            rank[src].cacheRate = rate
            rank[src].cacheLatency = timing.map { $0.hopLatencySeconds(fabric.pathKind(from: src / lanes, to: dst / lanes)) } ?? route.latencySeconds
            withUnsafeMutableBytes(of: &rank[src].links) { raw in
                let l = raw.bindMemory(to: Int32.self)
                for k in 0..<held.count {
                    let fabricLink = path[k]
                    if linkSlot[fabricLink] < 0 {
                        linkSlot[fabricLink] = Int32(truncatingIfNeeded: linkSlotsUsed)
                        linkSlotsUsed += 1
                    }
                    l[k] = linkSlot[fabricLink]
                }
            }
        }
        let record = rank[src]
        let n = Int(record.cacheCount)
        var latency = record.cacheLatency
        let wire = bytes * wireFactor
        var duration = wire / record.cacheRate
        // A same-node transfer between ranks of a CPU node crosses the node's memory link (the
        // last link of its path); GPU fabrics have none and skip the test.
        let crossesMemory = _crossesMemory(src: src, dst: dst)
        // A CPU node's cache regime for this message, for its transfer and its reduction.
        let cached = memoryTransferSecondsPerByte > 0 ? _cacheRegime(bytes) : nil
        var notBefore = now, slowdown = 1.0
        if timesRanks { (notBefore, slowdown, latency) = _rankFaults(src: src, dst: dst, latency: latency); duration *= slowdown }
        // A same-node transfer on a CPU node holds the node's memory link (its path's last link)
        // for the bytes at the memory's own rate, which the node's ranks share, not at the path's
        // slower per-rank rate: two ranks' transfers then share the memory instead of taking turns.
        // It arrives when each of its links has carried it (the memory may start later and end
        // sooner than the per-rank links); every other link is held for the path's duration, so
        // GPU paths arrive, as before, one duration after their last link starts.
        // (At a working set whose memory is slower than the path, the memory bounds the transfer.)
        // The memory serves the node's transfers in the order their data reaches it, each in the
        // earliest gap that holds it (``MemoryCalendar``), not in the order they were issued: a
        // rank that posts a window of sends at once does not keep the other ranks' transfers
        // behind the last of its reservations while the memory idles in between.
        // The memory's rate is the message's cache regime's while it has one (the node's ranks
        // share that rate as they share DRAM's; the rank's own path still bounds a lone
        // transfer), else the working set's.
        // One transfer alone takes at least its bytes at the regime's rate for a lone pair (the
        // message's cache regime's, else the working set's), when the file gives one: it stands
        // for the path's links, and the memory's shared rate still holds the node's transfers
        // together (two at once take the memory's time for both).
        // Beyond the caches the memory moves the node's transfers faster the more messages each
        // rank keeps in flight (``NodeMemorySpec/inFlight``): this one at the working set's rate
        // (one in flight) times the factor of its sender's transfers in flight, itself included.
        var memoryHold = -1.0
        if crossesMemory {
            memoryHold = wire * (cached?.transferSecondsPerByte ?? memoryTransferSecondsPerByte) * slowdown
            if !inFlightFactor.isEmpty {
                rank[src].sameNodeInFlight += 1
                memoryHold /= inFlightFactor[Swift.min(inFlightFactor.count - 1, Int(rank[src].sameNodeInFlight))]
            }
            let pair = cached?.pairSecondsPerByte ?? memoryPairSecondsPerByte
            if pair > 0 { duration = wire * pair * slowdown }
            duration = Swift.max(duration, memoryHold)
        }
        // The links serve the transfer in path order, each for the wire bytes at the path's rate
        // once it is free and the data has reached it (cut-through): a link that is free early
        // carries the data on and is free again for other transfers, while the data waits in the
        // switch for a busy link further on. The transfer arrives when the last link has carried
        // it, as if all its links were held from the latest of their free times; it may take
        // longer when one channel of the protocol cannot move data that fast.
        let end: Double = withUnsafeBytes(of: record.links) { raw in
            let l = raw.bindMemory(to: Int32.self)
            var begin = notBefore
            var arrival = n == 0 ? begin + duration : begin
            // Every link but a CPU node's memory (the path's last, when it crosses one) is held
            // for the path's duration.
            let held = memoryHold >= 0 ? n - 1 : n
            for k in 0..<held {
                let i = Int(l[k])
                begin = Swift.max(begin, link[i].freeAt)
                link[i].freeAt = begin + duration
                link[i].bytes += wire
                arrival = Swift.max(arrival, begin + duration)
            }
            if held < n {
                // A node's memory serves transfers in the order their data reaches it
                // (``MemoryCalendar``), not the order they were issued.
                let i = Int(l[held])
                begin = memoryCalendar.reserve(node: dst / lanes / fabric.gpusPerNode, notBefore: begin, hold: memoryHold, now: now)
                link[i].bytes += wire
                arrival = Swift.max(arrival, begin + memoryHold)
            }
            return Swift.max(arrival, begin + bytes * channelSecondsPerByte)
        }
        var done = end + latency
        var reduceBegin: Double? = nil
        if reduce && memoryReduceSecondsPerByte > 0 && dst < gpuCount * lanes {
            // A CPU rank reduces the received buffer once it has arrived, on its own core, after
            // its previous reduction, at its share of the node's reduction rate (the node's ranks
            // reduce at once, each on its core: the rate was measured so). While the buffers fit
            // in the caches it does not take turns with the node's transfers on the memory link,
            // and overlaps the transfers in flight (the next chunk's, the other ranks').
            // Beyond the caches two more things hold. The rank's core also makes the copies of
            // the messages it receives (Open MPI's shared-memory transport copies a large message
            // with the receiver's process_vm_readv; over TCP the receiver reads the socket): a
            // reduction waits for the rank's incoming link (its path's link before the memory)
            // and holds it, so the rank copies and reduces in turn. And the reduction streams its
            // operands from DRAM, which the node's transfers stream through too: it takes the
            // node's memory for its bytes at the node's reduction rate (what the node's ranks
            // reduce together), in the calendar's first gap from when it can start, and the
            // node's transfers take turns with it there.
            let node = dst / lanes / fabric.gpusPerNode
            let m = memorySlot(ofNode: node)
            var reduceStart = Swift.max(done, rank[dst].reduceFreeAt)
            let core = memoryBeyondCaches && crossesMemory && n >= 2 ? withUnsafeBytes(of: record.links) { Int($0.bindMemory(to: Int32.self)[n - 2]) } : -1
            if core >= 0 {
                reduceStart = Swift.max(reduceStart, link[core].freeAt)
                reduceStart = memoryCalendar.reserve(node: node, notBefore: reduceStart, hold: bytes * memoryReduceSecondsPerByte, now: now)
            }
            reduceBegin = reduceStart
            done = reduceStart + bytes * (cached?.reduceSecondsPerByte ?? memoryReduceSecondsPerByte) * coreReduceShare
            if core >= 0 { link[core].freeAt = Swift.max(link[core].freeAt, done) }
            link[m].bytes += bytes
            rank[dst].reduceFreeAt = done
        } else if reduce && gammaSecondsPerByte > 0 && dst < gpuCount * lanes {
            // (A switch adds what its ports bring in at their rate: no GPU reduction to time.)
            let begin = end - Swift.max(duration, bytes * channelSecondsPerByte)
            let reduceStart = Swift.max(begin + latency, rank[dst].reduceFreeAt)
            reduceBegin = reduceStart
            done = Swift.max(done, reduceStart + bytes * gammaSecondsPerByte * slowdown)
            rank[dst].reduceFreeAt = done
        }
        let id = allocTransfer()
        let id32 = Int32(truncatingIfNeeded: id)
        transfer[id].src = Int32(truncatingIfNeeded: src)
        transfer[id].dst = dst32
        precondition(srcStep <= Int(Int32.max) && dstStep <= Int(Int32.max), "EventEngine: step index beyond 2^31")
        transfer[id].srcStep = Int32(truncatingIfNeeded: srcStep)
        transfer[id].dstStep = Int32(truncatingIfNeeded: dstStep)
        transfer[id].reduceAfter = reduceAfter
        transfer[id].time = done
        transfers += 1
        if watching {
            _observeStart(id: id, src: src, dst: dst, srcStep: srcStep, dstStep: dstStep, bytes: bytes, reduce: reduce,
                          linkBegin: end - Swift.max(duration, bytes * channelSecondsPerByte), duration: duration, reduceBegin: reduceBegin, done: done)
        }
        // Transfers from one sender to one receiver share a path, which serves them in order, so
        // they complete in order: only the oldest of such a chain waits in the event queue. (A
        // transfer on one side of the path does not share all of it: it waits on its own.)
        if stepWire != .full {
            transfer[id].next = -2
            queue.push(time: done, payload: id)
        } else if rank[src].chainTail < 0 {
            rank[src].chainDst = dst32; rank[src].chainHead = id32; rank[src].chainTail = id32
            rank[src].chainTailEnd = end
            transfer[id].next = -1
            queue.push(time: done, payload: id)
        } else if rank[src].chainDst == dst32 {
            if interleavesPairs { _interleave(after: Int(rank[src].chainTail), tailEnd: rank[src].chainTailEnd, id, end: end) }
            transfer[Int(rank[src].chainTail)].next = id32
            rank[src].chainTail = id32
            rank[src].chainTailEnd = end
            transfer[id].next = -1
        } else {
            transfer[id].next = -2  // not chained
            queue.push(time: done, payload: id)
        }
        return id
    }

    /// Transfer `id`, whose links carry it until `end`, starts while transfer `tail` of the same
    /// pair still has bytes to move (until `tailEnd`): the two share the pair from now on, as an
    /// MPI transport interleaves the fragments of two messages to one peer. The links still
    /// serve them one after the other (`id` ends when it would have), but `tail`'s remaining
    /// bytes now move at half the rate while `id` moves: it ends later by the time they share,
    /// the smaller of what `tail` had left and what `id` takes. (Processor sharing of two equal
    /// flows: the first of them to finish is delayed by the time they run together, the other
    /// ends when the pair has moved both.) Completions stay in the chain's order.
    @usableFromInline @inline(__always)
    mutating func _interleave(after tail: Int, tailEnd: Double, _ id: Int, end: Double) {
        guard tailEnd > now else { return }
        let shared = Swift.min(tailEnd - now, end - Swift.max(now, tailEnd))
        guard shared > 0 else { return }
        transfer[tail].time += shared
        if transfer[id].time < transfer[tail].time { transfer[id].time = transfer[tail].time }
    }

    /// Whether a transfer from `src` to `dst` crosses a CPU node's memory: both ranks on one node
    /// that has a memory link.
    @inlinable @inline(__always)
    func _crossesMemory(src: Int, dst: Int) -> Bool {
        memoryTransferSecondsPerByte > 0 && dst < gpuCount * lanes && (src / lanes) / fabric.gpusPerNode == (dst / lanes) / fabric.gpusPerNode
    }

    /// The cache regime of a message of `bytes` on a CPU node: the first of ``cacheRegimes`` of at
    /// least that many bytes, or nil (the working set's rates apply).
    @usableFromInline @inline(__always)
    func _cacheRegime(_ bytes: Double) -> FabricMap.MemoryCacheRegime? {
        for regime in cacheRegimes where bytes <= regime.bytes { return regime }
        return nil
    }

    /// The faults of a transfer's ranks (out of line: a healthy run never calls it): it starts no
    /// earlier than both ranks enter (``FabricFaults/rankEntrySeconds``), holds its links the
    /// larger of their slowdowns times as long, and arrives a jitter draw later.
    @usableFromInline @inline(never)
    mutating func _rankFaults(src: Int, dst: Int, latency: Double) -> (notBefore: Double, slowdown: Double, latency: Double) {
        guard let faults = fabric.faults else { return (now, 1, latency) }
        var notBefore = now, slowdown = 1.0
        for gpu in [src / lanes, dst / lanes] where gpu < gpuCount {
            notBefore = Swift.max(notBefore, faults.entrySeconds(gpu))
            slowdown = Swift.max(slowdown, faults.slowdown(gpu))
        }
        let jitter = faults.jitter.map { $0.seconds(forUniform: jitterRandom.nextUnit()) } ?? 0
        return (notBefore, slowdown, latency + jitter)
    }

    /// The link record of node `node`'s memory link (the fabric has one).
    @inlinable
    mutating func memorySlot(ofNode node: Int) -> Int {
        let fabricLink = fabric.memoryLink(ofNode: node)
        if linkSlot[fabricLink] < 0 {
            linkSlot[fabricLink] = Int32(truncatingIfNeeded: linkSlotsUsed)
            linkSlotsUsed += 1
        }
        return Int(linkSlot[fabricLink])
    }

    /// Tells the observer about a transfer that started (out of line: a run nobody watches keeps
    /// ``start`` as small as it was).
    @usableFromInline @inline(never)
    func _observeStart(id: Int, src: Int, dst: Int, srcStep: Int, dstStep: Int, bytes: Double, reduce: Bool, linkBegin: Double,
                       duration: Double, reduceBegin: Double?, done: Double) {
        observer?.transferStarted(ObservedTransfer(
            slot: id, sourceRank: src / lanes, destinationRank: dst / lanes, lane: src % lanes, sendStep: srcStep, receiveStep: dstStep,
            chunk: observedChunk, bytes: bytes, reduces: reduce, startSeconds: now, linkBeginSeconds: linkBegin,
            linkEndSeconds: linkBegin + duration, reduceBeginSeconds: reduceBegin, completeSeconds: done))
    }

    @inlinable
    mutating func allocTransfer() -> Int {
        if trFreeCount > 0 {
            trFreeCount -= 1
            return Int(trFree[trFreeCount])
        }
        if trUsed == trCapacity { growTransfers() }
        precondition(trUsed < EventQueue.maxPayload, "EventEngine: too many transfers in flight")
        let i = trUsed
        trUsed += 1
        return i
    }

    @inlinable
    mutating func freeTransfer(_ i: Int) {
        trFree[trFreeCount] = Int32(truncatingIfNeeded: i)
        trFreeCount += 1
    }

    @usableFromInline
    mutating func growTransfers() {
        transfer = _moved(transfer, count: trCapacity, capacity: trCapacity * 2)
        trFree = _moved(trFree, count: trFreeCount, capacity: trCapacity * 2)
        trCapacity *= 2
    }
}

/// A new allocation of `capacity` elements holding the first `count` of `buffer`, moved there;
/// `buffer` is deallocated. How the engine's and the queue's record arrays grow.
@usableFromInline
func _moved<T>(_ buffer: UnsafeMutablePointer<T>, count: Int, capacity: Int) -> UnsafeMutablePointer<T> {
    precondition(count <= capacity, "_moved: \(count) elements do not fit \(capacity)")
    let bigger = UnsafeMutablePointer<T>.allocate(capacity: capacity)
    bigger.moveInitialize(from: buffer, count: count)
    buffer.deallocate()
    return bigger
}
