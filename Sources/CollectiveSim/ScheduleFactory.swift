import CollectiveCore
import CollectiveFabric

/// Builds the schedule the engines play for an algorithm on a fabric.
public enum SimulatedSchedules {
    /// The parameters every builder gets: one rank per GPU, ranks per node from the fabric.
    public static func parameters(fabric: FabricMap, elementCount: Int, elementSizeBytes: Int, chunkBytes: Int,
                                  interNodeAlgorithm: AllreduceAlgorithm = .ring) -> ScheduleParameters {
        ScheduleParameters(rankCount: fabric.rankCount, elementCount: elementCount, elementSizeBytes: elementSizeBytes,
                           chunkBytes: chunkBytes, ranksPerNode: fabric.gpusPerNode, interNodeAlgorithm: interNodeAlgorithm)
    }

    /// The schedule of `algorithm` for `parameters`.
    public static func make(_ algorithm: AllreduceAlgorithm, _ parameters: ScheduleParameters) throws -> any Schedule {
        switch algorithm {
        case .ring:
            return try RingSchedule(parameters)
        default:
            throw SimulationError("the \(algorithm.rawValue) schedule is not available to the event engine in this build; use --model analytic or nccl")
        }
    }

    /// Algorithms the event engine can play in this build.
    public static var available: [AllreduceAlgorithm] { [.ring] }
}

extension EventEngine {
    /// Plays any schedule; the known schedule types take a specialised path.
    public func run(any schedule: any Schedule, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        if let ring = schedule as? RingSchedule { return try run(ring, elementSizeBytes: elementSizeBytes) }
        return try _runOpened(schedule, elementSizeBytes: elementSizeBytes)
    }

    func _runOpened<S: Schedule>(_ schedule: S, elementSizeBytes: Int) throws(SimulationError) -> EventResult {
        try run(schedule, elementSizeBytes: elementSizeBytes)
    }
}
