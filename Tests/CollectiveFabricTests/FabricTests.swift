import Foundation
import Testing
@testable import CollectiveFabric

@Suite("Units")
struct UnitTests {
    @Test("bandwidths with units", arguments: [("100GB/s", 100.0), ("400Gb/s", 50.0), ("12.5 GB/s", 12.5), ("800Mb/s", 0.1), ("1TB/s", 1000.0), ("25GBps", 25.0), ("200Gbps", 25.0)])
    func bandwidth(text: String, gbps: Double) throws {
        #expect(abs(try PhysicalUnit.parseBandwidthGBps(text).get() - gbps) < 1e-12)
    }

    @Test("latencies with units", arguments: [("2us", 2.0), ("500ns", 0.5), ("1.5µs", 1.5), ("0.1ms", 100.0), ("1s", 1e6)])
    func latency(text: String, us: Double) throws {
        #expect(abs(try PhysicalUnit.parseLatencyMicroseconds(text).get() - us) < 1e-9)
    }

    @Test("missing, unknown or negative units are errors", arguments: ["100", "100GHz", "-5GB/s", "fast", "GB/s"])
    func badBandwidth(text: String) {
        #expect(throws: UnitError.self) { try PhysicalUnit.parseBandwidthGBps(text).get() }
    }

    @Test("bad latencies", arguments: ["2", "2 parsecs", "-1us", ""])
    func badLatency(text: String) {
        #expect(throws: UnitError.self) { try PhysicalUnit.parseLatencyMicroseconds(text).get() }
    }
}

@Suite("Presets and fabric")
struct PresetTests {
    @Test("every preset validates and maps", arguments: Topology.presetNames)
    func presetsValidate(name: String) throws {
        let t = try #require(Topology.preset(name))
        try t.validate()
        let f = try FabricMap(t.with(nodes: name == "switch" ? t.nodeCount : 3))
        #expect(f.linkCount > 0)
    }

    @Test("per-GPU NVLink figures follow the vendor totals (bidirectional / 2)")
    func nvlinkFigures() throws {
        func port(_ n: String) throws -> Double {
            let nv = try #require(Topology.preset(n)?.node.nvlink)
            return nv.link.bandwidthGBps * Double(nv.linksPerGPU)
        }
        #expect(try port("dgx-a100") == 300)   // 600 GB/s bidirectional
        #expect(try port("hgx-a800") == 200)   // 400 GB/s
        #expect(try port("dgx-h100") == 450)   // 900 GB/s
        #expect(try port("hgx-h800") == 200)   // 400 GB/s
        #expect(try port("dgx1-v100") == 150)  // 300 GB/s
        #expect(try port("hgx-h20") == 450)    // H20: 900 GB/s
        #expect(try port("hgx-h200") == 450)   // H200: 900 GB/s
        #expect(try port("nd-h200-v5") == 450)
        #expect(try port("dgx-h100-roce") == 450)
        #expect(try port("hgx-h800-roce") == 200)
        #expect(try port("dgx-b200") == 900)   // B200: 1800 GB/s
        #expect(try port("gb200") == 900)      // GB200: 1800 GB/s
        #expect(try port("gb200-nvl72") == 900)
        #expect(Topology.preset("l40s-pcie")?.node.nvlink == nil)      // no NVLink
        #expect(Topology.preset("rtx4090-pcie")?.node.nvlink == nil)
        #expect(LinkKind.nvlink5.defaultSpec.bandwidthGBps * 18 == 900)  // B200: 1800 GB/s
        #expect(LinkKind.infinibandNDR.defaultSpec.bandwidthGBps == 50)   // 400 Gb/s
        #expect(LinkKind.infinibandXDR.defaultSpec.bandwidthGBps == 100)
        #expect(LinkKind.roce200.defaultSpec.bandwidthGBps == 25)
    }

    @Test("new presets: GPU and NIC counts, link kinds and reduction rates follow the specifications")
    func newPresets() throws {
        func node(_ n: String) throws -> NodeSpec { try #require(Topology.preset(n)).node }
        let expected: [(String, Int, Int, LinkKind, Double)] = [   // name, GPUs, NICs, NIC kind, memory GB/s
            ("hgx-h20", 8, 8, .infinibandNDR, 4000), ("hgx-h200", 8, 8, .infinibandNDR, 4800), ("nd-h200-v5", 8, 8, .infinibandNDR, 4800),
            ("dgx-b200", 8, 8, .infinibandNDR, 8000), ("gb200", 4, 4, .infinibandNDR, 8000), ("gb200-nvl72", 72, 72, .infinibandNDR, 8000),
            ("l40s-pcie", 8, 2, .roce200, 864), ("rtx4090-pcie", 8, 2, .roce200, 1008),
            ("dgx-h100-roce", 8, 8, .roce400, 3350), ("hgx-h800-roce", 8, 8, .roce400, 3350),
        ]
        for (name, gpus, nics, kind, memory) in expected {
            let n = try node(name)
            #expect(n.gpuCount == gpus, "\(name)")
            #expect(n.nicCount == nics, "\(name)")
            #expect(n.nic?.kind == kind, "\(name)")
            #expect(n.reduceGBps == (memory / 3).rounded(), "\(name)")
        }
        #expect(try node("l40s-pcie").pcie?.kind == .pcieGen4)
        #expect(try node("l40s-pcie").nicIndex(ofGPU: 3) == 0 && node("l40s-pcie").nicIndex(ofGPU: 4) == 1)
        #expect(try node("gb200-nvl72").nvlink?.fabric == .nvswitch)
        #expect(Topology.preset("gb200-nvl72")?.with(nodes: 2).rankCount == 144)
    }

    @Test("with(gpusPerNode:) keeps the first GPUs, the NICs they use and the mesh pairs among them")
    func gpusPerNode() throws {
        let h100 = try #require(Topology.preset("dgx-h100")).with(gpusPerNode: 4)
        #expect(h100.node.gpuCount == 4 && h100.node.nicCount == 4)
        try h100.validate()
        let v100 = try #require(Topology.preset("dgx1-v100")).with(gpusPerNode: 4)
        #expect(v100.node.gpuCount == 4 && v100.node.nicCount == 2)   // GPU pairs share the 4 EDR NICs
        let pairs = try #require(v100.node.nvlink).pairs
        #expect(pairs.count == 6 && pairs.allSatisfy { $0.a < 4 && $0.b < 4 })
        #expect(v100.node.meshLinks(0, 3) == 2 && v100.node.meshLinks(1, 2) == 2 && v100.node.meshLinks(0, 1) == 1)
        try v100.validate()
        #expect(try FabricMap(v100.with(nodes: 2)).rankCount == 8)
        let one = try #require(Topology.preset("l40s-pcie")).with(gpusPerNode: 1)
        #expect(one.node.gpuCount == 1 && one.node.nicCount == 1)
        #expect(try #require(Topology.preset("gb200-nvl72")).with(gpusPerNode: 72) == Topology.preset("gb200-nvl72"))
        for bad in [0, -1, 9] {
            #expect(throws: TopologyError.self) { try Topology.preset("dgx-h100")!.with(gpusPerNode: bad) }
        }
    }

    @Test("the DGX-1 cube-mesh gives every GPU six links")
    func cubeMesh() throws {
        let node = try #require(Topology.preset("dgx1-v100")).node
        for g in 0..<8 {
            let links = (0..<8).filter { $0 != g }.map { node.meshLinks(g, $0) }.reduce(0, +)
            #expect(links == 6)
        }
    }

    @Test("show output reads back to the same topology", arguments: Topology.presetNames)
    func roundTrip(name: String) throws {
        let t = try #require(Topology.preset(name))
        let back = try Topology.parse(data: Data(t.fileText().utf8))
        #expect(back == t)
    }

    @Test("routes: NVSwitch pairs use two ports; same-rail GPUs of two nodes share a leaf, others cross a spine")
    func routes() throws {
        let f = try FabricMap(try #require(Topology.preset("dgx-h100")).with(nodes: 2))
        let links = UnsafeMutablePointer<Int>.allocate(capacity: FabricMap.maxPathLinks)
        defer { links.deallocate() }
        let intra = f.route(from: 0, to: 5, links: links)
        #expect(intra.count == 2)
        #expect(abs(intra.bytesPerSecond - 450e9 * 0.8) < 1)
        #expect(f.linkName(links[0]) == "node 0 gpu 0 nvlink out")
        #expect(f.linkName(links[1]) == "node 0 gpu 5 nvlink in")
        let sameRail = f.route(from: 3, to: 8 + 3, links: links)
        #expect(sameRail.count == 4)  // pcie, tx, rx, pcie
        #expect(f.linkName(links[1]) == "node 0 nic 3 tx")
        #expect(f.linkName(links[2]) == "node 1 nic 3 rx")
        let crossRail = f.route(from: 7, to: 8, links: links)
        #expect(crossRail.count == 6)
        #expect(f.linkName(links[2]).hasPrefix("leaf 7 uplink"))
        #expect(f.linkName(links[3]).hasPrefix("leaf 0 downlink"))
        #expect(crossRail.latencySeconds > sameRail.latencySeconds)
        for i in 0..<crossRail.count { #expect(links[i] >= 0 && links[i] < f.linkCount) }
    }

    @Test("oversubscription removes uplinks")
    func oversubscription() throws {
        var t = try #require(Topology.preset("nd-h100-v5"))
        t.network.oversubscription = 4
        #expect(t.network.uplinksPerLeaf == 8)
    }
}

@Suite("Topology files")
struct TopologyFileTests {
    static let good = """
        {
          "name": "tiny",
          "nodes": 2,
          "node": {
            "gpus": 4,
            "nvlink": {"fabric": "nvswitch", "kind": "nvlink4", "linksPerGPU": 18},
            "nics": {"count": 4, "bandwidth": "400Gb/s", "latency": "1us"}
          }
        }
        """

    func parse(_ text: String) throws(TopologyError) -> Topology {
        try Topology.parse(data: Data(text.utf8), fileName: "t.json")
    }

    @Test("a small file with defaults")
    func good() throws {
        let t = try parse(Self.good)
        #expect(t.nodeCount == 2 && t.node.gpuCount == 4)
        #expect(t.node.nic?.bandwidthGBps == 50)
        #expect(t.node.nic?.efficiency == 1)
        #expect(t.node.nvlink?.link.bandwidthGBps == 25)
    }

    func expectError(_ text: String, field: String, line: Int?, contains: String) {
        expectTopologyError(text, file: "t.json", format: .json, field: field, line: line, contains: contains)
    }

    @Test("a missing field is named with its line")
    func missing() {
        expectError(Self.good.replacing("\"gpus\": 4,", with: ""), field: "node.gpus", line: 4, contains: "missing field")
        expectError(Self.good.replacing("\"bandwidth\": \"400Gb/s\", ", with: ""), field: "node.nics.bandwidth", line: 7, contains: "missing")
    }

    @Test("a wrong unit is named with its line")
    func wrongUnit() {
        expectError(Self.good.replacing("400Gb/s", with: "400GHz"), field: "node.nics.bandwidth", line: 7, contains: "unknown unit")
        expectError(Self.good.replacing("\"1us\"", with: "\"1 furlong\""), field: "node.nics.latency", line: 7, contains: "unknown unit")
        expectError(Self.good.replacing("\"400Gb/s\"", with: "400"), field: "node.nics.bandwidth", line: 7, contains: "unit")
    }

    @Test("a negative bandwidth is refused")
    func negative() {
        expectError(Self.good.replacing("400Gb/s", with: "-400Gb/s"), field: "node.nics.bandwidth", line: 7, contains: "negative")
    }

    @Test("a GPU that cannot reach another is refused")
    func unreachable() {
        let mesh = """
            {"node": {"gpus": 3, "nvlink": {"fabric": "mesh", "kind": "nvlink2", "pairs": [[0, 1, 1]]}}}
            """
        expectError(mesh, field: "node.nvlink.pairs", line: nil, contains: "GPU 0 cannot reach GPU 2")
        let noNIC = """
            {"nodes": 2, "node": {"gpus": 1}}
            """
        expectError(noNIC, field: "node.nics", line: nil, contains: "cannot reach")
    }

    @Test("unknown fields, kinds and bad JSON are errors")
    func unknown() {
        expectError(Self.good.replacing("\"gpus\"", with: "\"gpu_count\""), field: "node.gpu_count", line: 5, contains: "unknown field")
        expectError(Self.good.replacing("nvlink4", with: "nvlink9"), field: "node.nvlink.kind", line: 6, contains: "unknown link kind")
        do {
            _ = try parse("{ \"node\": ")
            Issue.record("expected a JSON error")
        } catch {
            #expect(error.description.contains("not valid JSON"))
        }
    }
}

/// Expects `text` (a topology file named `file`) to be refused for `field`, at `file:line` when
/// a line is given, with a message containing `contains`.
func expectTopologyError(_ text: String, file: String, format: Topology.FileFormat, field: String, line: Int?, contains: String) {
    do {
        _ = try Topology.parse(data: Data(text.utf8), fileName: file, format: format)
        Issue.record("expected an error for \(field)")
    } catch {
        #expect(error.field == field)
        if let line { #expect(error.location == "\(file):\(line)", "\(error.description)") }
        #expect(error.description.contains(contains), "\(error.description)")
    }
}

@Suite("YAML topology files")
struct YAMLTopologyTests {
    static let good = """
        name: yaml-cluster
        nodes: 2
        node:
          gpus: 4
          nvlink: {fabric: nvswitch, kind: nvlink4, linksPerGPU: 4}
          nics:
            count: 4
            bandwidth: 400Gb/s
            latency: 1us
        network:
          railOptimized: true
        """

    func parse(_ text: String) throws(TopologyError) -> Topology {
        try Topology.parse(data: Data(text.utf8), fileName: "t.yaml", format: .yaml)
    }

    @Test("every preset printed as YAML reads back to the same topology", arguments: Topology.presetNames)
    func roundTrip(name: String) throws {
        let t = try #require(Topology.preset(name))
        let yaml = t.fileText(format: .yaml)
        #expect(!yaml.contains("{\n"), "block style expected:\n\(yaml)")
        #expect(try parse(yaml) == t)
    }

    @Test("a YAML file and the same file in JSON give the same topology")
    func sameAsJSON() throws {
        let json = """
            {"name": "yaml-cluster", "nodes": 2, "node": {"gpus": 4,
             "nvlink": {"fabric": "nvswitch", "kind": "nvlink4", "linksPerGPU": 4},
             "nics": {"count": 4, "bandwidth": "400Gb/s", "latency": "1us"}},
             "network": {"railOptimized": true}}
            """
        let a = try parse(Self.good)
        let b = try Topology.parse(data: Data(json.utf8), fileName: "t.json")
        #expect(a == b)
        #expect(a.nodeCount == 2 && a.node.nic?.bandwidthGBps == 50 && a.network.railOptimized)
    }

    @Test("the format follows the file name")
    func format() {
        #expect(Topology.FileFormat(path: "a/b.yaml") == .yaml)
        #expect(Topology.FileFormat(path: "B.YML") == .yaml)
        #expect(Topology.FileFormat(path: "c.json") == .json)
        #expect(Topology.FileFormat(path: "noext") == .json)
    }

    func expectError(_ text: String, field: String, line: Int?, contains: String) {
        expectTopologyError(text, file: "t.yaml", format: .yaml, field: field, line: line, contains: contains)
    }

    @Test("errors name the field and its YAML line")
    func errors() {
        expectError(Self.good.replacing("  gpus: 4\n", with: ""), field: "node.gpus", line: nil, contains: "missing field")
        expectError(Self.good.replacing("400Gb/s", with: "400GHz"), field: "node.nics.bandwidth", line: 8, contains: "unknown unit")
        expectError(Self.good.replacing("400Gb/s", with: "-400Gb/s"), field: "node.nics.bandwidth", line: 8, contains: "negative")
        expectError(Self.good.replacing("bandwidth: 400Gb/s", with: "bandwidth: 400"), field: "node.nics.bandwidth", line: 8, contains: "unit")
        expectError(Self.good.replacing("  gpus: 4", with: "  gpu_count: 4"), field: "node.gpu_count", line: 4, contains: "unknown field")
        expectError(Self.good.replacing("railOptimized: true", with: "railOptimized: maybe"), field: "network.railOptimized", line: 11, contains: "true or false")
        do {
            _ = try parse("node: {gpus: 4\n  nics: [")
            Issue.record("expected a YAML error")
        } catch {
            #expect(error.description.contains("not valid YAML"), "\(error.description)")
        }
        do {
            _ = try parse("")
            Issue.record("expected an error for an empty file")
        } catch {
            #expect(error.description.contains("empty YAML document"), "\(error.description)")
        }
    }
}

@Suite("A topology shaped for a run")
struct ShapedTopologyTests {
    @Test("nodes and ranks per node as the run has them: GPUs follow the ranks, NICs at most one each, mesh pairs among them")
    func shaped() throws {
        let dgx1 = try #require(Topology.preset("dgx1-v100"))
        let t = dgx1.shaped(nodes: 3, ranksPerNode: 2)
        #expect(t.nodeCount == 3 && t.node.gpuCount == 2 && t.rankCount == 6)
        #expect(t.node.nicCount == min(dgx1.node.nicCount, 2))
        let pairs = try #require(t.node.nvlink?.pairs)
        #expect(!pairs.isEmpty && pairs.allSatisfy { $0.a < 2 && $0.b < 2 })
        #expect(pairs.count < dgx1.node.nvlink!.pairs.count)
        _ = try FabricMap(t)
        // More ranks than the file's GPUs: a calibrated node of ranks sharing its memory grows with the run.
        let grown = try #require(Topology.preset("dgx-h100")).shaped(nodes: 1, ranksPerNode: 12)
        #expect(grown.node.gpuCount == 12 && grown.rankCount == 12)
    }
}
