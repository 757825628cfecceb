#if MPI
import CMPI
import CollectiveCore
import CollectiveKernels
#if canImport(Glibc)
import Glibc
#endif

/// Plays one rank's part of a ``Schedule`` through an MPI-3 shared window: the ranks of one
/// node reduce straight from each other's buffers, as NCCL's direct reads do, with no message
/// copies at all.
///
/// Every rank's input and output live in its segment of one `MPI_Win_allocate_shared` window,
/// which every other rank maps (`MPI_Win_shared_query`). The steps are the schedule's, driven by
/// ``RankProgress`` like every other executor; only the meaning of a matched send/receive pair
/// changes:
///
/// - a **send** publishes *where* the data is (an offset into the sender's segment, input or
///   output) in a mailbox slot and completes when the receiver acknowledges it;
/// - a **receive** waits for the matching slot, then reduces (or copies) straight from the
///   peer's memory into its own output, and acknowledges. A staged receive-reduce
///   (``Step/reduceAfter``) whose send is still in flight copies the peer's data into scratch
///   and acknowledges at once, and reduces once that send has been acknowledged in turn: the two
///   ranks of an exchange each read the other's range while their own is still published. Once
///   the send has completed (an inline one has as soon as it is published), the receive reduces
///   straight from the peer like any other.
///
/// The k-th send a->b uses slot `k mod depth` of a's mailbox for b: the schedules' matching rule
/// (k-th send pairs with k-th receive) with no tags. A slot holds `seq` (k+1 once published),
/// the byte offset and the count. The acknowledgement (k+1 once consumed) lives apart, in the
/// *receiver's* segment, eight slots' words to a cache line: the receiver writes its own memory,
/// and the sender reads a line of them once per eight messages (it keeps what it read), so the
/// slot's line is handed over once per message and not back and forth. `seq` and the
/// acknowledgements are written with release and read with acquire ordering, so the data a slot
/// points to is complete when the receiver sees it and no longer read when the sender sees the
/// acknowledgement.
///
/// Small messages travel inside the slot (up to ``inlineBytes``, as Open MPI's vader BTL puts
/// small messages in per-peer "fast boxes"): the sender copies the data next to the header and
/// the send completes as soon as it is published, without waiting for the acknowledgement, so a
/// small exchange costs the slot's lines handed over once each way (one line up to 40 bytes)
/// instead of a flag, the data and an acknowledgement in turn. The acknowledgement then only
/// frees the slot for message k + depth. A slot is five cache lines, so messages up to
/// ``inlineBytes`` (296) travel inline, 128 and 256 bytes among them: there the acknowledgement's
/// round trip had made the exchange slower than Open MPI's fast boxes.
///
/// As in ``MPIScheduleRunner``, the input is never copied as a whole (``ElementRangeSet``): a
/// send publishes the input itself until a step has written the range, and the first reduction
/// into a range reads both inputs and writes the output in one pass.
public final class MPISharedMemoryRunner {
    public let communicator: Communicator
    public let dataType: DataType
    public let reducer: Reducer
    /// Bytes of input and of output each rank can hold.
    public let capacityBytes: Int
    /// This rank's input, in the shared window (`capacityBytes`).
    public let input: UnsafeMutableRawPointer
    /// This rank's output, in the shared window (`capacityBytes`).
    public let output: UnsafeMutableRawPointer

    /// Mailbox slots per ordered pair of ranks.
    static let depth = 256
    /// Bytes per slot: five cache lines, a 24-byte header and up to 296 bytes inline.
    static let slotBytes = 320
    // Slot fields, as UInt64 word indices; an inline message's data follows from `payloadWord`.
    static let seqWord = 0, offsetWord = 1, countWord = 2, payloadWord = 3
    /// Acknowledgement words a sender reads at once: one cache line.
    static let acksPerLine = 8
    /// Messages of at most this many bytes travel inside their slot.
    public static let inlineBytes = slotBytes - payloadWord * 8
    /// The offset word of a slot whose data is inline.
    static let inlineOffset = UInt64.max

    let _elementSize: Int
    /// This rank in ``communicator``.
    let _rank: Int
    @exclusivity(unchecked) var _window: MPI_Win?
    /// Every rank's segment base, mapped in this process (one per rank, allocated once: the
    /// steps read it with no array bounds or uniqueness checks).
    let _bases: UnsafeMutablePointer<UnsafeMutableRawPointer>
    let _controlBytes: Int
    /// Where a segment's acknowledgements start: `depth` words per sending rank, after the mailboxes.
    let _ackOffset: Int
    /// The acknowledgements this rank last read from each peer (`depth` per peer): a slot is
    /// reused once its word shows the message `depth` before consumed, and a line is read again
    /// only when the copy is too old.
    let _knownAcks: UnsafeMutablePointer<UInt64>
    let _inputOffset: Int
    let _outputOffset: Int
    /// Sends issued to / receives issued from each peer so far (never reset: slots keep going).
    let _sent: UnsafeMutablePointer<Int>
    let _received: UnsafeMutablePointer<Int>
    /// The steps in flight, in the order they were issued (`_pendingCount` of them, in storage
    /// that only grows, so that no step allocates once a run has reached its widest point).
    @exclusivity(unchecked) var _pending: UnsafeMutablePointer<_Pending>
    @exclusivity(unchecked) var _pendingCount = 0
    @exclusivity(unchecked) var _pendingCapacity = 16
    @exclusivity(unchecked) var _scratch = _ScratchPool()
    @exclusivity(unchecked) var _written = ElementRangeSet()
    /// Completed step indices, reused between runs.
    @exclusivity(unchecked) var _completed: [Int] = []
    @exclusivity(unchecked) var _closed = false
    /// When set, each step's issue, message hand-over, reduction and completion times are
    /// appended to it (seconds from ``timelineOriginSeconds``, `MPI_Wtime`'s clock), as
    /// ``MPIScheduleRunner/timeline`` records them: a send ends when the receiver has taken it
    /// (at once for an inline message), a receive's transfer when the peer's slot is seen (a copy
    /// when it has copied), its reduction when the output holds it. nil (the default) costs one
    /// test per step issued and per poll pass.
    @exclusivity(unchecked) public var timeline: StepTimeline? { didSet { _tracing = timeline != nil } }
    /// Whether ``timeline`` is set, read on the hot path without touching the timeline itself.
    @exclusivity(unchecked) var _tracing = false
    @exclusivity(unchecked) public var timelineOriginSeconds = 0.0
    /// Polls without progress before yielding the core (`sched_yield`): short when the node's
    /// ranks outnumber its online CPUs (the peer needs this core to make progress), long
    /// otherwise (a yield can lose the core to another process for a whole time slice).
    let _spinsBeforeYield: Int

    struct _Pending {
        var stepIndex: Int
        var kind: StepKind
        var peer: Int
        var sequence: Int
        /// Sends: where the data is, in this rank's segment; receives: the destination element range.
        var byteOffset: Int
        var range: Range<Int>
        var published: Bool
        /// A staged receive's ``Step/reduceAfter`` (-1: none), and its data once copied.
        var reduceAfter: Int = -1
        var scratch: UnsafeMutableRawPointer? = nil
        var scratchCapacity = 0
        /// With a ``MPISharedMemoryRunner/timeline``: the step's chunk, when it was issued and its
        /// data handed over.
        var chunk: Int32 = 0
        var startSeconds = 0.0
        var transferEndSeconds = 0.0
    }

    func _timelineNow() -> Double { MPIProcess.wallTimeSeconds() - timelineOriginSeconds }

    /// Appends a completed step to the timeline (`reduceBegin`: a `recvReduce`'s reduction,
    /// which ends now).
    func _record(_ p: _Pending, reduceBegin: Double? = nil) {
        timeline!.append(StepTimelineRecord(
            kind: StepTimelineRecord.Kind(p.kind), rank: communicator.rank, stepIndex: p.stepIndex, peer: p.peer, chunk: Int(p.chunk),
            bytes: p.range.count * _elementSize, startSeconds: p.startSeconds, transferEndSeconds: p.transferEndSeconds,
            reduceBeginSeconds: reduceBegin, endSeconds: reduceBegin == nil ? p.transferEndSeconds : _timelineNow()))
    }

    /// Allocates the shared window (collective over `communicator`, whose ranks must all share
    /// memory) with room for `capacityBytes` of input and of output per rank. `oversubscribed`:
    /// whether this node's ranks outnumber its online CPUs (nil: the communicator's size against
    /// `sysconf(_SC_NPROCESSORS_ONLN)`, every rank being on this node).
    public init(communicator: Communicator, dataType: DataType, op: ReductionOp, capacityBytes: Int, oversubscribed: Bool? = nil) {
        self.communicator = communicator.duplicate()
        self.dataType = dataType
        reducer = Reducer(dataType: dataType, op: op)
        _elementSize = dataType.sizeInBytes
        let p = communicator.size
        self.capacityBytes = capacityBytes
        let page = 4096
        func roundUp(_ x: Int) -> Int { (x + page - 1) / page * page }
        _ackOffset = p * Self.depth * Self.slotBytes
        _controlBytes = roundUp(_ackOffset + p * Self.depth * 8)
        _inputOffset = _controlBytes
        _outputOffset = _controlBytes + roundUp(max(capacityBytes, 64))
        let segmentBytes = _outputOffset + roundUp(max(capacityBytes, 64))
        _rank = self.communicator.rank
        _sent = .allocate(capacity: p)
        _sent.initialize(repeating: 0, count: p)
        _received = .allocate(capacity: p)
        _received.initialize(repeating: 0, count: p)
        _knownAcks = .allocate(capacity: p * Self.depth)
        _knownAcks.initialize(repeating: 0, count: p * Self.depth)
        _pending = .allocate(capacity: 16)
        _bases = .allocate(capacity: p)
        let crowded = oversubscribed ?? mpiIsOversubscribed(localRanks: p, onlineCPUs: sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        _spinsBeforeYield = crowded ? 64 : 1 << 15

        var info: MPI_Info? = nil
        mpiCheck(MPI_Info_create(&info), "MPI_Info_create")
        // Each segment on its own pages, local to the process that first touches it.
        mpiCheck(MPI_Info_set(info, "alloc_shared_noncontig", "true"), "MPI_Info_set")
        var base: UnsafeMutableRawPointer? = nil
        var window: MPI_Win? = nil
        mpiCheck(MPI_Win_allocate_shared(MPI_Aint(segmentBytes), 1, info, self.communicator.handle, &base, &window), "MPI_Win_allocate_shared")
        mpiCheck(MPI_Info_free(&info), "MPI_Info_free")
        _window = window
        // Passive-target epoch for the window's lifetime: the flags below synchronise the ranks.
        mpiCheck(MPI_Win_lock_all(cmpi_mode_nocheck(), window), "MPI_Win_lock_all")
        for q in 0..<p {
            var size: MPI_Aint = 0
            var unit: Int32 = 0
            var peerBase: UnsafeMutableRawPointer? = nil
            mpiCheck(MPI_Win_shared_query(window, Int32(q), &size, &unit, &peerBase), "MPI_Win_shared_query")
            (_bases + q).initialize(to: peerBase!)
        }
        let mine = _bases[_rank]
        input = mine + _inputOffset
        output = mine + _outputOffset
        // Zero this rank's mailboxes, then make sure every rank has before anyone sends.
        mine.initializeMemory(as: UInt8.self, repeating: 0, count: _controlBytes)
        mpiCheck(MPI_Win_sync(window), "MPI_Win_sync")
        self.communicator.barrier()
    }

    /// Frees the window and the communicator (collective).
    public func close() {
        guard !_closed else { return }
        _closed = true
        mpiCheck(MPI_Win_unlock_all(_window), "MPI_Win_unlock_all")
        mpiCheck(MPI_Win_free(&_window), "MPI_Win_free")
        communicator.free()
        _scratch.releaseAll()
    }

    deinit {
        _bases.deallocate()
        _sent.deallocate()
        _received.deallocate()
        _knownAcks.deallocate()
        _pending.deinitialize(count: _pendingCount)
        _pending.deallocate()
    }

    /// Runs this rank's steps of `schedule` from ``input`` to ``output`` (or, `inPlace`, on
    /// ``output`` alone, as it stands) and applies the operator's final step. Collective over
    /// the communicator.
    public func run<S: Schedule>(_ schedule: S, inPlace: Bool = false) {
        _run(rankCount: schedule.rankCount, elementCount: schedule.elementCount, collective: schedule.collective, inPlace: inPlace) { transport throws(ExecutionError) in
            try schedule.run(rank: communicator.rank, transport: &transport)
        }
    }

    /// Runs `steps` (this rank's steps of a schedule, built once) as ``run(_:inPlace:)`` runs
    /// the schedule's: the same steps, without rebuilding the schedule's iterator each time.
    public func run(_ steps: RankSteps, inPlace: Bool = false) {
        precondition(steps.rank == communicator.rank, "MPISharedMemoryRunner: steps of rank \(steps.rank) on rank \(communicator.rank)")
        _run(rankCount: steps.rankCount, elementCount: steps.elementCount, collective: steps.collective, inPlace: inPlace) { transport throws(ExecutionError) in
            try steps.run(transport: &transport, completed: &_completed)
        }
    }

    @inline(__always)
    func _run(rankCount: Int, elementCount: Int, collective: Collective, inPlace: Bool, _ play: (inout MPISharedMemoryTransport) throws(ExecutionError) -> Int) {
        precondition(!_closed, "MPISharedMemoryRunner: used after close()")
        precondition(rankCount == communicator.size,
                     "MPISharedMemoryRunner: schedule for \(rankCount) ranks on a communicator of \(communicator.size)")
        precondition(elementCount * _elementSize <= capacityBytes,
                     "MPISharedMemoryRunner: \(elementCount) elements exceed the window's \(capacityBytes) bytes")
        _written.removeAll()
        // In place, the output already is the buffer everywhere: sends publish the output.
        if inPlace { _written.insert(0..<elementCount) }
        var transport = MPISharedMemoryTransport(runner: self)
        do {
            _ = try play(&transport)
        } catch {
            mpiFail("rank \(communicator.rank): \(error)")
        }
        if _written.coverage(of: 0..<elementCount) != true { _written.copyUnwritten(count: elementCount, copyInput: _copyInput) }
        collective.finalize(reducer, buffer: output, rank: communicator.rank, elementCount: elementCount, rankCount: rankCount)
    }

    @inline(__always)
    func _copyInput(_ r: Range<Int>) {
        (output + r.lowerBound * _elementSize).copyMemory(from: input + r.lowerBound * _elementSize, byteCount: r.count * _elementSize)
    }

    /// Word `word` of slot `sequence mod depth` in `owner`'s mailbox for messages to `destination`.
    @inline(__always)
    func _slot(owner: Int, destination: Int, sequence: Int, word: Int) -> UnsafeMutablePointer<UInt64> {
        let slot = destination * Self.depth + sequence % Self.depth
        return (_bases[owner] + slot * Self.slotBytes).assumingMemoryBound(to: UInt64.self) + word
    }

    /// The acknowledgement of message `sequence` from `sender` to `receiver`, in the receiver's segment.
    @inline(__always)
    func _ack(receiver: Int, sender: Int, sequence: Int) -> UnsafeMutablePointer<UInt64> {
        (_bases[receiver] + _ackOffset).assumingMemoryBound(to: UInt64.self) + sender * Self.depth + sequence % Self.depth
    }

    /// Whether `peer` has consumed this rank's message `sequence`, reading its line of
    /// acknowledgements again only when the copy kept from the last read says no.
    @inline(__always)
    func _isAcknowledged(peer: Int, sequence: Int) -> Bool {
        let needed = UInt64(sequence + 1)
        let slot = sequence % Self.depth
        let known = _knownAcks + peer * Self.depth
        if known[slot] >= needed { return true }
        let first = slot - slot % Self.acksPerLine
        let line = _ack(receiver: peer, sender: _rank, sequence: first)
        for i in 0..<Self.acksPerLine { known[first + i] = cmpi_load_acquire_u64(line + i) }
        return known[slot] >= needed
    }

    func _issue(_ index: Int, _ step: Step) {
        let start = _tracing ? _timelineNow() : 0
        switch step.kind {
        case .send:
            let readsOutput = _written.coverage(of: step.range) ?? _written.sendReadsOutput(step.range, copyInput: _copyInput)
            let byteOffset = (readsOutput ? _outputOffset : _inputOffset) + step.offset * _elementSize
            let k = _sent[step.peer]
            _sent[step.peer] += 1
            var pending = _Pending(stepIndex: index, kind: .send, peer: step.peer, sequence: k, byteOffset: byteOffset, range: step.range, published: false,
                                   chunk: Int32(truncatingIfNeeded: step.chunk), startSeconds: start)
            pending.published = _tryPublish(pending)
            _append(pending)
        case .recvReduce, .recvCopy:
            let k = _received[step.peer]
            _received[step.peer] += 1
            _append(_Pending(stepIndex: index, kind: step.kind, peer: step.peer, sequence: k, byteOffset: 0, range: step.range, published: false,
                             reduceAfter: step.kind == .recvReduce ? step.reduceAfter ?? -1 : -1,
                             chunk: Int32(truncatingIfNeeded: step.chunk), startSeconds: start))
        }
    }

    /// Adds a step in flight, doubling the storage when it is full (rarely: it is kept between runs).
    @inline(__always)
    func _append(_ p: _Pending) {
        if _pendingCount == _pendingCapacity {
            let wider = UnsafeMutablePointer<_Pending>.allocate(capacity: _pendingCapacity * 2)
            wider.moveInitialize(from: _pending, count: _pendingCount)
            _pending.deallocate()
            _pending = wider
            _pendingCapacity *= 2
        }
        (_pending + _pendingCount).initialize(to: p)
        _pendingCount += 1
    }

    /// Whether step `stepIndex` is among the first `count` steps in flight.
    @inline(__always)
    func _isInFlight(_ stepIndex: Int, among count: Int) -> Bool {
        for i in 0..<count where _pending[i].stepIndex == stepIndex { return true }
        return false
    }

    /// Whether send `p` travels inside its slot.
    @inline(__always)
    func _isInline(_ p: _Pending) -> Bool { p.range.count * _elementSize <= Self.inlineBytes }

    /// Where the data of message `sequence` from `peer` is: its slot (inline) or the peer's segment.
    @inline(__always)
    func _source(peer: Int, sequence: Int) -> UnsafeRawPointer {
        let me = _rank
        let offset = _slot(owner: peer, destination: me, sequence: sequence, word: Self.offsetWord).pointee
        if offset == Self.inlineOffset {
            return UnsafeRawPointer(_slot(owner: peer, destination: me, sequence: sequence, word: Self.payloadWord))
        }
        return UnsafeRawPointer(_bases[peer] + Int(offset))
    }

    /// Publishes a send in its slot if the slot's previous message has been consumed.
    func _tryPublish(_ p: _Pending) -> Bool {
        let me = _rank
        let k = p.sequence
        if k >= Self.depth && !_isAcknowledged(peer: p.peer, sequence: k - Self.depth) { return false }
        if _isInline(p) {
            UnsafeMutableRawPointer(_slot(owner: me, destination: p.peer, sequence: k, word: Self.payloadWord))
                .copyMemory(from: UnsafeRawPointer(_bases[me] + p.byteOffset), byteCount: p.range.count * _elementSize)
            _slot(owner: me, destination: p.peer, sequence: k, word: Self.offsetWord).pointee = Self.inlineOffset
        } else {
            _slot(owner: me, destination: p.peer, sequence: k, word: Self.offsetWord).pointee = UInt64(p.byteOffset)
        }
        _slot(owner: me, destination: p.peer, sequence: k, word: Self.countWord).pointee = UInt64(p.range.count)
        cmpi_store_release_u64(_slot(owner: me, destination: p.peer, sequence: k, word: Self.seqWord), UInt64(k + 1))
        return true
    }

    /// Polls the steps in flight until at least one completes (spinning, then yielding the
    /// core while peers are not ready), and appends the completed step indices.
    func _waitForCompletions(_ completed: inout [Int]) {
        precondition(_pendingCount > 0, "MPISharedMemoryRunner: waiting with nothing in flight")
        var idlePolls = 0
        let before = completed.count
        while true {
            _ = _poll(&completed)
            if completed.count > before { return }
            idlePolls += 1
            if idlePolls < _spinsBeforeYield { cmpi_cpu_relax() } else { sched_yield() }
        }
    }

    /// One pass over the steps in flight; returns whether any made progress.
    func _poll(_ completed: inout [Int]) -> Bool {
        let me = _rank
        let tracing = _tracing
        var progressed = false
        var w = 0
        for i in 0..<_pendingCount {
            var p = _pending[i]
            var done = false
            switch p.kind {
            case .send:
                if !p.published {
                    p.published = _tryPublish(p)
                    progressed = progressed || p.published
                }
                if p.published && _isInline(p) {
                    // The data is in the slot: the send's buffer is free at once.
                    done = true
                } else if p.published {
                    done = _isAcknowledged(peer: p.peer, sequence: p.sequence)
                }
                if done && tracing {
                    p.transferEndSeconds = _timelineNow()
                    _record(p)
                }
            case .recvReduce where p.reduceAfter >= 0 && (p.scratch != nil || _isInFlight(p.reduceAfter, among: w)):
                // Staged, its send still in flight (the kept steps before this one are the
                // earlier steps still in flight): take a copy and release the peer's range now;
                // reduce once that send has been consumed. Once it has, the receive reduces
                // straight from the peer, as an ordinary one (below).
                if p.scratch == nil {
                    let seq = cmpi_load_acquire_u64(_slot(owner: p.peer, destination: me, sequence: p.sequence, word: Self.seqWord))
                    if seq == UInt64(p.sequence + 1) {
                        let count = Int(_slot(owner: p.peer, destination: me, sequence: p.sequence, word: Self.countWord).pointee)
                        precondition(count == p.range.count, "MPISharedMemoryRunner: rank \(p.peer) sent \(count) elements to a receive of \(p.range.count) at rank \(me)")
                        let (scratch, capacity) = _scratch.take(bytes: count * _elementSize)
                        scratch.copyMemory(from: _source(peer: p.peer, sequence: p.sequence), byteCount: count * _elementSize)
                        cmpi_store_release_u64(_ack(receiver: me, sender: p.peer, sequence: p.sequence), UInt64(p.sequence + 1))
                        p.scratch = scratch
                        p.scratchCapacity = capacity
                        if tracing { p.transferEndSeconds = _timelineNow() }
                        progressed = true
                    }
                }
            case .recvReduce, .recvCopy:
                let seq = cmpi_load_acquire_u64(_slot(owner: p.peer, destination: me, sequence: p.sequence, word: Self.seqWord))
                if seq == UInt64(p.sequence + 1) {
                    let count = Int(_slot(owner: p.peer, destination: me, sequence: p.sequence, word: Self.countWord).pointee)
                    precondition(count == p.range.count, "MPISharedMemoryRunner: rank \(p.peer) sent \(count) elements to a receive of \(p.range.count) at rank \(me)")
                    let arrived = tracing ? _timelineNow() : 0
                    _consume(p, from: _source(peer: p.peer, sequence: p.sequence))
                    cmpi_store_release_u64(_ack(receiver: me, sender: p.peer, sequence: p.sequence), UInt64(p.sequence + 1))
                    if tracing {
                        // A copy is the transfer itself; a reduction reads the peer's data as it goes.
                        p.transferEndSeconds = p.kind == .recvCopy ? _timelineNow() : arrived
                        _record(p, reduceBegin: p.kind == .recvReduce ? arrived : nil)
                    }
                    done = true
                }
            }
            if done {
                completed.append(p.stepIndex)
                progressed = true
            } else {
                _pending[w] = p
                w += 1
            }
        }
        _pendingCount = w
        // Staged receives whose data is here and whose send is no longer in flight.
        var i = 0
        while i < _pendingCount {
            let p = _pending[i]
            if let scratch = p.scratch, !_isInFlight(p.reduceAfter, among: _pendingCount) {
                let reduceBegin = tracing ? _timelineNow() : 0
                _consume(p, from: UnsafeRawPointer(scratch))
                if tracing { _record(p, reduceBegin: reduceBegin) }
                _scratch.give(scratch, capacity: p.scratchCapacity)
                completed.append(p.stepIndex)
                progressed = true
                // Close the gap, keeping the issue order.
                for j in i..<(_pendingCount - 1) { _pending[j] = _pending[j + 1] }
                _pendingCount -= 1
            } else {
                i += 1
            }
        }
        return progressed
    }

    /// Reduces or copies a received range straight from the peer's memory into the output.
    func _consume(_ p: _Pending, from source: UnsafeRawPointer) {
        let start = p.range.lowerBound
        if p.kind == .recvCopy {
            (output + start * _elementSize).copyMemory(from: source, byteCount: p.range.count * _elementSize)
            _written.insert(p.range)
        } else {
            _written.reduceReceived(p.range, from: source, reducer: reducer, output: output, input: input, elementSize: _elementSize)
        }
    }
}
/// One rank's steps through the shared window: the ``RankTransport`` that
/// ``Schedule/run(rank:transport:)`` drives for ``MPISharedMemoryRunner``. `start` publishes a
/// send or registers a receive and never blocks; `waitForCompletions` polls the mailboxes and
/// does the reductions straight from the peers' memory.
public struct MPISharedMemoryTransport: RankTransport {
    // Unretained: a transport lives only inside the runner's own run, so it needs no reference
    // count, and calls through a guaranteed reference take none either (an `unowned(unsafe)`
    // property still took a retain and a release around each call: 5% of an 8-byte run).
    let _runner: Unmanaged<MPISharedMemoryRunner>

    init(runner: MPISharedMemoryRunner) { _runner = .passUnretained(runner) }

    public mutating func start(_ step: Step, index: Int) throws(ExecutionError) {
        let inside = _runner._withUnsafeGuaranteedRef { runner in
            guard step.offset >= 0, step.count >= 0, (step.offset + step.count) * runner._elementSize <= runner.capacityBytes else { return false }
            runner._issue(index, step)
            return true
        }
        guard inside else {
            throw .mismatch("step \(index) covers elements \(step.offset)..<\(step.offset + step.count), outside the window")
        }
    }

    public mutating func waitForCompletions(_ completed: inout [Int]) throws(ExecutionError) {
        _runner._withUnsafeGuaranteedRef { $0._waitForCompletions(&completed) }
    }
}
#endif
