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
/// count as completed). Runs are out of place without a first copy of the input
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
    var _requests: [MPI_Request?] = []
    var _pending: [_Pending] = []
    var _completedIndices: [Int32] = []
    var _scratch = _ScratchPool()
    /// Elements of the output some step has written during the current run.
    var _written = ElementRangeSet()
    var _input = UnsafeRawPointer(bitPattern: 64)!
    var _output = UnsafeMutableRawPointer(bitPattern: 64)!
    var _closed = false

    struct _Pending {
        var stepIndex: Int
        var kind: StepKind
        var byteOffset: Int
        var count: Int
        var scratch: UnsafeMutableRawPointer?
        var scratchCapacity: Int
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
        precondition(!_closed, "MPIScheduleRunner: used after close()")
        precondition(schedule.rankCount == communicator.size,
                     "MPIScheduleRunner: schedule for \(schedule.rankCount) ranks on a communicator of \(communicator.size)")
        _input = input
        _output = output
        _written.removeAll()
        if input == UnsafeRawPointer(output) { _written.insert(0..<schedule.elementCount) }
        var progress = RankProgress(schedule.makeSteps(forRank: communicator.rank))
        while true {
            while let (index, step) = progress.issueNext() {
                _post(index, step)
            }
            if _requests.isEmpty {
                // Nothing in flight, so every issued step completed and the next one (if any)
                // is ready: RankProgress would have issued it.
                precondition(progress.isFinished(), "MPIScheduleRunner: rank \(communicator.rank) stalled with nothing in flight")
                break
            }
            _waitSome(&progress)
        }
        // Whatever no step wrote still holds the input's value.
        _written.forEachPiece(of: 0..<schedule.elementCount) { piece, written in
            if !written { _copyInput(piece) }
        }
        reducer.finalize(output, count: schedule.elementCount, contributions: schedule.rankCount)
    }

    @inline(__always)
    func _copyInput(_ r: Range<Int>) {
        (_output + r.lowerBound * _elementSize).copyMemory(from: _input + r.lowerBound * _elementSize, byteCount: r.count * _elementSize)
    }

    func _post(_ index: Int, _ step: Step) {
        precondition(step.count <= Int(Int32.max), "MPIScheduleRunner: a step of \(step.count) elements exceeds MPI's int count")
        let byteOffset = step.offset * _elementSize
        var request: MPI_Request? = nil
        var pending = _Pending(stepIndex: index, kind: step.kind, byteOffset: byteOffset, count: step.count, scratch: nil, scratchCapacity: 0)
        let comm = communicator.handle
        switch step.kind {
        case .send:
            // Send from the input while no step has written the range; from the output once
            // one has written all of it; a mixed range is completed from the input first.
            let source: UnsafeRawPointer
            if _written.isDisjoint(with: step.range) {
                source = _input + byteOffset
            } else {
                if !_written.contains(step.range) {
                    _written.forEachPiece(of: step.range) { piece, written in if !written { _copyInput(piece) } }
                    _written.insert(step.range)
                }
                source = UnsafeRawPointer(_output + byteOffset)
            }
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

    func _waitSome<I>(_ progress: inout RankProgress<I>) {
        let n = _requests.count
        if _completedIndices.count < n { _completedIndices = [Int32](repeating: 0, count: max(n, 2 * _completedIndices.count)) }
        var outcount: Int32 = 0
        _requests.withUnsafeMutableBufferPointer { requests in
            _completedIndices.withUnsafeMutableBufferPointer { indices in
                mpiCheck(MPI_Waitsome(Int32(n), requests.baseAddress, &outcount, indices.baseAddress, cmpi_statuses_ignore()), "MPI_Waitsome")
            }
        }
        precondition(outcount >= 0, "MPIScheduleRunner: MPI_Waitsome found no active request")
        for k in 0..<Int(outcount) {
            let p = _pending[Int(_completedIndices[k])]
            let range = (p.byteOffset / _elementSize)..<(p.byteOffset / _elementSize + p.count)
            switch p.kind {
            case .recvReduce:
                let scratch = p.scratch!
                // Where no step wrote yet, output = input op received, in one pass.
                _written.forEachPiece(of: range) { piece, written in
                    let at = piece.lowerBound * _elementSize
                    let from = scratch + (at - p.byteOffset)
                    if written {
                        reducer.reduceInPlace(into: _output + at, from: from, count: piece.count)
                    } else {
                        reducer.reduce(into: _output + at, _input + at, from, count: piece.count)
                    }
                }
                _written.insert(range)
                _scratch.give(scratch, capacity: p.scratchCapacity)
            case .recvCopy:
                _written.insert(range)
            case .send:
                break
            }
            progress.complete(p.stepIndex)
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
    }
}

/// Reusable receive buffers: a run takes one per `recvReduce` in flight and gives it back when
/// the reduction is done, so steady-state runs allocate nothing.
struct _ScratchPool {
    var free: [(pointer: UnsafeMutableRawPointer, capacity: Int)] = []
    var all: [UnsafeMutableRawPointer] = []

    init() {}

    /// A buffer of at least `bytes` bytes (64-byte aligned) and its capacity.
    mutating func take(bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        if let i = free.firstIndex(where: { $0.capacity >= bytes }) {
            let b = free.remove(at: i)
            return (b.pointer, b.capacity)
        }
        let capacity = Swift.max(bytes, 64)
        let p = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
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
