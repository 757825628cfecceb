import CollectiveKernels
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plays a schedule over p ranks that all live in this process, each with its own buffer, on a
/// pool of worker threads (by default one per core).
///
/// Ranks are not threads: every rank's program is driven by ``RankProgress``, and a *transfer*
/// (a send matched with its receive, FIFO per pair of ranks, with equal counts) is the unit of
/// work. When both sides of a transfer are issued, any idle worker performs it: the receiver
/// reads the sender's buffer directly (rendezvous, zero copy: the schedule guarantees that the
/// sender's range is not written while its send is in flight) and copies or reduces into its own
/// buffer with the ``Reducer``. Completing a transfer completes both steps and issues whatever
/// they unblock. A staged receive (``Step/reduceAfter``) is the one exception: its transfer copies
/// the sender's range into scratch and completes the send; the reduction into the receiver's
/// range is a separate piece of work, ready once the send it follows has completed. So p ranks spread over all cores whatever p is, and a schedule that can make no
/// more progress is reported as a deadlock instead of hanging.
///
/// With `threadCount: 1` the play is deterministic (transfers in the order they became ready).
public struct InProcessExecutor: ScheduleExecutor, Sendable {
    /// Worker threads.
    public var threadCount: Int

    /// The most worker threads a command may ask for (`--threads`; docs/Limits.md).
    public static let maxThreads = 1024

    public init(threadCount: Int = InProcessExecutor.availableCores) {
        self.threadCount = max(1, threadCount)
    }

    /// Online processors.
    public static var availableCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    public func execute<S: Schedule>(_ schedule: S, buffers: [RankBuffer], reducer: Reducer) throws(ExecutionError) -> ExecutionStatistics {
        let p = schedule.rankCount
        guard buffers.count == p else { throw .mismatch("in-process execution needs one buffer per rank: \(buffers.count) for \(p) ranks") }
        var bases = [UnsafeMutableRawPointer?](repeating: nil, count: p)
        for b in buffers {
            guard b.rank >= 0 && b.rank < p && bases[b.rank] == nil else { throw .mismatch("buffer for rank \(b.rank) missing, duplicated or out of range") }
            bases[b.rank] = b.base
        }
        // Switch endpoints (``Schedule/switchCount``) reduce in scratch buffers of their own.
        let switchBytes = Swift.max(1, schedule.elementCount * reducer.dataType.sizeInBytes)
        let switches = (0..<schedule.switchCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: switchBytes, alignment: 64) }
        defer { for b in switches { b.deallocate() } }
        let run = _InProcessRun(schedule: schedule, buffers: bases.map { $0! } + switches, reducer: reducer)
        let start = _monotonicSeconds()
        run.start()
        let workers = min(threadCount, max(1, schedule.endpointCount))
        if workers == 1 {
            run.work()
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { _ in run.work() }
        }
        if let error = run.error { throw error }
        for r in 0..<p {
            schedule.collective.finalize(reducer, buffer: run.buffers[r], rank: r, elementCount: schedule.elementCount, rankCount: p)
        }
        var stats = run.stats
        stats.seconds = _monotonicSeconds() - start
        return stats
    }
}

/// Seconds on a monotonic clock.
@inlinable
internal func _monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A mutex and a condition variable.
final class _Monitor: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
    func wait() { pthread_cond_wait(&cond, &mutex) }
    func signal() { pthread_cond_signal(&cond) }
    func broadcast() { pthread_cond_broadcast(&cond) }
}

/// The shared state of one in-process play; every field is guarded by `monitor`.
final class _InProcessRun: @unchecked Sendable {
    struct Posted: SendReceivePosting {
        var rank: Int
        var index: Int
        var step: Step
    }
    struct Transfer {
        var send: Posted
        var recv: Posted
        /// A staged receive's data: the work is then the reduction of scratch into the range.
        var scratch: UnsafeMutableRawPointer? = nil
    }

    /// Ranks and switch endpoints (``Schedule/switchCount``), which play alike here.
    let p: Int
    let elementSize: Int
    let reducer: Reducer
    let buffers: [UnsafeMutableRawPointer]
    let monitor = _Monitor()
    var progress: [RankProgress<_AnySteps>]
    var finished: [Bool]
    var finishedCount = 0
    var matcher: SendReceiveMatcher<Posted>
    var ready: [Transfer] = []
    var readyHead = 0
    /// Per rank: staged receives whose data is in scratch, waiting for the send they follow.
    var parked: [[Transfer]]
    var busy = 0
    var error: ExecutionError?
    var stats = ExecutionStatistics()

    init<S: Schedule>(schedule: S, buffers: [UnsafeMutableRawPointer], reducer: Reducer) {
        p = schedule.endpointCount
        elementSize = reducer.dataType.sizeInBytes
        self.reducer = reducer
        self.buffers = buffers
        progress = (0..<p).map { RankProgress(_AnySteps(base: schedule.makeSteps(forRank: $0))) }
        matcher = SendReceiveMatcher(endpointCount: p)
        finished = Array(repeating: false, count: p)
        parked = Array(repeating: [], count: p)
    }

    deinit {
        for list in parked { for t in list { t.scratch?.deallocate() } }
        for t in ready[readyHead...] { t.scratch?.deallocate() }
    }

    /// Makes the staged receives of rank `r` whose send has completed ready (lock held).
    func releaseParked(_ r: Int) {
        guard !parked[r].isEmpty else { return }
        var i = 0
        while i < parked[r].count {
            if progress[r].isCompleted(parked[r][i].recv.step.reduceAfter!) {
                ready.append(parked[r].remove(at: i))
            } else {
                i += 1
            }
        }
    }

    func start() {
        monitor.lock()
        for r in 0..<p { issue(r) }
        monitor.unlock()
    }

    /// Issues every step of rank `r` that may start (lock held).
    func issue(_ r: Int) {
        guard error == nil else { return }
        while let (index, step) = progress[r].issueNext() {
            guard step.peer >= 0 && step.peer < p && step.peer != r else {
                error = .mismatch("rank \(r) step \(index) names peer \(step.peer)")
                return
            }
            let x = Posted(rank: r, index: index, step: step)
            if let m = matcher.post(x, of: r) {
                let t = Transfer(send: m.send, recv: m.receive)
                guard m.mismatch == nil else {
                    error = .mismatch("rank \(t.send.rank) step \(t.send.index) sends \(t.send.step.count) elements at \(t.send.step.offset) but rank \(t.recv.rank) step \(t.recv.index) receives \(t.recv.step.count) at \(t.recv.step.offset)")
                    return
                }
                ready.append(t)
            }
        }
        if !finished[r] && progress[r].isFinished() {
            finished[r] = true
            finishedCount += 1
        }
    }

    /// A worker: performs ready transfers until the play ends.
    func work() {
        monitor.lock()
        while true {
            if error != nil || finishedCount == p { break }
            if readyHead < ready.count {
                let t = ready[readyHead]
                readyHead += 1
                if readyHead == ready.count { ready.removeAll(keepingCapacity: true); readyHead = 0 }
                busy += 1
                monitor.unlock()
                let bytes = t.recv.step.count * elementSize
                var staged: UnsafeMutableRawPointer? = nil
                if let scratch = t.scratch {
                    // A staged receive whose send has completed: reduce the data into place.
                    reducer.reduceInPlace(into: buffers[t.recv.rank] + t.recv.step.offset * elementSize, from: scratch, count: t.recv.step.count)
                    scratch.deallocate()
                } else if t.recv.step.reduceAfter != nil {
                    let scratch = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, bytes), alignment: 64)
                    scratch.copyMemory(from: buffers[t.send.rank] + t.send.step.offset * elementSize, byteCount: bytes)
                    staged = scratch
                } else {
                    move(t)
                }
                monitor.lock()
                busy -= 1
                let before = ready.count - readyHead
                if t.scratch != nil {
                    progress[t.recv.rank].complete(t.recv.index)
                    stats.steps += 1
                    stats.bytesReduced += bytes
                } else {
                    progress[t.send.rank].complete(t.send.index)
                    stats.steps += 1
                    stats.messages += 1
                    stats.bytesSent += bytes
                    if let staged {
                        var parkedRecv = t
                        parkedRecv.scratch = staged
                        parked[t.recv.rank].append(parkedRecv)
                        releaseParked(t.recv.rank)
                    } else {
                        progress[t.recv.rank].complete(t.recv.index)
                        stats.steps += 1
                        if t.recv.step.kind == .recvReduce { stats.bytesReduced += bytes } else { stats.bytesCopied += bytes }
                    }
                    releaseParked(t.send.rank)
                }
                issue(t.send.rank)
                issue(t.recv.rank)
                // Wake one waiting worker per transfer made ready beyond the one this worker takes next.
                let added = ready.count - readyHead - before
                if finishedCount == p || error != nil { monitor.broadcast() } else if added > 1 { monitor.broadcast() } else if added == 1 && before > 0 { monitor.signal() }
                continue
            }
            if busy == 0 {
                var stuck: [String] = []
                for r in 0..<p where !finished[r] {
                    stuck.append("rank \(r) at step \(progress[r].nextIndex)")
                    if stuck.count == 3 { break }
                }
                error = .deadlock("no transfer can complete while steps remain (" + stuck.joined(separator: ", ") + ")")
                monitor.broadcast()
                break
            }
            monitor.wait()
        }
        monitor.unlock()
    }

    /// The data movement of a transfer: the receiver reads the sender's range in place.
    func move(_ t: Transfer) {
        let count = t.recv.step.count
        guard count > 0 else { return }
        let byteOffset = t.recv.step.offset * elementSize
        let src = UnsafeRawPointer(buffers[t.send.rank] + byteOffset)
        let dst = buffers[t.recv.rank] + byteOffset
        if t.recv.step.kind == .recvReduce {
            reducer.reduceInPlace(into: dst, from: src, count: count)
        } else {
            dst.copyMemory(from: src, byteCount: count * elementSize)
        }
    }
}
