/// The one entry point executors use to build a schedule by name.
extension AllreduceAlgorithm {
    /// Builds this algorithm's schedule for `parameters`.
    ///
    /// Every executor (in-process, simulator, MPI runner) plays the schedule it returns, so the
    /// timings and the results come from the same steps. Throws ``ScheduleError/invalidParameter(_:)``
    /// for parameters out of range.
    public func makeSchedule(_ parameters: ScheduleParameters) throws(ScheduleError) -> any Schedule {
        switch self {
        case .ring: return try RingSchedule(parameters)
        case .tree: return try TreeSchedule(parameters)
        case .rabenseifner: return try RabenseifnerSchedule(parameters)
        case .recursiveDoubling: return try RecursiveDoublingSchedule(parameters)
        case .hierarchical: return try HierarchicalSchedule(parameters)
        case .ncclRing: return try ChannelRingSchedule(parameters)
        case .ncclTree: return try ChannelTreeSchedule(parameters)
        }
    }
}
