import Testing
@testable import CollectiveSim
import CollectiveFabric
import CollectiveCore
import CollectiveKernels

@Suite("Analytic and NCCL models")
struct ModelTests {
    func fabric(_ name: String, nodes: Int) throws -> FabricMap {
        try FabricMap(try #require(Topology.preset(name)).with(nodes: nodes))
    }

    @Test("analytic ring on a switch is the textbook closed form")
    func analyticSwitch() throws {
        let f = try FabricMap(Topology.switchCluster(ranks: 16, bandwidthGBps: 25, latencyMicroseconds: 3))
        let t = AnalyticModel(fabric: f).time(.ring, bytes: 1e8, chunkBytes: 1 << 21)
        let expected = 30 * 3e-6 + 2 * 15.0 / 16 * 1e8 / 25e9
        #expect(abs(t - expected) / expected < 1e-12)
    }

    @Test("the analytic ring agrees with the event engine on a switch")
    func analyticMatchesEvent() throws {
        let f = try FabricMap(Topology.switchCluster(ranks: 8, bandwidthGBps: 50, latencyMicroseconds: 2))
        let sim = Simulator(fabric: f, model: .event)
        let ana = Simulator(fabric: f, model: .analytic)
        let e = try sim.time(.ring, elementCount: 1 << 20, dataType: .float32, chunkBytes: 1 << 30).timeSeconds
        let a = try ana.time(.ring, elementCount: 1 << 20, dataType: .float32, chunkBytes: 1 << 30).timeSeconds
        #expect(abs(e - a) / a < 1e-3)
    }

    @Test("tree beats ring for small messages on many nodes; ring wins for large ones", arguments: [TimingModel.analytic, .nccl])
    func treeVsRing(model: TimingModel) throws {
        let sim = Simulator(fabric: try fabric("dgx-h100", nodes: 64), model: model)
        let small = 64 << 10 / 4, large = 4 << 30 / 4
        let ringSmall = try sim.time(.ring, elementCount: small, dataType: .float32, chunkBytes: 1 << 21).timeSeconds
        let treeSmall = try sim.time(.tree, elementCount: small, dataType: .float32, chunkBytes: 1 << 21).timeSeconds
        #expect(treeSmall < ringSmall)
        let ringLarge = try sim.time(.ring, elementCount: large, dataType: .float32, chunkBytes: 1 << 21).timeSeconds
        let treeLarge = try sim.time(.tree, elementCount: large, dataType: .float32, chunkBytes: 1 << 21).timeSeconds
        #expect(ringLarge < treeLarge)
    }

    @Test("hierarchical's automatic inter-node choice: the faster closed form at each size")
    func interNodeAuto() throws {
        let many = Simulator(fabric: try fabric("dgx-h100", nodes: 2048), model: .analytic)
        let few = Simulator(fabric: try fabric("dgx-h100", nodes: 2), model: .analytic)
        for (sim, bytes) in [(many, 1 << 30), (many, 64 << 10), (few, 1 << 30), (few, 64 << 10)] {
            let ring = AnalyticModel(fabric: sim.fabric, interNodeAlgorithm: .ring).time(.hierarchical, bytes: Double(bytes), chunkBytes: 1 << 21)
            let tree = AnalyticModel(fabric: sim.fabric, interNodeAlgorithm: .tree).time(.hierarchical, bytes: Double(bytes), chunkBytes: 1 << 21)
            let o = try sim.time(.hierarchical, elementCount: bytes / 4, dataType: .float32, chunkBytes: 1 << 21)
            #expect(o.interNodeAlgorithm == (tree < ring ? .tree : .ring))
            #expect(o.timeSeconds == min(ring, tree))
        }
        // 2,048 nodes: 2 x 2,047 ring steps of 4.5 us cost more than the tree's bandwidth; 2 nodes: ring.
        #expect(many.interNodeAlgorithm(bytes: 1073741824, chunkBytes: 1 << 21) == .tree)
        #expect(few.interNodeAlgorithm(bytes: 1073741824, chunkBytes: 1 << 21) == .ring)
        // A fixed choice is kept; one node has no inter-node phase.
        #expect(Simulator(fabric: many.fabric, model: .analytic, interNodeAlgorithm: .ring).interNodeAlgorithm(bytes: 1073741824, chunkBytes: 1 << 21) == .ring)
        let one = try Simulator(fabric: try fabric("dgx-h100", nodes: 1), model: .analytic).time(.hierarchical, elementCount: 1024, dataType: .float32, chunkBytes: 1 << 21)
        #expect(one.interNodeAlgorithm == nil)
    }

    @Test("NCCL latency formulas (tuning.cc)")
    func ncclLatency() throws {
        let one = NCCLModel(fabric: try fabric("dgx-h100", nodes: 1))
        #expect(abs(one.latencyMicroseconds(.ring, .ll) - (6.6 + 14 * 0.6)) < 1e-9)
        #expect(abs(one.latencyMicroseconds(.ring, .simple) - (8.4 + 14 * 3.4)) < 1e-9)
        #expect(abs(one.latencyMicroseconds(.tree, .ll128) - (14.0 + 2 * 7 * 1.25)) < 1e-9)
        let four = NCCLModel(fabric: try fabric("dgx-h100", nodes: 4))
        // 32 ranks: 62 steps, 6 of them network.
        #expect(abs(four.latencyMicroseconds(.ring, .ll) - (6.6 + 56 * 0.6 + 6 * 2.7)) < 1e-9)
        #expect(abs(four.latencyMicroseconds(.tree, .simple) - (8.4 + 2 * (7 * 4.0 + 2 * 14.0))) < 1e-9)
    }

    @Test("NCCL picks LL for tiny messages and Simple ring for huge ones on one node")
    func ncclPicks() throws {
        let m = NCCLModel(fabric: try fabric("dgx-h100", nodes: 1))
        #expect(m.best(algorithms: [.ring, .tree], bytes: 8).protocol == .ll)
        let big = m.best(algorithms: [.ring, .tree], bytes: 8e9)
        #expect(big.algorithm == .ring && big.protocol == .simple)
        // Bandwidth: the search's 12 channels x 30 GB/s (6 x 60 within 18 x 20.6, duplicated at
        // half speed); ring algBw = busBw * n / (2(n-1)).
        #expect(abs(m.algorithmGBps(.ring, .simple) - 12 * 30 * 8.0 / 14) < 1e-9)
    }

    @Test("hierarchical uses every NIC: faster than flat ring for large messages across nodes")
    func hierarchical() throws {
        let a = AnalyticModel(fabric: try fabric("dgx-h100", nodes: 8))
        #expect(a.time(.hierarchical, bytes: 1e9, chunkBytes: 1 << 21) < a.time(.ring, bytes: 1e9, chunkBytes: 1 << 21))
    }
}
