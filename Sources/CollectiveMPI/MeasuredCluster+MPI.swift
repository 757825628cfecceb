#if MPI
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
#if canImport(Glibc)
import Glibc
#endif

extension MeasuredCluster {
    /// Runs the calibration on `world` (collective: every rank calls it; ``MPICalibration/measure``)
    /// and names what it measured: the cluster `allreduce calibrate` writes as a topology file and
    /// `allreduce mpi --predict` plays. The transport is what `OMPI_MCA_btl` asked for, else Open
    /// MPI's default.
    public static func measure(_ world: Communicator, name: String, probeBytes: Int, iterations: Int, reduceType: DataType,
                               largestWorkingSetBytes: Int = 0) -> MeasuredCluster {
        let c = MPICalibration.measure(world, probeBytes: probeBytes, iterations: iterations, reduceType: reduceType, largestWorkingSetBytes: largestWorkingSetBytes)
        func pair(_ p: MPIPairFigures?) -> MeasuredCluster.Pair? {
            p.map { MeasuredCluster.Pair(latencyMicroseconds: $0.latencyMicroseconds, pingPongGBps: $0.pingPongGBps, concurrentGBps: $0.concurrentGBps, concurrentRanks: $0.concurrentRanks) }
        }
        var byType: [String: Double] = [:]
        for (t, r) in c.reduceGBps { byType[t.rawValue] = r }
        let btl = getenv("OMPI_MCA_btl").map { "--mca btl \(String(cString: $0))" } ?? "Open MPI's default transport"
        return MeasuredCluster(
            name: name, hostnames: c.hostnames, ranksPerNode: c.layout.ranksPerNode, transport: btl, probeBytes: c.probeBytes,
            latencyProbeBytes: MPICalibration.latencyProbeBytes, sameNode: pair(c.sameNode), acrossNodes: pair(c.acrossNodes),
            memoryCopyGBps: c.memoryCopyGBps, memoryTransferGBps: c.memoryTransferGBps, memoryReduceGBps: c.runnerReduceGBps ?? byType[reduceType.rawValue] ?? c.singleRankReduceGBps,
            reduceType: reduceType.rawValue, reduceGBpsByType: byType, singleRankReduceGBps: c.singleRankReduceGBps,
            stepOverheadMicroseconds: c.stepOverheadMicroseconds,
            sizeScan: c.sizeScan.map { MeasuredCluster.Scan(bytes: $0.bytes, transferGBps: $0.transferGBps, reduceGBps: $0.reduceGBps, pairGBps: $0.pairGBps) },
            workingSetScan: c.workingSetScan.map { MeasuredCluster.Scan(bytes: $0.bytes, transferGBps: $0.transferGBps, reduceGBps: $0.reduceGBps, pairGBps: $0.pairGBps) },
            inFlightScan: c.inFlightScan.map { MeasuredCluster.InFlightRate(messages: $0.messages, gbps: $0.gbps, factor: $0.factor) },
            overheadProbe: "a ring allreduce of one float per rank, \(c.overheadProbeSteps) steps per run, \(formatFixed(c.overheadProbeMicrosecondsPerStep, decimals: 2)) us per step")
    }
}
#endif
