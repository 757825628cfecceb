import CollectiveCore
import CollectiveFabric

extension Simulator {
    /// Times `algorithm`'s schedule for exactly `parameters`, with the event engine: the rank
    /// count, ranks per node, chunk, channels and inter-node algorithm as a runner that plays them
    /// (`allreduce mpi`) gives them, so the prediction is of the schedule that ran. The fabric must
    /// have `parameters.rankCount` ranks and `parameters.ranksPerNode` per node.
    /// `observer` (a trace recorder) watches the run.
    public func time(_ algorithm: AllreduceAlgorithm, parameters: ScheduleParameters, observer: (any EngineObserver)? = nil) throws -> SimulationOutcome {
        guard parameters.rankCount == fabric.rankCount, parameters.ranksPerNode == fabric.gpusPerNode else {
            throw SimulationError("the schedule is for \(parameters.rankCount) ranks, \(parameters.ranksPerNode) per node, but the fabric has \(fabric.rankCount), \(fabric.gpusPerNode) per node")
        }
        let schedule = try SimulatedSchedules.make(algorithm, parameters, maxSteps: maxSteps)
        let r = try play(schedule, elementSizeBytes: parameters.elementSizeBytes, inPlace: parameters.inPlace, observer: observer)
        var o = SimulationOutcome(algorithm: algorithm, ncclProtocol: nil, timeSeconds: r.timeSeconds, statistics: r.statistics)
        o.linkUtilization = r.linkUtilization
        o.rowName = algorithm.rowName(for: parameters)
        return try Self.finite(o)
    }
}
