import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
import CollectiveMPI
import Foundation
#if MPI
import CMPI
#endif

/// `allreduce calibrate`: measures the machine it runs on under mpirun and writes the topology
/// file of the measured cluster, which `simulate --topology FILE` and `mpi --predict FILE` play.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure this cluster under mpirun and write it as a topology file.",
        discussion: """
            Start it under mpirun with the ranks and transport you will run, for example:

              mpirun -np 2 --mca btl self,vader allreduce calibrate --output cluster.yaml
              mpirun -np 16 --hostfile hosts allreduce calibrate --output cluster.yaml

            It measures point-to-point latency and bandwidth for each pair class (two ranks of one node, through the transport Open MPI picked; two ranks on different nodes) as a ping-pong and with every rank exchanging at once; the memory bandwidth the ranks of a node get together (copies, transfers and reductions on every rank at once); our reduction kernels' rate per element type; and our runner's time per step. The file (YAML) holds the nodes (host names from MPI), ranks per node, links, the node's memory as a shared resource (node.memory) and the overhead, each figure with a comment saying how it was measured. Then:

              allreduce simulate --topology cluster.yaml --nodes 20 --size 64M --algorithm ring

            Needs the package trait MPI: swift build -c release --traits MPI.
            """
    )

    @Option(name: .customLong("output"), help: "The topology file to write (YAML).")
    var output: String

    @Option(name: .customLong("name"), help: "The cluster's name in the file (default: the file's name).")
    var name: String?

    @Option(name: .customLong("probe-bytes"), help: "Bytes of the bandwidth probes: the runner's chunk (--chunk-bytes of mpi) predicts best.")
    var probeBytes = "1M"

    @Option(name: .customLong("largest-working-set"), help: "The largest working set (bytes of buffer per rank) whose memory rates are measured, from twice the probe up in powers of two: twice the largest collective you will predict (an input and an output), or its size in place (0: none).")
    var largestWorkingSet = "128M"

    @Option(name: [.customShort("n"), .customLong("iters")], help: "Timed iterations per bandwidth probe (the latency and step probes run 20 times as many).")
    var iterations = 50

    @Option(name: [.customShort("d"), .customLong("datatype")], help: "Element type whose reduction rate the model uses: \(DataType.validNames).")
    var dataType = "float"

    /// The checked options: probe bytes, element type.
    func validated() throws -> (probeBytes: Int, type: DataType, largestWorkingSet: Int) {
        guard !output.isEmpty else { throw ValidationError("--output: empty file name") }
        guard let type = DataType(name: dataType) else { throw ValidationError("unknown datatype '\(dataType)' (valid: \(DataType.validNames))") }
        let bytes = try parseBytes(probeBytes, option: "--probe-bytes")
        guard bytes >= 64 && bytes <= 1 << 30 else { throw ValidationError("--probe-bytes must be between 64 and 1G, got \(probeBytes)") }
        guard bytes % 16 == 0 else { throw ValidationError("--probe-bytes must be a multiple of 16 (whole elements of every type), got \(probeBytes)") }
        guard iterations >= 1 && iterations <= 1_000_000 else { throw ValidationError("-n must be between 1 and 1000000, got \(iterations)") }
        let largest = try parseBytes(largestWorkingSet, option: "--largest-working-set")
        guard largest <= 4 << 30 else { throw ValidationError("--largest-working-set must be at most 4G, got \(largestWorkingSet)") }
        return (bytes, type, largest)
    }

    /// The cluster's name: --name, else the output file's name without its extension.
    var clusterName: String {
        if let name { return name }
        var stem = (output as NSString).lastPathComponent
        for ext in [".yaml", ".yml", ".json"] where stem.lowercased().hasSuffix(ext) { stem = String(stem.dropLast(ext.count)) }
        return stem
    }

    func run() throws {
        let (bytes, type, largest) = try validated()
        #if MPI
        MPIProcess.initialize()
        let world = Communicator.world
        let measured = MeasuredCluster.measure(world, name: clusterName, probeBytes: bytes, iterations: iterations, reduceType: type, largestWorkingSetBytes: largest)
        if world.rank == 0 {
            do {
                try measured.fileText().write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                mpiStop(world, "--output: cannot write '\(output)': \(error.localizedDescription)")
            }
            print(calibrationSummary(measured, file: output))
        }
        MPIProcess.finalize()
        #else
        _ = (bytes, type, largest)
        throw CLIError("'allreduce calibrate' needs the MPI runner, which this build left out: rebuild with `swift build -c release --traits MPI` (Open MPI's libopenmpi-dev must be installed; Scripts/setup installs it)")
        #endif
    }
}

/// The lines `calibrate` prints (and `mpi --predict` without a file puts in its footer).
func calibrationSummary(_ m: MeasuredCluster, file: String?) -> String {
    func gbps(_ x: Double) -> String { PhysicalUnit.formatBandwidth(x) }
    var lines = ["# calibrated \(m.hostnames.count) node\(m.hostnames.count == 1 ? "" : "s") (\(m.hostnames.joined(separator: ", "))), \(m.ranksPerNode) rank\(m.ranksPerNode == 1 ? "" : "s") per node, \(m.transport)" + (file.map { " -> \($0)" } ?? "")]
    if let s = m.sameNode {
        lines.append("# same node: \(formatFixed(s.latencyMicroseconds, decimals: 2)) us, \(gbps(s.pingPongGBps)) ping-pong, \(gbps(s.concurrentGBps)) per rank with \(s.concurrentRanks) exchanging")
    }
    if let a = m.acrossNodes {
        lines.append("# across nodes: \(formatFixed(a.latencyMicroseconds, decimals: 2)) us, \(gbps(a.pingPongGBps)) ping-pong, \(gbps(a.concurrentGBps)) per rank with \(a.concurrentRanks) exchanging")
    }
    lines.append("# node memory (all ranks at once): transfers \(m.memoryTransferGBps.map(gbps) ?? "-"), \(m.reduceType) reductions \(gbps(m.memoryReduceGBps)), copies \(gbps(m.memoryCopyGBps)); step overhead \(formatFixed(m.stepOverheadMicroseconds, decimals: 2)) us")
    if !m.cacheRegimes.isEmpty {
        lines.append("# messages by size (cached; transfers / reductions / one alone): "
                     + m.cacheRegimes.map { "up to \(ByteCount.format($0.bytes)) \(gbps($0.transferGBps)) / \(gbps($0.reduceGBps)) / \($0.pairGBps.map(gbps) ?? "-")" }.joined(separator: ", "))
    }
    if !m.workingSetScan.isEmpty {
        lines.append("# working sets (bytes per rank: transfers / reductions / one alone): "
                     + m.workingSetScan.map { "\(ByteCount.format($0.bytes)) \(gbps($0.transferGBps)) / \(gbps($0.reduceGBps)) / \($0.pairGBps.map(gbps) ?? "-")" }.joined(separator: ", "))
    }
    return lines.joined(separator: "\n")
}

#if MPI
/// Ends an MPI command on every rank with status 1: rank 0 writes `message` as the one error line
/// (and flushes its output) before MPI_Finalize, whose synchronisation keeps the other ranks from
/// exiting first, so mpirun cannot end rank 0 before it has spoken.
func mpiStop(_ world: Communicator, _ message: String) -> Never {
    if world.rank == 0 {
        fflush(nil)
        var stderr = StandardError()
        print("allreduce: error: \(AllreduceCommand.oneLine(message))", to: &stderr)
    }
    MPIProcess.finalize()
    exit(1)
}
#endif
