import Foundation
import Testing
@testable import CollectiveCore
@testable import CollectiveFabric
@testable import CollectiveSim

private func preset(_ name: String, nodes: Int = 1) throws -> FabricMap {
    try FabricMap(Topology.preset(name)!.with(nodes: nodes))
}

@Suite("NCCL: topology search, tuning tables, plans, protocols played")
struct NCCLTests {
    @Test("the tables have NCCL's shape: 7 algorithms (PAT the seventh) x 3 protocols, 3 kinds of hop, 4 generations")
    func tableShapes() {
        #expect(NCCLTuningTables.baseLatencyMicroseconds.count == NCCLAlgorithm.allCases.count)
        #expect(NCCLTuningTables.baseLatencyMicroseconds.allSatisfy { $0.count == NCCLProtocol.allCases.count })
        #expect(NCCLTuningTables.hopLatencyMicroseconds.count == NCCLHardware.allCases.count)
        #expect(NCCLTuningTables.hopLatencyMicroseconds.allSatisfy { $0.count == NCCLAlgorithm.allCases.count && $0.allSatisfy { $0.count == 3 } })
        #expect(NCCLTuningTables.llMaxBusGBps.count == GPUArchitecture.allCases.count)
        #expect(NCCLTuningTables.launchOverheadMicroseconds.count == GPUArchitecture.allCases.count)
        // Spot checks against tuning.cc: ring LL128 NVLink hop, tree Simple network hop.
        #expect(NCCLTuningTables.hopLatencyMicroseconds[0][NCCLAlgorithm.ring.row][NCCLProtocol.ll128.column] == 1.9)
        #expect(NCCLTuningTables.hopLatencyMicroseconds[2][NCCLAlgorithm.tree.row][NCCLProtocol.simple.column] == 14)
    }

    @Test("channels as NCCL's search finds them: 24 on an A100 or H100 node, 16 on an H800 node, 16 across DGX nodes")
    func channels() throws {
        #expect(NCCLTopology(fabric: try preset("dgx-a100")).channels == 24)
        #expect(NCCLTopology(fabric: try preset("dgx-h100")).channels == 24)
        #expect(NCCLTopology(fabric: try preset("hgx-h800")).channels == 16)
        let a100 = NCCLTopology(fabric: try preset("dgx-a100", nodes: 2))
        #expect(a100.channels == 16 && a100.speedGBps == 24)
        let h100 = NCCLTopology(fabric: try preset("dgx-h100", nodes: 4))
        #expect(h100.channels == 16 && h100.speedGBps == 48)
        #expect(NCCLTopology(fabric: try preset("dgx-h100")).architecture == .hopper)
    }

    @Test("NCCL's pick: LL on one channel at 8 B, Simple ring on every channel at 8 GiB")
    func plans() throws {
        let planner = NCCLPlanner(fabric: try preset("dgx-a100"))
        let small = planner.plan(bytes: 8)
        #expect(small.algorithm == .ring && small.ncclProtocol == .ll && small.channels == 1)
        let big = planner.plan(bytes: 8 * 1073741824)
        #expect(big.algorithm == .ring && big.ncclProtocol == .simple && big.channels == 24)
        #expect(big.description == "ring/Simple/24ch")
        // Forcing one choice leaves the others to NCCL's rules.
        let forced = planner.plan(bytes: 8 * 1073741824, protocol: .ll)
        #expect(forced.ncclProtocol == .ll && forced.algorithm == .ring)
        #expect(planner.plan(bytes: 1048576, channels: 3).channels == 3)
    }

    @Test("the launch overhead is paid on one node (one process drives its GPUs), not across nodes (one process per GPU)")
    func launchOverhead() throws {
        #expect(NCCLTuningTables.playedLaunchOverheadMicroseconds(architectureColumn: 2, nodeCount: 1) == NCCLTuningTables.launchOverheadMicroseconds[2])
        #expect(NCCLTuningTables.playedLaunchOverheadMicroseconds(architectureColumn: 2, nodeCount: 2) == 0)
        // 16 B on 2 x DGX H100: NCCL's tree LL latency (6.8 + 2 x (7 x 0.6 + 5) us), played as such.
        let sim = Simulator(fabric: try preset("dgx-h100", nodes: 2), model: .event)
        let small = try sim.timeNCCL(elementCount: 4, dataType: .float32, algorithm: .tree, protocol: .ll, channels: 1)
        #expect(abs(small.timeSeconds * 1e6 - 25.2) < 1, "\(small.timeSeconds * 1e6) us")
        // One node keeps its launch overhead: 8 B on one channel of a DGX A100 is above NCCL's 15 us.
        let one = try Simulator(fabric: try preset("dgx-a100"), model: .event)
            .timeNCCL(elementCount: 2, dataType: .float32, algorithm: .ring, protocol: .ll, channels: 1)
        #expect(one.timeSeconds * 1e6 > 30, "\(one.timeSeconds * 1e6) us")
    }

    @Test("the tree's measured efficiency by size is NCCL's treeCorrectionFactor, in its model and in the played tree's cap")
    func treeCorrection() throws {
        // log2i(bytes / 64): 1 MiB is index 14, 4 MiB 16, 64 B and 100 B index 0; 1 GiB (24) is past the table.
        #expect(NCCLTuningTables.treeCorrection(.ll, bytes: Double(1 << 20)) == 0.5)
        #expect(NCCLTuningTables.treeCorrection(.ll128, bytes: Double(4 << 20)) == 0.8)
        #expect(NCCLTuningTables.treeCorrection(.simple, bytes: 64) == 0.9)
        #expect(NCCLTuningTables.treeCorrection(.simple, bytes: 100) == 0.9)
        #expect(NCCLTuningTables.treeCorrection(.ll, bytes: 8) == 1.0)
        #expect(NCCLTuningTables.treeCorrection(.simple, bytes: Double(1 << 30)) == 1.0)
        #expect(NCCLTuningTables.treeCorrectionFactor.allSatisfy { $0.count == 24 })
        let planner = NCCLPlanner(fabric: try preset("dgx-h100", nodes: 2))
        let model = planner.model
        let bytes = Double(1 << 20)
        let expected = (model.latencyMicroseconds(.tree, .ll) + bytes / (1000 * model.algorithmGBps(.tree, .ll) * 0.5)) * 1e-6
        #expect(abs(model.seconds(.tree, .ll, bytes: bytes) - expected) < 1e-12)
        #expect(model.seconds(.ring, .ll, bytes: bytes) == (model.latencyMicroseconds(.ring, .ll) + bytes / (1000 * model.algorithmGBps(.ring, .ll))) * 1e-6)
        // The played tree's per-channel cap carries the same factor.
        let plan = planner.plan(bytes: bytes, algorithm: .tree, protocol: .ll)
        #expect(plan.sizeEfficiency == 0.5)
        let full = ProtocolTiming(.tree, .ll, model: model, channels: plan.channels)
        #expect(abs(planner.timing(plan).channelCapGBps - 0.5 * full.channelCapGBps) < 1e-9)
    }

    @Test("NVLS tree's chunk is NCCL's: 128 KiB, 64 KiB from four nodes on, cut against 4 and 1 x channels x heads")
    func nvlsTreeChunk() throws {
        let two = NCCLPlanner(fabric: try preset("dgx-h100", nodes: 2)).topology
        let four = NCCLPlanner(fabric: try preset("dgx-h100", nodes: 4)).topology
        #expect(two.nvlsHeads == 8 && four.nvlsHeads == 8)
        // 16 channels x 8 heads = 128 chunks at once: 64 MiB is 4 x 128 x 128 KiB, not below it.
        #expect(NCCLPlanner.nvlsTreeChunkBytes(bytes: Double(64 << 20), channels: 16, topology: two) == 128 << 10)
        #expect(NCCLPlanner.nvlsTreeChunkBytes(bytes: Double(32 << 20), channels: 16, topology: two) == 64 << 10)
        // 8 MiB is 1 x 128 x 64 KiB: kept; 4 MiB is below it: 32 KiB, and no smaller.
        #expect(NCCLPlanner.nvlsTreeChunkBytes(bytes: Double(8 << 20), channels: 16, topology: two) == 64 << 10)
        #expect(NCCLPlanner.nvlsTreeChunkBytes(bytes: Double(4 << 20), channels: 16, topology: two) == 32 << 10)
        #expect(NCCLPlanner.nvlsTreeChunkBytes(bytes: 1024, channels: 16, topology: two) == 32 << 10)
        // Four nodes and more: 64 KiB at the largest sizes (NCCL_NVLSTREE_MAX_CHUNKSIZE's default).
        #expect(NCCLPlanner.nvlsTreeChunkBytes(bytes: Double(8 << 30), channels: 16, topology: two) == 128 << 10)
        #expect(NCCLPlanner.nvlsTreeChunkBytes(bytes: Double(8 << 30), channels: 16, topology: four) == 64 << 10)
        // NVLS alone keeps its own thresholds: 32 MiB on one node is below 8 x 128 x 64 KiB.
        let one = NCCLPlanner(fabric: try preset("dgx-h100")).topology
        #expect(NCCLPlanner.chunkBytes(.nvls, .simple, bytes: Double(32 << 20), channels: 16, topology: one) == 32 << 10)
        #expect(NCCLPlanner.chunkBytes(.nvlsTree, .simple, bytes: Double(32 << 20), channels: 16, topology: two) == 64 << 10)
    }

    @Test("the tree's Simple chunk is NCCL's: one FIFO step, halved against 8, 4 and 1 x the tree's depth")
    func treeSimpleChunk() throws {
        let one = NCCLPlanner(fabric: try preset("dgx-a100")).topology        // depth 7
        let two = NCCLPlanner(fabric: try preset("dgx-a100", nodes: 2)).topology  // depth 8
        // 16 MiB over 24 channels: 699,050 B a channel; 512K -> 128K (< 56 chunks), then 64K (< 28).
        #expect(NCCLPlanner.treeSimpleChunkBytes(bytes: Double(16 << 20), channels: 24, topology: one) == 64 << 10)
        // 1 GiB: 85 chunks of 512 KiB a channel, at least 8 x 7: no halving.
        #expect(NCCLPlanner.treeSimpleChunkBytes(bytes: Double(1 << 30), channels: 24, topology: one) == 512 << 10)
        // 64 MiB over 16 channels on two nodes: 4 MiB a channel, 512K -> 128K (32 chunks, not < 4 x 8).
        #expect(NCCLPlanner.treeSimpleChunkBytes(bytes: Double(64 << 20), channels: 16, topology: two) == 128 << 10)
        // Small: down to 32 KiB and no further.
        #expect(NCCLPlanner.treeSimpleChunkBytes(bytes: 4096, channels: 1, topology: two) == 32 << 10)
        #expect(NCCLPlanner(fabric: try preset("dgx-a100")).plan(bytes: Double(16 << 20), algorithm: .tree, protocol: .simple).chunkBytes == 64 << 10)
    }

    @Test("a mid-size tree with Simple pipelines: 16 MiB reaches over half of 256 MiB's busbw, not one chunk per channel")
    func treeSimpleMidSize() throws {
        let sim = Simulator(fabric: try preset("dgx-a100"), model: .event)
        func busbw(_ bytes: Int) throws -> Double {
            let o = try sim.timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .tree, protocol: .simple)
            return Double(bytes) / o.timeSeconds * 2 * 7 / 8 / 1e9
        }
        let mid = try busbw(16 << 20), large = try busbw(256 << 20)
        // With 2 MiB chunks (one per channel) 16 MiB played at 22 GB/s against 121 at 256 MiB.
        #expect(mid > 0.5 * large, "16 MiB \(mid) GB/s against 256 MiB \(large) GB/s")
        #expect(mid < large)
    }

    @Test("a protocol played on a switch: start latency plus 2(p-1) hops of the protocol's network latency")
    func protocolLatency() throws {
        let p = 6
        let fabric = try FabricMap(Topology.switchCluster(ranks: p, bandwidthGBps: 100, latencyMicroseconds: 1))
        let timing = ProtocolTiming(ncclProtocol: .ll, startSeconds: 10e-6, nvlinkHopSeconds: 0, pcieHopSeconds: 0,
                                    networkHopSeconds: 2e-6, wireBytesPerPayloadByte: 2, channelCapGBps: 0)
        let s = try ChannelRingSchedule(ScheduleParameters(rankCount: p, elementCount: p, elementSizeBytes: 4, ranksPerNode: 1))
        let r = try EventEngine(fabric: fabric, protocolTiming: timing).run(lanes: s, elementSizeBytes: 4)
        // One element per block: every step moves 4 B of payload, 8 B on the wire.
        let expected = 10e-6 + Double(2 * (p - 1)) * (2e-6 + 8 / 100e9)
        #expect(abs(r.timeSeconds - expected) < 1e-12)
        // A per-channel cap slows a large transfer to the cap: one channel, 2 ranks, 1 MB at 1 GB/s.
        var capped = timing
        capped.channelCapGBps = 1
        capped.startSeconds = 0
        let two = try FabricMap(Topology.switchCluster(ranks: 2, bandwidthGBps: 100, latencyMicroseconds: 0))
        let big = try ChannelRingSchedule(ScheduleParameters(rankCount: 2, elementCount: 250_000, elementSizeBytes: 4, chunkBytes: 1 << 30, ranksPerNode: 1))
        let t = try EventEngine(fabric: two, protocolTiming: capped).run(lanes: big, elementSizeBytes: 4).timeSeconds
        // Two steps of 500 KB each at 1 GB/s, plus two hops.
        #expect(abs(t - (2 * 500_000 / 1e9 + 2 * 2e-6)) < 1e-9)
    }

    @Test("lanes played apart are never slower than the interleaved program, and equal with one channel")
    func lanesVersusInterleaved() throws {
        let fabric = try preset("dgx-a100", nodes: 2)
        for channels in [1, 4] {
            let s = try ChannelRingSchedule(ScheduleParameters(rankCount: 16, elementCount: 1 << 20, elementSizeBytes: 4, chunkBytes: 1 << 18,
                                                               ranksPerNode: 8, channelCount: channels))
            let apart = try EventEngine(fabric: fabric).run(lanes: s, elementSizeBytes: 4).timeSeconds
            let together = try EventEngine(fabric: fabric).run(s, elementSizeBytes: 4).timeSeconds
            if channels == 1 { #expect(abs(apart - together) <= 1e-12 * together) } else { #expect(apart <= together * (1 + 1e-9)) }
        }
    }

    @Test("rail-aligned channels use every NIC: a 2-node ring reaches 8 NICs' bandwidth, one channel one NIC's")
    func railBandwidth() throws {
        let sim = Simulator(fabric: try preset("dgx-a100", nodes: 2), model: .event)
        let bytes = 256 << 20
        func busbw(_ o: SimulationOutcome) -> Double { Double(bytes) / o.timeSeconds / 1e9 * 2 * 15 / 16 }
        let all = try sim.timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .ring, protocol: .simple)
        let one = try sim.timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .ring, protocol: .simple, channels: 1)
        let nic = Topology.preset("dgx-a100")!.node.nic!.achievableGBps
        #expect(busbw(all) > 0.9 * 8 * nic && busbw(all) <= 8 * nic * 1.001)
        #expect(busbw(one) > 0.9 * nic && busbw(one) <= nic * 1.001)
    }

    @Test("the tree over 2,048 nodes plays: 16 channels, every rank finishes")
    func treeAtScaleSmall() throws {
        let sim = Simulator(fabric: try preset("dgx-h100", nodes: 64), model: .event)
        let o = try sim.timeNCCL(elementCount: 1 << 24, dataType: .float32, algorithm: .tree)
        #expect(o.timeSeconds > 0 && o.ncclPlan?.algorithm == .tree)
    }

    @Test("each preset maps to its GPU generation (Ada reads NCCL's Ampere column)", arguments: [
        ("dgx1-v100", GPUArchitecture.volta), ("dgx-a100", .ampere), ("hgx-a800", .ampere), ("dgx-h100", .hopper), ("hgx-h800", .hopper),
        ("dgx-h100-roce", .hopper), ("hgx-h800-roce", .hopper), ("hgx-h20", .hopper), ("hgx-h200", .hopper), ("nd-h200-v5", .hopper),
        ("dgx-b200", .blackwell), ("gb200", .blackwell), ("gb200-nvl72", .blackwell), ("l40s-pcie", .ampere), ("rtx4090-pcie", .ampere),
    ])
    func architecture(name: String, arch: GPUArchitecture) throws {
        #expect(GPUArchitecture(node: try #require(Topology.preset(name)).node) == arch)
    }

    @Test("without NVLink the GPU name decides: Ada is Ampere's column, H-parts Hopper, B-parts Blackwell")
    func architectureByName() {
        func arch(_ name: String) -> GPUArchitecture {
            GPUArchitecture(node: NodeSpec(gpuName: name, gpuCount: 2, nvlink: nil, pcie: LinkKind.pcieGen5.defaultSpec, nic: nil, nicCount: 0,
                                           reduceGBps: nil, stepOverheadMicroseconds: 0))
        }
        #expect(arch("L40S") == .ampere && arch("RTX4090") == .ampere && arch("V100") == .volta)
        #expect(arch("H200") == .hopper && arch("H20") == .hopper && arch("B200") == .blackwell && arch("GB200") == .blackwell)
    }

    @Test("a published point on fewer GPUs than the preset runs on its first GPUs; more is an error")
    func publishedFewerGPUs() throws {
        let points = try PublishedMeasurements.parse("dgx-h100\t1\t4\t1073741824\t300\tauto\tsrc\ndgx-h100\t1\t16\t1073741824\t300\tauto\tsrc\n")
        let c = try PublishedMeasurements.simulate(points[0])
        let direct = try Simulator(fabric: try FabricMap(Topology.preset("dgx-h100")!.with(gpusPerNode: 4)), model: .event)
            .timeNCCL(elementCount: 1 << 28, dataType: .float32, algorithm: nil, channels: nil)
        let busbw = 1073741824 / direct.timeSeconds / 1e9 * 2 * 3 / 4
        #expect(abs(c.simulated / busbw - 1) < 1e-9)
        #expect(c.simulated > 0 && c.simulated < 450)
        #expect(throws: SimulationError.self) { try PublishedMeasurements.simulate(points[1]) }
    }

    @Test("the published measurements parse, and a malformed row names its line")
    func parse() throws {
        let text = "# header\nswitchless\t1\t8\n"
        #expect(throws: SimulationError.self) { try PublishedMeasurements.parse(text) }
        do { _ = try PublishedMeasurements.parse(text) } catch { #expect("\(error)".contains("line 2")) }
        let ok = try PublishedMeasurements.parse("a\t1\t8\t1024\t10\tauto\tsrc\n# small-message latency (time us)\nb\t1\t8\t8\t30\tauto\tsrc\n")
        #expect(ok.count == 2 && ok[0].metric == .busBandwidthGBps && ok[1].metric == .timeMicroseconds)
    }

    /// The points of the package's `Data/` file `name`.
    private func dataPoints(_ name: String) throws -> [PublishedPoint] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Data").appendingPathComponent(name)
        return try PublishedMeasurements.parse(try String(contentsOf: url, encoding: .utf8))
    }

    @Test("accuracy on the published figures: median |error| <= 5% at >= 256 MiB and geometric mean <= 15% where NVLS does not decide")
    func accuracy() throws {
        let points = try dataPoints("nccl-tests-published.tsv")
        #expect(points.count >= 18)
        let comparisons = try points.filter { !$0.isNVLS }.map(PublishedMeasurements.simulate)
        let s = PublishedMeasurements.summarize(comparisons)
        #expect(s.medianLargeBusbwError <= 0.05)
        #expect(s.geometricMeanError <= 0.15)
    }

    @Test("the held-out curves are playable and held out: every row names a preset and no row repeats a calibration point (same cluster, size, metric and algorithm)")
    func holdoutIsSeparate() throws {
        let holdout = try dataPoints("nccl-tests-holdout.tsv")
        let calibration = try dataPoints("nccl-tests-published.tsv")
        #expect(holdout.count >= 30)
        for p in holdout {
            let node = try #require(Topology.preset(p.system), "unknown preset \(p.system)").node
            #expect(p.gpusPerNode <= node.gpuCount)
        }
        struct Key: Hashable { var system: String; var nodes: Int; var gpus: Int; var bytes: Int; var metric: PublishedPoint.Metric; var algorithm: String }
        let key = { (p: PublishedPoint) in
            Key(system: p.system, nodes: p.nodes, gpus: p.gpusPerNode, bytes: p.bytes, metric: p.metric, algorithm: p.algorithm)
        }
        let calibrated = Set(calibration.map(key))
        #expect(holdout.filter { calibrated.contains(key($0)) }.isEmpty)
    }

    /// Rank 0 sends to rank 1 at once; rank 1 first sends to rank 0 and only then posts its
    /// receive (it depends on its own send).
    struct LateReceive: Schedule {
        var algorithm: AllreduceAlgorithm { .ring }
        var rankCount: Int { 2 }
        var elementCount: Int { 250_000 }
        func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
            if rank == 0 {
                return [Step(kind: .send, peer: 1, offset: 0, count: 250_000), Step(kind: .recvCopy, peer: 1, offset: 0, count: 250_000)].makeIterator()
            }
            return [Step(kind: .send, peer: 0, offset: 0, count: 250_000),
                    Step(kind: .recvCopy, peer: 0, offset: 0, count: 250_000, dependencies: StepDependencies(0))].makeIterator()
        }
    }

    @Test("under a protocol, sends are eager: data leaves before its receive is posted, as into NCCL's FIFO")
    func eagerSends() throws {
        let fabric = try FabricMap(Topology.switchCluster(ranks: 2, bandwidthGBps: 1, latencyMicroseconds: 0))
        let timing = ProtocolTiming(ncclProtocol: .simple, startSeconds: 0, nvlinkHopSeconds: 0, pcieHopSeconds: 0,
                                    networkHopSeconds: 1e-6, wireBytesPerPayloadByte: 1, channelCapGBps: 0)
        // 1 MB each way at 1 GB/s: with rendezvous rank 0's send waits for rank 1's receive,
        // which waits for rank 1's send (1 ms + 1 us): about 2 ms. Eager, both go at once: 1 ms.
        let eager = try EventEngine(fabric: fabric, protocolTiming: timing).run(LateReceive(), elementSizeBytes: 4).timeSeconds
        let rendezvous = try EventEngine(fabric: fabric).run(LateReceive(), elementSizeBytes: 4).timeSeconds
        #expect(abs(eager - (1e-3 + 1e-6)) < 1e-9, "eager \(eager)")
        #expect(rendezvous > 1.9e-3, "rendezvous \(rendezvous)")
    }

    @Test("the played tree at small sizes across nodes stays near NCCL's own tree model (no launch overhead: one process per GPU)", arguments: [4, 16])
    func treeNearModel(nodes: Int) throws {
        let fabric = try preset("dgx-h100", nodes: nodes)
        let sim = Simulator(fabric: fabric, model: .event)
        let bytes = 1 << 20
        let played = try sim.timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .tree, protocol: .ll)
        let model = NCCLModel(fabric: fabric).seconds(.tree, .ll, bytes: Double(bytes))
        #expect(played.timeSeconds < 1.5 * model && played.timeSeconds > 0.7 * model, "played \(played.timeSeconds * 1e6) us, model \(model * 1e6) us")
    }
}

@Suite("NVLS played: the NVSwitch reduces")
struct NVLSPlayedTests {
    @Test("NCCL's NVLS graph: 8 heads at 40 GB/s on H100, 20 on H800; none on A100; NVLS tree across nodes")
    func graph() throws {
        let h100 = NCCLTopology(fabric: try preset("dgx-h100"))
        #expect(h100.nvlsHeads == 8 && h100.nvlsSpeedGBps == 40 && h100.nvlsEfficiency == 0.85)
        #expect(NCCLTopology(fabric: try preset("hgx-h800")).nvlsSpeedGBps == 20)
        #expect(NCCLTopology(fabric: try preset("dgx-a100")).nvlsHeads == 0)
        #expect(NCCLModel(fabric: try preset("dgx-a100")).algorithms == [.ring, .tree])
        #expect(NCCLModel(fabric: try preset("dgx-h100", nodes: 2)).algorithms == [.ring, .tree, .nvlsTree])
        #expect(NCCLModel(fabric: try preset("dgx-h100", nodes: 2)).forcible == [.ring, .tree, .nvlsTree])
        #expect(NCCLModel(fabric: try preset("dgx-h100")).algorithms.contains(.nvls))
        #expect(NCCLTopology(fabric: try preset("dgx-b200")).nvlsEfficiency == 0.74)
    }

    @Test("NCCL's pick on H100: NVLS for large buffers, the LL ring for small ones; NVLS's chunk shrinks with the size")
    func pick() throws {
        let planner = NCCLPlanner(fabric: try preset("dgx-h100"))
        let big = planner.plan(bytes: Double(1 << 30))
        #expect(big.algorithm == .nvls && big.ncclProtocol == .simple && big.channels == 16 && big.chunkBytes == 128 << 10)
        #expect(planner.plan(bytes: Double(16 << 20), algorithm: .nvls).chunkBytes == 32 << 10)
        #expect(planner.plan(bytes: 4096).algorithm == .ring)
        // NVLS is Simple only.
        #expect(planner.model.seconds(.nvls, .ll, bytes: Double(1 << 20)) == .infinity)
    }

    @Test("large buffers: the played time is the closed form's: (n+1)/n of the buffer each way at the port's rate x 0.85",
          arguments: ["dgx-h100", "hgx-h800", "dgx-b200"])
    func bandwidth(_ name: String) throws {
        let fabric = try preset(name)
        let bytes = 4 << 30
        let o = try Simulator(fabric: fabric, model: .event).timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .nvls)
        let cost = try #require(fabric.switchReductionCost)
        let closed = AlphaBetaGamma(alphaSeconds: cost.alphaSeconds, betaSecondsPerByte: cost.betaSecondsPerByte).nvls(ranks: 8, bytes: Double(bytes))
        #expect(abs(o.timeSeconds / closed - 1) < 0.03, "\(o.timeSeconds) vs \(closed)")
        // The mechanism's bus bandwidth: 2(n-1)/(n+1) x port x efficiency.
        let nv = try #require(fabric.topology.node.nvlink)
        let bus = Double(bytes) / o.timeSeconds * 2 * 7 / 8 / 1e9
        #expect(abs(bus / (14.0 / 9 * nv.portAchievableGBps * nv.switchReductionEfficiency!) - 1) < 0.03, "\(bus)")
    }

    @Test("a fabric whose switches do not reduce refuses NVLS with the reason")
    func refused() throws {
        let fabric = try preset("dgx-a100")
        #expect(fabric.reducingSwitchCount == 0 && fabric.switchReductionCost == nil)
        let s = try NVLSSchedule(ScheduleParameters(rankCount: 8, elementCount: 1 << 20, elementSizeBytes: 4, chunkBytes: 1 << 17, ranksPerNode: 8))
        #expect(throws: SimulationError.self) { try EventEngine(fabric: fabric).run(lanes: s, elementSizeBytes: 4) }
        #expect(throws: SimulationError.self) { try FairShareEngine(fabric: try preset("dgx-h100")).run(s, elementSizeBytes: 4) }
    }

    @Test("across nodes NVLS needs the network to reduce (SHARP): then each NIC carries its GPUs' shards once each way")
    func acrossNodes() throws {
        var topo = try #require(Topology.preset("dgx-h100")).with(nodes: 2)
        let plain = try FabricMap(topo)
        #expect(!NCCLModel(fabric: plain).algorithms.contains(.nvls))
        #expect(throws: SimulationError.self) {
            try Simulator(fabric: plain, model: .event).timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .nvls)
        }
        topo.network.sharp = true
        let fabric = try FabricMap(topo)
        #expect(fabric.networkReduces && fabric.switchEndpointProblem(2 + 8) == nil)
        let bytes = 1 << 30
        let o = try Simulator(fabric: fabric, model: .event).timeNCCL(elementCount: bytes / 4, dataType: .float32)
        #expect(o.ncclPlan?.algorithm == .nvls)
        let single = try Simulator(fabric: try preset("dgx-h100"), model: .event).timeNCCL(elementCount: bytes / 4, dataType: .float32)
        // The NVSwitch part bounds both; the network adds its latency, not its bandwidth (46 GB/s x 8 NICs > 272 GB/s).
        #expect(o.timeSeconds >= single.timeSeconds && o.timeSeconds < single.timeSeconds * 1.05)
        let nic = try #require(o.linkUtilization?.first { $0.linkClass == .nicTransmit })
        // Each NIC sends 1/8 of the buffer: 128 MiB at 46 GB/s is about 2.9 ms of the ~4 ms run.
        #expect(nic.busyFraction > 0.6 && nic.busyFraction < 0.8, "\(nic.busyFraction)")
    }

    @Test("NVLS tree across nodes without SHARP: a candidate of NCCL's pick, played with the tree's network hops")
    func nvlsTree() throws {
        let fabric = try preset("dgx-h100", nodes: 4)
        #expect(NCCLModel(fabric: fabric).forcible == [.ring, .tree, .nvlsTree])
        let o = try Simulator(fabric: fabric, model: .event).timeNCCL(elementCount: (16 << 20) / 4, dataType: .float32, algorithm: .nvlsTree)
        #expect(o.ncclPlan?.description == "nvls-tree/Simple/16ch")
        // At least its start (launch and NVLS latency) and two network hops up and down a 4-node tree.
        #expect(o.timeSeconds > (12 + 25 + 4 * 20.9) * 1e-6)
        #expect(throws: SimulationError.self) {
            try Simulator(fabric: try preset("dgx-a100", nodes: 2), model: .event).timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .nvlsTree)
        }
    }

    @Test("CollNet Direct across A100 nodes with SHARP: forced, played, NVLink-bound where the ring is NIC-bound; refused without SHARP")
    func collnet() throws {
        var topo = try #require(Topology.preset("dgx-a100")).with(nodes: 2)
        #expect(throws: SimulationError.self) {
            try Simulator(fabric: try FabricMap(topo), model: .event).timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .collnetDirect)
        }
        topo.network.sharp = true
        let fabric = try FabricMap(topo)
        let model = NCCLModel(fabric: fabric)
        #expect(model.forcible.contains(.collnetDirect) && !model.algorithms.contains(.collnetDirect))
        #expect(model.topology.collnetHeads == 8 && model.busGBps(.collnetDirect, .simple) > 0 && model.busGBps(.collnetDirect, .ll) == 0)
        let sim = Simulator(fabric: fabric, model: .event)
        let bytes = 1 << 30
        let collnet = try sim.timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .collnetDirect)
        let ring = try sim.timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .ring)
        #expect(collnet.ncclPlan?.algorithm == .collnetDirect && collnet.ncclPlan?.ncclProtocol == .simple)
        // A GPU's port carries 2(g-1)/g of the buffer each way as in a ring of the node, its NIC 1/g:
        // the node's NVLink bounds it, not the NICs that bound the ring across nodes.
        let nv = try #require(topo.node.nvlink)
        let nvlinkBound = Double(bytes) * 2 * 7 / 8 / (nv.portAchievableGBps * 1e9)
        #expect(collnet.timeSeconds >= nvlinkBound && collnet.timeSeconds < 1.25 * nvlinkBound, "\(collnet.timeSeconds) vs \(nvlinkBound)")
        #expect(collnet.timeSeconds < ring.timeSeconds)
    }

    @Test("topology files: switchReduction reads back, false turns NVLS off, a mesh cannot reduce")
    func files() throws {
        let h100 = try #require(Topology.preset("dgx-h100"))
        let back = try Topology.parse(data: Data(h100.fileText().utf8), fileName: "h.json")
        #expect(back.node.nvlink?.switchReductionEfficiency == 0.85)
        let off = try Topology.parse(data: Data(h100.fileText().replacingOccurrences(of: "\"switchReduction\": 0.85", with: "\"switchReduction\": false").utf8),
                                     fileName: "h.json")
        #expect(off.node.nvlink?.switchReduces == false)
        #expect(throws: TopologyError.self) {
            try Topology.parse(data: Data(h100.fileText().replacingOccurrences(of: "\"switchReduction\": 0.85", with: "\"switchReduction\": 1.5").utf8),
                               fileName: "h.json")
        }
    }
}

@Suite("PAT: NCCL's reduce-scatter and all-gather at one GPU per node")
struct PATPlayedTests {
    /// `nodes` DGX H100 nodes with one GPU each (nccl-tests' -g 1 on every node).
    func onePerNode(_ nodes: Int) throws -> FabricMap {
        try FabricMap(try Topology.preset("dgx-h100")!.with(gpusPerNode: 1).with(nodes: nodes))
    }

    @Test("NCCL's model: PAT enabled only at one GPU per node; its latency 8 + log2i(nNodes) x 14/3.5 + 2.8 x nRanks us, its bandwidth 0.75 x the ring's bus")
    func model() throws {
        let m = NCCLModel(fabric: try onePerNode(64))
        #expect(m.patEnabled)
        #expect(abs(m.latencyMicroseconds(.pat, .simple, collective: .allGather) - (8 + 6 * 4 + 2.8 * 64)) < 1e-9)
        #expect(abs(m.algorithmGBps(.pat, .simple, collective: .reduceScatter) - 0.75 * m.busGBps(.ring, .simple)) < 1e-9)
        #expect(m.algorithmGBps(.pat, .ll, collective: .reduceScatter) == 0)
        #expect(!NCCLModel(fabric: try preset("dgx-h100", nodes: 8)).patEnabled)
        #expect(!NCCLModel(fabric: try onePerNode(1)).patEnabled)
    }

    @Test("NCCL's pick: PAT for mid-size all-gathers and reduce-scatters on 64 nodes of one GPU, the ring at small and large sizes and whenever nodes hold several GPUs")
    func pick() throws {
        let m = NCCLModel(fabric: try onePerNode(64))
        for c in [Collective.allGather, .reduceScatter] {
            #expect(m.bestAlgorithm(collective: c, bytes: Double(64 << 10)) == .ring)
            #expect(m.bestAlgorithm(collective: c, bytes: Double(16 << 20)) == .pat)
            #expect(m.bestAlgorithm(collective: c, bytes: Double(1 << 30)) == .ring)
            #expect(NCCLModel(fabric: try preset("dgx-h100", nodes: 8)).bestAlgorithm(collective: c, bytes: Double(16 << 20)) == .ring)
        }
        #expect(m.bestAlgorithm(collective: .allreduce, bytes: Double(16 << 20)) != .pat)
        let o = try Simulator(fabric: try onePerNode(64), model: .event, collective: .allGather).timeNCCL(elementCount: 4 << 20, dataType: .float32)
        #expect(o.ncclPlan?.algorithm == .pat && o.ncclPlan?.ncclProtocol == .simple && o.algorithm == .ncclPAT)
    }

    @Test("nccl:pat is played by the event engine; refused for an allreduce and with another protocol than Simple")
    func forced() throws {
        let fabric = try onePerNode(16)
        let sim = Simulator(fabric: fabric, model: .event, collective: .reduceScatter)
        let pat = try sim.timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .pat)
        let ring = try sim.timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .ring)
        #expect(pat.algorithm == .ncclPAT && pat.timeSeconds > 0 && ring.timeSeconds > 0)
        // One transfer per shard but its own, per rank: p(p - 1).
        #expect(pat.statistics?.transfers == 16 * 15)
        #expect(throws: SimulationError.self) { try Simulator(fabric: fabric, model: .event).timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .pat) }
        #expect(throws: SimulationError.self) { try sim.timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .pat, protocol: .ll) }
    }
}
