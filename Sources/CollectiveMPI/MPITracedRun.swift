import CollectiveCore

/// One traced call of `allreduce mpi --trace`: an untimed call of one algorithm at one size,
/// after a barrier, whose steps the traced ranks recorded (``MPIScheduleRunner/timeline`` over
/// p2p, ``MPISharedMemoryRunner/timeline`` over shm) and rank 0 gathered. Calls without steps
/// (`MPI_Allreduce`, memcpy) are one ``StepTimelineRecord/Kind/call`` record per traced rank.
public struct MPITracedRun: Sendable {
    public var sizeBytes: Int
    /// Elements per rank.
    public var count: Int
    public var choice: MPIAlgorithmChoice
    /// The row's name (`ring->recursive-doubling` where the schedule fell back).
    public var name: String
    /// The traced ranks' records, on rank 0 (empty on the others). Times are seconds from the
    /// end of each rank's barrier before the call.
    public var records: [StepTimelineRecord]
    /// Steps the traced ranks did not keep (beyond ``MPIRunConfiguration/traceRecordLimit(rankCount:)``).
    public var droppedRecords: Int
    public var sampling: TraceRankSampling
    /// The name of a ``StepTimelineRecord/Kind/call`` slice: `MPI_Allreduce`, `memcpy`.
    public var callName: String
}
