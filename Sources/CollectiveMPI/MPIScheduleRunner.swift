#if MPI
import CMPI
import CollectiveCore
import CollectiveKernels

/// Plays one rank's part of a ``Schedule`` with non-blocking MPI point-to-point messages.
///
/// The rank's steps are driven by ``RankProgress``, like every other executor: steps are issued
/// in order as soon as their dependencies have completed, so chunks pipeline exactly as the
/// schedule allows. A send is an `MPI_Isend` straight from the input or the output; a
/// `recvCopy` is an `MPI_Irecv` straight into the output; a `recvReduce` receives into scratch
/// and, on completion, our kernel reduces the scratch into the output (only then does the step
/// count as completed). A staged `recvReduce` (``Step/reduceAfter``) keeps its scratch until the
/// send it follows has completed too, and reduces then: a full exchange is one `MPI_Isend` and
/// one `MPI_Irecv` each way, as `MPI_Sendrecv` into a temporary buffer in Open MPI's recursive
/// doubling. Runs are out of place without a first copy of the input
/// (``run(_:input:output:)``).
///
/// Every message uses one tag on a private duplicate of the communicator: MPI's non-overtaking
/// rule then pairs the k-th send a->b with the k-th receive at b from a, which is the schedules'
/// matching rule (``Step``).
public final class MPIScheduleRunner {
    /// The private communicator (a duplicate; freed by ``close()``).
    public let communicator: Communicator
    public let dataType: DataType
    public let reducer: Reducer
    let _elementSize: Int
    let _transportType: MPI_Datatype

    // Reused between runs: requests in flight and what each one is.
    @exclusivity(unchecked) var _requests: [MPI_Request?] = []
    @exclusivity(unchecked) var _pending: [_Pending] = []
    @exclusivity(unchecked) var _completedIndices: [Int32] = []
    @exclusivity(unchecked) var _scratch = _ScratchPool()
    /// Staged receives whose data arrived, waiting for the send they follow.
    @exclusivity(unchecked) var _staged: [_Pending] = []
    /// Elements of the output some step has written during the current run.
    @exclusivity(unchecked) var _written = ElementRangeSet()
    /// Completed step indices, reused between runs.
    @exclusivity(unchecked) var _completed: [Int] = []
    @exclusivity(unchecked) var _input = UnsafeRawPointer(bitPattern: 64)!
    @exclusivity(unchecked) var _output = UnsafeMutableRawPointer(bitPattern: 64)!
    @exclusivity(unchecked) var _closed = false
    /// What the runs so far did (steps, messages, bytes; ``ScheduleExecutor/execute`` fills
    /// `seconds`).
    @exclusivity(unchecked) public var statistics = ExecutionStatistics()
    /// When set, each step's issue, message completion, reduction and completion times are
    /// appended to it (seconds from ``timelineOriginSeconds``, `MPI_Wtime`'s clock): the records
    /// of `allreduce mpi --trace`. Costs two `MPI_Wtime` calls per step; nil (the default) costs
    /// nothing.
    @exclusivity(unchecked) public var timeline: StepTimeline?
    /// When set, each reduction of a received message is timed (two `MPI_Wtime` calls) into
    /// ``ExecutionStatistics/reduceSeconds``: how fast the runner's own reductions go, among its
    /// transfers and with its operands where the transport left them (`allreduce calibrate`).
    @exclusivity(unchecked) public var timesReductions = false
    @exclusivity(unchecked) public var timelineOriginSeconds = 0.0

    struct _Pending {
        var stepIndex: Int
        var kind: StepKind
        var byteOffset: Int
        var count: Int
        var scratch: UnsafeMutableRawPointer?
        var scratchCapacity: Int
        /// A staged receive's ``Step/reduceAfter`` (-1: none).
        var reduceAfter: Int = -1
        /// With a ``MPIScheduleRunner/timeline``: when it was posted and its message completed.
        var peer: Int32 = 0
        var chunk: Int32 = 0
        var startSeconds = 0.0
        var transferEndSeconds = 0.0
    }

    func _timelineNow() -> Double { MPIProcess.wallTimeSeconds() - timelineOriginSeconds }

    /// Appends a completed step to the timeline (`reduceBegin`: a `recvReduce`'s reduction).
    func _record(_ p: _Pending, reduceBegin: Double? = nil) {
        let end = reduceBegin == nil ? p.transferEndSeconds : _timelineNow()
        timeline!.append(StepTimelineRecord(
            kind: StepTimelineRecord.Kind(p.kind), rank: communicator.rank, stepIndex: p.stepIndex, peer: Int(p.peer), chunk: Int(p.chunk),
            bytes: p.count * _elementSize, startSeconds: p.startSeconds, transferEndSeconds: p.transferEndSeconds,
            reduceBeginSeconds: reduceBegin, endSeconds: end))
    }

    /// A runner over a duplicate of `communicator`, reducing with `dataType`/`op`.
    public init(communicator: Communicator, dataType: DataType, op: ReductionOp) {
        self.communicator = communicator.duplicate()
        self.dataType = dataType
        self.reducer = Reducer(dataType: dataType, op: op)
        _elementSize = dataType.sizeInBytes
        _transportType = dataType.mpiDatatype
    }

    deinit {
        _scratch.releaseAll()
    }

    /// Frees the communicator and the scratch buffers.
    public func close() {
        guard !_closed else { return }
        _closed = true
        communicator.free()
        _scratch.releaseAll()
    }

    /// Runs this rank's steps of `schedule` in place on `buffer` (`schedule.elementCount`
    /// elements) and applies the operator's final step (`avg` divides by the number of ranks).
    /// Collective: every rank of the communicator calls it with the same schedule.
    public func run<S: Schedule>(_ schedule: S, buffer: UnsafeMutableRawPointer) {
        run(schedule, input: UnsafeRawPointer(buffer), output: buffer)
    }

    /// Runs this rank's steps of `schedule` out of place: `input` is the rank's contribution,
    /// `output` receives the result (both `schedule.elementCount` elements; they may be the same
    /// buffer). The input is never copied as a whole: sends read it until a step has written
    /// the range, and the first reduction into a range combines input and received data in one
    /// pass (``ElementRangeSet``).
    public func run<S: Schedule>(_ schedule: S, input: UnsafeRawPointer, output: UnsafeMutableRawPointer) {
        _run(rankCount: schedule.rankCount, elementCount: schedule.elementCount, collective: schedule.collective, input: input, output: output) { transport throws(ExecutionError) in
            try schedule.run(rank: communicator.rank, transport: &transport)
        }
    }

    /// Runs `steps` (this rank's steps of a schedule, built once) out of place, as
    /// ``run(_:input:output:)`` runs the schedule's: the same steps, without rebuilding the
    /// schedule's iterator each time.
    public func run(_ steps: RankSteps, input: UnsafeRawPointer, output: UnsafeMutableRawPointer) {
        precondition(steps.rank == communicator.rank, "MPIScheduleRunner: steps of rank \(steps.rank) on rank \(communicator.rank)")
        _run(rankCount: steps.rankCount, elementCount: steps.elementCount, collective: steps.collective, input: input, output: output) { transport throws(ExecutionError) in
            try steps.run(transport: &transport, completed: &_completed)
        }
    }

    @inline(__always)
    func _run(rankCount: Int, elementCount: Int, collective: Collective, input: UnsafeRawPointer, output: UnsafeMutableRawPointer,
              _ play: (inout MPIPointToPointTransport) throws(ExecutionError) -> Int) {
        precondition(!_closed, "MPIScheduleRunner: used after close()")
        precondition(rankCount == communicator.size,
                     "MPIScheduleRunner: schedule for \(rankCount) ranks on a communicator of \(communicator.size)")
        _input = input
        _output = output
        _written.removeAll()
        if input == UnsafeRawPointer(output) { _written.insert(0..<elementCount) }
        var transport = MPIPointToPointTransport(runner: self)
        do {
            _ = try play(&transport)
        } catch {
            // The peers are waiting on this rank's messages: only ending the job is safe.
            mpiFail("rank \(communicator.rank): \(error)")
        }
        // Whatever no step wrote still holds the input's value.
        if _written.coverage(of: 0..<elementCount) != true { _written.copyUnwritten(count: elementCount, copyInput: _copyInput) }
        collective.finalize(reducer, buffer: output, rank: communicator.rank, elementCount: elementCount, rankCount: rankCount)
    }

    @inline(__always)
    func _copyInput(_ r: Range<Int>) {
        (_output + r.lowerBound * _elementSize).copyMemory(from: _input + r.lowerBound * _elementSize, byteCount: r.count * _elementSize)
    }

    func _post(_ index: Int, _ step: Step) {
        precondition(step.count <= Int(Int32.max), "MPIScheduleRunner: a step of \(step.count) elements exceeds MPI's int count")
        let byteOffset = step.offset * _elementSize
        var request: MPI_Request? = nil
        var pending = _Pending(stepIndex: index, kind: step.kind, byteOffset: byteOffset, count: step.count, scratch: nil, scratchCapacity: 0,
                               reduceAfter: step.reduceAfter ?? -1)
        if timeline != nil {
            pending.peer = Int32(truncatingIfNeeded: step.peer)
            pending.chunk = Int32(truncatingIfNeeded: step.chunk)
            pending.startSeconds = _timelineNow()
        }
        let comm = communicator.handle
        switch step.kind {
        case .send:
            // Send from the input while no step has written the range; from the output once
            // one has written all of it; a mixed range is completed from the input first.
            let source = (_written.coverage(of: step.range) ?? _written.sendReadsOutput(step.range, copyInput: _copyInput))
                ? UnsafeRawPointer(_output + byteOffset) : _input + byteOffset
            mpiCheck(MPI_Isend(source, Int32(step.count), _transportType, Int32(step.peer), 0, comm, &request), "MPI_Isend")
        case .recvCopy:
            mpiCheck(MPI_Irecv(_output + byteOffset, Int32(step.count), _transportType, Int32(step.peer), 0, comm, &request), "MPI_Irecv")
        case .recvReduce:
            let (scratch, capacity) = _scratch.take(bytes: step.count * _elementSize)
            pending.scratch = scratch
            pending.scratchCapacity = capacity
            mpiCheck(MPI_Irecv(scratch, Int32(step.count), _transportType, Int32(step.peer), 0, comm, &request), "MPI_Irecv")
        }
        _requests.append(request)
        _pending.append(pending)
    }

    func _waitSome(_ completed: inout [Int]) {
        let n = _requests.count
        if _completedIndices.count < n { _completedIndices = [Int32](repeating: 0, count: max(n, 2 * _completedIndices.count)) }
        var outcount: Int32 = 0
        _requests.withUnsafeMutableBufferPointer { requests in
            _completedIndices.withUnsafeMutableBufferPointer { indices in
                mpiCheck(MPI_Waitsome(Int32(n), requests.baseAddress, &outcount, indices.baseAddress, cmpi_statuses_ignore()), "MPI_Waitsome")
            }
        }
        precondition(outcount >= 0, "MPIScheduleRunner: MPI_Waitsome found no active request")
        let arrived = timeline == nil ? 0 : _timelineNow()
        for k in 0..<Int(outcount) {
            var p = _pending[Int(_completedIndices[k])]
            p.transferEndSeconds = arrived
            let range = (p.byteOffset / _elementSize)..<(p.byteOffset / _elementSize + p.count)
            switch p.kind {
            case .recvReduce:
                if p.reduceAfter >= 0 {
                    // Staged: the send it follows may still read the range; reduce once it completed.
                    _staged.append(p)
                    continue
                }
                _reduceReceived(p)
                if timeline != nil { _record(p, reduceBegin: arrived) }
            case .recvCopy:
                _written.insert(range)
                statistics.bytesCopied += p.count * _elementSize
                if timeline != nil { _record(p) }
            case .send:
                statistics.messages += 1
                statistics.bytesSent += p.count * _elementSize
                if timeline != nil { _record(p) }
            }
            statistics.steps += 1
            completed.append(p.stepIndex)
        }
        // Completed requests are now MPI_REQUEST_NULL (in Open MPI the address of a library
        // global, not a null pointer): drop them, keeping issue order.
        let null = cmpi_request_null()
        var w = 0
        for r in 0..<n where _requests[r] != null {
            _requests[w] = _requests[r]
            _pending[w] = _pending[r]
            w += 1
        }
        _requests.removeLast(n - w)
        _pending.removeLast(n - w)
        var i = 0
        while i < _staged.count {
            let p = _staged[i]
            if _pending.contains(where: { $0.stepIndex == p.reduceAfter }) { i += 1; continue }
            let reduceBegin = timeline == nil ? 0 : _timelineNow()
            _reduceReceived(p)
            if timeline != nil { _record(p, reduceBegin: reduceBegin) }
            statistics.steps += 1
            completed.append(p.stepIndex)
            _staged.remove(at: i)
        }
    }

    /// Reduces a completed receive's scratch into the output and gives the scratch back.
    func _reduceReceived(_ p: _Pending) {
        let range = (p.byteOffset / _elementSize)..<(p.byteOffset / _elementSize + p.count)
        let scratch = p.scratch!
        let begin = timesReductions ? MPIProcess.wallTimeSeconds() : 0
        defer { if timesReductions { statistics.reduceSeconds += MPIProcess.wallTimeSeconds() - begin } }
        // Where no step wrote yet, output = input op received, in one pass.
        _written.reduceReceived(range, from: scratch, reducer: reducer, output: _output, input: _input, elementSize: _elementSize)
        _scratch.give(scratch, capacity: p.scratchCapacity)
        statistics.bytesReduced += p.count * _elementSize
    }
}

/// One rank's steps as MPI point-to-point messages: the ``RankTransport`` that
/// ``Schedule/run(rank:transport:)`` drives with ``RankProgress`` for ``MPIScheduleRunner``.
/// `start` posts `MPI_Isend`/`MPI_Irecv` and never blocks; `waitForCompletions` is one
/// `MPI_Waitsome`, after which received data has been reduced into place.
public struct MPIPointToPointTransport: RankTransport {
    let runner: MPIScheduleRunner

    public mutating func start(_ step: Step, index: Int) throws(ExecutionError) {
        guard step.count >= 0 && step.count <= Int(Int32.max) else {
            throw .mismatch("step \(index) moves \(step.count) elements, outside MPI's int count")
        }
        runner._post(index, step)
    }

    public mutating func waitForCompletions(_ completed: inout [Int]) throws(ExecutionError) {
        runner._waitSome(&completed)
    }
}

extension MPIScheduleRunner: ScheduleExecutor {
    /// Plays `schedule` in place on this rank's buffer: `buffers` must hold exactly the buffer
    /// of this process's rank, and `reducer` must reduce the runner's datatype. Collective.
    public func execute<S: Schedule>(_ schedule: S, buffers: [RankBuffer], reducer: Reducer) throws(ExecutionError) -> ExecutionStatistics {
        guard buffers.count == 1, buffers[0].rank == communicator.rank else {
            throw .mismatch("an MPI rank plays only its own buffer (rank \(communicator.rank)), got ranks \(buffers.map(\.rank))")
        }
        guard reducer == self.reducer else {
            throw .mismatch("this runner reduces \(self.reducer.dataType.rawValue) \(self.reducer.op.rawValue), asked for \(reducer.dataType.rawValue) \(reducer.op.rawValue)")
        }
        guard schedule.rankCount == communicator.size else {
            throw .mismatch("schedule for \(schedule.rankCount) ranks on a communicator of \(communicator.size)")
        }
        let before = statistics
        let start = MPIProcess.wallTimeSeconds()
        run(schedule, buffer: buffers[0].base)
        var delta = ExecutionStatistics()
        delta.steps = statistics.steps - before.steps
        delta.messages = statistics.messages - before.messages
        delta.bytesSent = statistics.bytesSent - before.bytesSent
        delta.bytesReduced = statistics.bytesReduced - before.bytesReduced
        delta.bytesCopied = statistics.bytesCopied - before.bytesCopied
        delta.seconds = MPIProcess.wallTimeSeconds() - start
        return delta
    }
}

/// Reusable receive buffers: a run takes one per `recvReduce` in flight and gives it back when
/// the reduction is done, so steady-state runs allocate nothing.
struct _ScratchPool {
    var free: [(pointer: UnsafeMutableRawPointer, capacity: Int)] = []
    var all: [UnsafeMutableRawPointer] = []

    init() {}

    /// A buffer of at least `bytes` bytes (page-aligned, ``MessageBuffer``) and its capacity.
    mutating func take(bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        if let i = free.firstIndex(where: { $0.capacity >= bytes }) {
            let b = free.remove(at: i)
            return (b.pointer, b.capacity)
        }
        let capacity = Swift.max(bytes, 64)
        let p = MessageBuffer.allocate(bytes: capacity)
        all.append(p)
        return (p, capacity)
    }

    mutating func give(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        free.append((pointer, capacity))
    }

    mutating func releaseAll() {
        for p in all { p.deallocate() }
        all.removeAll()
        free.removeAll()
    }
}
#endif
