import CollectiveCore
import CollectiveFabric

/// Builds the schedule the engines play for an algorithm on a fabric.
public enum SimulatedSchedules {
    /// The parameters every builder gets: one rank per GPU, ranks per node from the fabric.
    public static func parameters(fabric: FabricMap, elementCount: Int, elementSizeBytes: Int, chunkBytes: Int,
                                  interNodeAlgorithm: AllreduceAlgorithm = .ring, channelCount: Int = 1,
                                  collective: Collective = .allreduce) -> ScheduleParameters {
        ScheduleParameters(rankCount: fabric.rankCount, elementCount: elementCount, elementSizeBytes: elementSizeBytes,
                           chunkBytes: chunkBytes, ranksPerNode: fabric.gpusPerNode, interNodeAlgorithm: interNodeAlgorithm,
                           channelCount: channelCount, collective: collective)
    }

    /// The schedule of `algorithm` for `parameters` (``AllreduceAlgorithm/makeSchedule(_:)``: the
    /// same schedule every executor plays), refused first when its steps exceed `maxSteps`
    /// (``WorkLimit``) or the engine's state for its ranks and lanes would not fit in the memory
    /// available (``SystemMemory``).
    /// With `fold` (NCCL's NVLS tree only), the folded schedule over its played nodes
    /// (`parameters` are the full cluster's): the full cluster may be past `maxSteps`, and the
    /// played nodes' steps are checked against it instead (their engine state is a few nodes').
    public static func make(_ algorithm: AllreduceAlgorithm, _ parameters: ScheduleParameters,
                            maxSteps: Int = WorkLimit.defaultMaxSteps, fold: FoldedTree? = nil) throws -> any Schedule {
        if let fold {
            guard algorithm == .ncclNVLSTree else { throw SimulationError("only NCCL's NVLS tree plays folded") }
            let played = parameters.played(on: fold)
            do {
                try WorkLimit.check(algorithm, played, maxSteps: maxSteps)
                return try NVLSSchedule(played, fold: fold)
            } catch {
                throw SimulationError("\(algorithm.rawValue) folded (\(fold.nodeCount) nodes played as \(fold.playedNodeCount)): \(error)")
            }
        }
        do {
            try WorkLimit.check(algorithm, parameters, maxSteps: maxSteps)
            let lanes = algorithm == .ncclRing || algorithm == .ncclTree ? parameters.channelCount : 1
            let (rankLanes, o1) = parameters.rankCount.multipliedReportingOverflow(by: lanes)
            let (bytes, o2) = rankLanes.multipliedReportingOverflow(by: engineBytesPerRankLane)
            try SystemMemory.check(needed: o1 || o2 ? nil : bytes, for: "the event engine's state for \(parameters.rankCount) ranks x \(lanes) lanes")
            return try algorithm.makeSchedule(parameters)
        } catch {
            throw SimulationError("\(algorithm.rawValue): \(error)")
        }
    }

    /// An upper estimate of the event engine's memory per rank and lane: the rank's progress and
    /// record, its pending and transfer records and its event-queue slots (each at most a few
    /// hundred bytes: docs/Performance.md's 16,384-GPU run peaks at 348 MiB for 262,144 lanes, 1.4 KB each).
    public static let engineBytesPerRankLane = 4096

    /// Algorithms whose schedules this build can produce (the event engine's `auto` candidates),
    /// probed with a collective each builds.
    public static let available: [AllreduceAlgorithm] = AllreduceAlgorithm.allCases.filter { a in
        let collective = Collective.allCases.first { a.supports($0) } ?? .allreduce
        let probe = ScheduleParameters(rankCount: 4, elementCount: 8, elementSizeBytes: 4, chunkBytes: 8, ranksPerNode: 2, collective: collective)
        return (try? a.makeSchedule(probe)) != nil
    }
}

extension EventEngine {
    /// Plays any schedule; the known schedule types take a specialised path. A schedule of
    /// channels plays its lanes apart where the fabric's ranks run them so
    /// (``FabricMap/channelsRunApart``: GPUs), and each rank's interleaved program in order on
    /// CPU nodes, as the MPI runner issues it.
    public func run(any schedule: any Schedule, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        if let s = schedule as? RingSchedule { return try run(s, elementSizeBytes: elementSizeBytes) }
        if let s = schedule as? TreeSchedule { return try run(s, elementSizeBytes: elementSizeBytes) }
        if let s = schedule as? RabenseifnerSchedule { return try run(s, elementSizeBytes: elementSizeBytes) }
        if let s = schedule as? RecursiveDoublingSchedule { return try run(s, elementSizeBytes: elementSizeBytes) }
        if let s = schedule as? HierarchicalSchedule { return try run(s, elementSizeBytes: elementSizeBytes) }
        if let s = schedule as? ChannelRingSchedule { return try _runChannels(s, elementSizeBytes: elementSizeBytes) }
        if let s = schedule as? ChannelTreeSchedule { return try _runChannels(s, elementSizeBytes: elementSizeBytes) }
        if let s = schedule as? NVLSSchedule { return try run(lanes: s, elementSizeBytes: elementSizeBytes) }
        return try _runOpened(schedule, elementSizeBytes: elementSizeBytes)
    }

    func _runOpened<S: Schedule>(_ schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        try run(schedule, elementSizeBytes: elementSizeBytes)
    }

    /// A schedule of channels: its lanes apart where the fabric's ranks run them so, else each
    /// rank's interleaved program in order (``FabricMap/channelsRunApart``).
    func _runChannels<S: ChannelSchedule>(_ schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        fabric.channelsRunApart ? try run(lanes: schedule, elementSizeBytes: elementSizeBytes) : try run(schedule, elementSizeBytes: elementSizeBytes)
    }
}
