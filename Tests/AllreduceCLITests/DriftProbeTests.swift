@testable import AllreduceCLI
import CollectiveFabric
import Testing

/// `allreduce mpi --predict`'s drift line: the machine's same-node transfer rate before each size
/// beside the topology's (the readings themselves are taken under mpirun: Scripts/test-mpi).
@Suite("mpi --predict: the drift probe")
struct DriftProbeTests {
    static func cpuNode(transferGBps: Double) -> Topology {
        var t = Topology.preset("dgx-h100")!
        t.node = NodeSpec(gpuName: "CPU rank", gpuCount: 2, nvlink: nil, pcie: LinkSpec(bandwidthGBps: 8, latencyMicroseconds: 0.2), nic: nil,
                          nicCount: 0, reduceGBps: 50, stepOverheadMicroseconds: 0.5,
                          memory: NodeMemorySpec(transferGBps: transferGBps, reduceGBps: 50))
        return t
    }

    @Test("the spread counts the topology's rate; the line names the range, the readings in order, the sizes and max/min")
    func footer() throws {
        var probe = try #require(MPIDriftProbe(topology: Self.cpuNode(transferGBps: 8), chunkBytes: 1 << 20))
        #expect(probe.probeBytes == 1 << 20 && abs(probe.fixedSecondsPerStep - 0.7e-6) < 1e-12)
        #expect(probe.footer == nil, "no reading yet")
        probe.readings = [6, 12, 9]
        #expect(probe.spread == 2)
        #expect(probe.footer == "drift: the node's transfers of 1M messages (our ring all-gather) read 6GB/s-12GB/s before each of the 2 sizes and after the last (in order: 6.00 12.00 9.00 GB/s), 8GB/s in the topology; max/min 2.00 x")
        probe.readings = [10, 10]
        #expect(probe.spread == 1.25, "readings against the topology's 8 GB/s")
        #expect(probe.footer?.contains("read 10GB/s before each of the 1 size and after the last") == true)
    }

    @Test("no probe where nothing is shared: one rank per node, or a GPU node without a memory link")
    func none() throws {
        var one = Self.cpuNode(transferGBps: 8)
        one.node.gpuCount = 1
        #expect(MPIDriftProbe(topology: one, chunkBytes: 1 << 20) == nil)
        #expect(MPIDriftProbe(topology: Topology.preset("dgx-h100")!, chunkBytes: 1 << 20) == nil)
    }
}
