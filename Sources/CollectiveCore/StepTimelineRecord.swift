/// One step of one rank as an executor ran it, with its times: the unit of a measured timeline
/// (``MeasuredTimelineTrace``). Fixed size and trivially copyable, so that ranks can gather
/// their records to rank 0 as bytes (`allreduce mpi --trace`).
public struct StepTimelineRecord: Sendable, Equatable, BitwiseCopyable {
    /// What the record is: a step's kind, or a whole call that has no steps (`MPI_Allreduce`,
    /// the memcpy bound).
    public enum Kind: UInt8, Sendable, Equatable, BitwiseCopyable {
        case send, recvReduce, recvCopy, call

        public init(_ step: StepKind) {
            switch step {
            case .send: self = .send
            case .recvReduce: self = .recvReduce
            case .recvCopy: self = .recvCopy
            }
        }
    }

    public var kind: Kind
    public var rank: Int32
    /// The step's index in the rank's program (-1 for a call).
    public var stepIndex: Int32
    /// The other rank (-1 for a call).
    public var peer: Int32
    /// The step's pipelining chunk (``Step/chunk``).
    public var chunk: Int32
    public var bytes: Int64
    /// When the step was issued, seconds from the common start.
    public var startSeconds: Double
    /// When its message completed: sent, or received (before a receive's reduction).
    public var transferEndSeconds: Double
    /// When the step completed: for a `recvReduce` after its reduction (which began at
    /// ``reduceBeginSeconds``), otherwise ``transferEndSeconds``.
    public var endSeconds: Double
    /// When a `recvReduce`'s reduction began (a staged one waits for its send); else equal to
    /// ``endSeconds``.
    public var reduceBeginSeconds: Double

    public init(kind: Kind, rank: Int, stepIndex: Int, peer: Int, chunk: Int, bytes: Int,
                startSeconds: Double, transferEndSeconds: Double, reduceBeginSeconds: Double? = nil, endSeconds: Double? = nil) {
        self.kind = kind
        self.rank = Int32(truncatingIfNeeded: rank)
        self.stepIndex = Int32(truncatingIfNeeded: stepIndex)
        self.peer = Int32(truncatingIfNeeded: peer)
        self.chunk = Int32(truncatingIfNeeded: chunk)
        self.bytes = Int64(bytes)
        self.startSeconds = startSeconds
        self.transferEndSeconds = transferEndSeconds
        self.endSeconds = endSeconds ?? transferEndSeconds
        self.reduceBeginSeconds = reduceBeginSeconds ?? self.endSeconds
    }
}
