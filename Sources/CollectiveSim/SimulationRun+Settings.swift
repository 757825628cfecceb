import CollectiveCore
import CollectiveKernels

extension SimulationRun {
    /// What every row of a ``SimulationRun`` shares besides the cluster: the data, the timing
    /// model and its knobs, the work limit. The defaults are `allreduce simulate`'s.
    public struct Settings {
        /// Element type of the buffers.
        public var dataType: DataType = .float32
        /// Reduction operator (the rows' `redop` column).
        public var op: ReductionOp = .sum
        /// Which collective the rows time.
        public var collective: Collective = .allreduce
        public var model: TimingModel = .event
        /// How the event model serves transfers sharing a link.
        public var linkService: LinkService = .fifo
        /// What hierarchical runs between nodes; nil: the faster closed form at each size.
        public var interNodeAlgorithm: AllreduceAlgorithm?
        /// NCCL's protocol for the nccl choices; nil: NCCL's pick.
        public var ncclProtocol: NCCLProtocol?
        /// Channels: NCCL's count for the nccl choices (nil: NCCL's count for the size), and the
        /// channels of the `nccl-ring` and `nccl-tree` schedules timed by name (nil:
        /// ``ScheduleParameters/defaultChannelCount``).
        public var channels: Int?
        /// The pipelining chunk; nil: the protocol's step for the nccl choices,
        /// ``ScheduleParameters/defaultChunkBytes`` for the textbook schedules.
        public var chunkBytes: Int?
        /// Most steps the event model plays over all the runs of ``SimulationRun/checkWork(_:)``.
        public var maxSteps: Int = WorkLimit.defaultMaxSteps
        /// When NCCL's NVLS tree is played folded (``TreeFolding``).
        public var treeFolding: TreeFolding = .auto
        /// Whether the rows time in-place runs (``Simulator/inPlace``): one buffer per rank, the
        /// working set of a CPU node's memory rates; GPU fabrics time the same either way.
        public var inPlace = false

        public init() {}
    }
}
