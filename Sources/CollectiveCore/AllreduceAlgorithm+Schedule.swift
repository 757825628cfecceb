/// The one entry point executors use to build a schedule by name.
extension AllreduceAlgorithm {
    /// Builds the schedule that runs for this algorithm and `parameters`: this algorithm's, or
    /// recursive doubling's where this one falls back to it (``scheduledAlgorithm(for:)``).
    ///
    /// Every executor (in-process, simulator, MPI runner) plays the schedule it returns, so the
    /// timings and the results come from the same steps. Throws ``ScheduleError/invalidParameter(_:)``
    /// for parameters out of range.
    public func makeSchedule(_ parameters: ScheduleParameters) throws(ScheduleError) -> any Schedule {
        try requireSupport(parameters.collective)
        switch scheduledAlgorithm(for: parameters) {
        case .ring: return try RingSchedule(parameters)
        case .tree: return try TreeSchedule(parameters)
        case .rabenseifner: return try RabenseifnerSchedule(parameters)
        case .recursiveDoubling: return try RecursiveDoublingSchedule(parameters)
        case .hierarchical: return try HierarchicalSchedule(parameters)
        case .ncclRing: return try ChannelRingSchedule(parameters)
        case .ncclTree: return try ChannelTreeSchedule(parameters)
        case .ncclNVLS: return try NVLSSchedule(parameters)
        case .ncclNVLSTree: return try NVLSSchedule(parameters, betweenNodes: .tree)
        case .ncclCollNet: return try NVLSSchedule(parameters, inNode: .direct)
        case .ncclPAT: return try PATSchedule(parameters)
        }
    }

    /// The algorithm whose schedule runs for `parameters`.
    ///
    /// With fewer elements than blocks, ring and Rabenseifner move empty blocks in
    /// latency-bound steps: the ring keeps its 2(p - 1) steps when count < p (empty blocks), and
    /// Rabenseifner its 2 lg q rounds when count < q (q = 2^floor(lg p)), where recursive
    /// doubling needs lg q (+2 for p not a power of two) messages in all. Below these counts they
    /// run recursive doubling instead, as Open MPI's ring does (`count < size`,
    /// `ompi_coll_base_allreduce_intra_ring` in coll_base_allreduce.c) and as MPICH chooses for
    /// short messages (Thakur, Rabenseifner and Gropp, IJHPCA 2005; Open MPI's
    /// Rabenseifner falls back to its linear algorithm instead). ``ScheduleParameters/smallCountFallback``
    /// false keeps the algorithm as asked. Hierarchical falls back the same way when the count is
    /// below the ranks per node, where its intra-node rings would move only empty blocks. The
    /// tree is unchanged: its latency terms come from its shape, not from empty blocks; NCCL's
    /// channelized schedules are unchanged too (NCCL itself runs them at any count, on fewer
    /// channels). A reduce-scatter or an all-gather never falls back: recursive doubling builds
    /// neither.
    public func scheduledAlgorithm(for parameters: ScheduleParameters) -> AllreduceAlgorithm {
        guard parameters.smallCountFallback, parameters.collective == .allreduce, parameters.rankCount > 1 else { return self }
        switch self {
        case .ring where parameters.elementCount < parameters.rankCount:
            return .recursiveDoubling
        case .rabenseifner where parameters.elementCount < PowerOfTwoFold(rankCount: parameters.rankCount).coreCount:
            return .recursiveDoubling
        case .hierarchical where parameters.ranksPerNode > 1 && parameters.elementCount < parameters.ranksPerNode:
            return .recursiveDoubling
        default:
            return self
        }
    }

    /// The name of a result row: this algorithm's name, or `ring->recursive-doubling` when
    /// another algorithm's schedule runs (``scheduledAlgorithm(for:)``).
    public func rowName(for parameters: ScheduleParameters) -> String {
        let ran = scheduledAlgorithm(for: parameters)
        return ran == self ? rawValue : "\(rawValue)->\(ran.rawValue)"
    }
}
