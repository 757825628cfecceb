import CollectiveKernels

/// One rank's buffer, as an executor sees it: `elementCount` elements of the reducer's type.
public struct RankBuffer: @unchecked Sendable {
    /// The rank that owns the buffer.
    public var rank: Int
    /// First byte of the buffer.
    public var base: UnsafeMutableRawPointer

    public init(rank: Int, base: UnsafeMutableRawPointer) {
        self.rank = rank
        self.base = base
    }
}

/// What an executor did while playing a schedule (the local ranks' share).
public struct ExecutionStatistics: Sendable, Hashable {
    /// Steps completed.
    public var steps = 0
    /// Messages (send steps) completed.
    public var messages = 0
    /// Bytes carried by the messages.
    public var bytesSent = 0
    /// Bytes received with a reduction (each read from the sender, read and written at the receiver).
    public var bytesReduced = 0
    /// Bytes received with a copy (each read from the sender and written at the receiver).
    public var bytesCopied = 0
    /// Wall-clock seconds from the first step issued to the last step completed.
    public var seconds = 0.0
    /// Wall-clock seconds spent reducing received data, when the executor times its reductions
    /// (`MPIScheduleRunner.timesReductions`); 0 otherwise.
    public var reduceSeconds = 0.0

    public init() {}

    /// Bytes of memory traffic the data movement implies: a copied byte is read once and written
    /// once, a reduced byte is read twice (sender's and receiver's copies) and written once.
    public var memoryTrafficBytes: Int { 2 * bytesCopied + 3 * bytesReduced }
}

/// Why a schedule could not be played.
public enum ExecutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Steps remain but none can make progress.
    case deadlock(String)
    /// A send and its receive disagree, or a step is malformed.
    case mismatch(String)
    /// The transport failed (for example an MPI error).
    case transport(String)

    public var description: String {
        switch self {
        case .deadlock(let m): "deadlock: \(m)"
        case .mismatch(let m): "malformed schedule: \(m)"
        case .transport(let m): "transport error: \(m)"
        }
    }
}

/// Something that plays a ``Schedule`` on real buffers: the in-process executor
/// (``InProcessExecutor``, every rank in this process) and the MPI runner (one rank per process)
/// are implementations.
///
/// The executor issues each local rank's steps in order with ``RankProgress``, moves and reduces
/// the data with `reducer`, and once the schedule is complete applies
/// ``Reducer/finalize(_:count:contributions:)`` to every local buffer (the division of `avg`).
public protocol ScheduleExecutor {
    /// Plays `schedule` over `buffers`, one per rank hosted by this executor.
    func execute<S: Schedule>(_ schedule: S, buffers: [RankBuffer], reducer: Reducer) throws(ExecutionError) -> ExecutionStatistics
}

/// Moves the data of one rank's steps: the piece a one-rank-per-process executor (MPI) provides.
/// ``Schedule/run(rank:transport:)`` drives it with ``RankProgress``.
public protocol RankTransport {
    /// Starts step `index`: posts the send or the receive. Never blocks waiting for a peer. A
    /// receive-reduce completes only once its data has been reduced into its range.
    mutating func start(_ step: Step, index: Int) throws(ExecutionError)
    /// Blocks until at least one started step has completed; appends the completed indices.
    mutating func waitForCompletions(_ completed: inout [Int]) throws(ExecutionError)
}

extension Schedule {
    /// Plays rank `rank`'s steps through `transport`: starts every step whose dependencies have
    /// completed, in order, waits for completions, and repeats until every step completed.
    /// Returns the number of steps played.
    @discardableResult
    public func run<T: RankTransport>(rank: Int, transport: inout T) throws(ExecutionError) -> Int {
        guard switchCount == 0 else {
            throw .mismatch("\(algorithm.rawValue) reduces in the switch (NVLink SHARP), which a run of one rank per process has no counterpart for")
        }
        var completed: [Int] = []
        return try _playRankSteps(makeSteps(forRank: rank), rank: rank, rankCount: rankCount, transport: &transport, completed: &completed)
    }
}

/// The one loop that plays a rank's steps through a ``RankTransport`` with ``RankProgress``, for
/// ``Schedule/run(rank:transport:)`` (steps from the schedule's iterator) and
/// ``RankSteps/run(transport:completed:)`` (the same steps, fixed in an array). `completed` is
/// scratch the caller may keep between runs.
@inlinable
func _playRankSteps<I: IteratorProtocol<Step>, T: RankTransport>(
    _ steps: I, rank: Int, rankCount: Int, transport: inout T, completed: inout [Int]
) throws(ExecutionError) -> Int {
    var progress = RankProgress(steps)
    var count = 0
    while true {
        while let (index, step) = progress.issueNext() {
            guard step.peer >= 0 && step.peer < rankCount && step.peer != rank else {
                throw .mismatch("rank \(rank) step \(index) names peer \(step.peer)")
            }
            try transport.start(step, index: index)
            count += 1
        }
        if progress.isFinished() { return count }
        guard progress.inFlight > 0 else {
            throw .deadlock("rank \(rank) step \(progress.nextIndex) waits for steps that can never complete")
        }
        completed.removeAll(keepingCapacity: true)
        try transport.waitForCompletions(&completed)
        for i in completed { progress.complete(i) }
    }
}
