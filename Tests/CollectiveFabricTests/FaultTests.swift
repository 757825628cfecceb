import CollectiveCore
import Foundation
import Testing
@testable import CollectiveFabric

@Suite("Fault specs")
struct FaultSpecTests {
    static let examples = [
        "node 3 nic 2 at 50%", "node 0 nics down", "node 0 gpu 4 pcie at gen3", "node 1 gpu 0 nvlink at 12GB/s", "leaf 1 uplinks at 25%",
        "leaf 0 uplink 3 down", "spine 2 down", "rank 5 late 20us", "rank 3 slow 2.5x", "jitter exponential 2us seed 7", "jitter uniform 1ms",
        "NODE 3  NIC 2 AT 50%",
    ]

    @Test("every example parses, and its canonical form parses to the same fault", arguments: examples)
    func roundTrip(spec: String) throws {
        let f = try Fault(parsing: spec)
        #expect(try Fault(parsing: f.description) == f)
    }

    @Test("the grammar reads what it says")
    func meaning() throws {
        #expect(try Fault(parsing: "node 3 nic 2 at 50%").kind == .link(.nic(node: 3, nic: 2), .fraction(0.5)))
        #expect(try Fault(parsing: "node 0 gpu 4 pcie at gen3").kind == .link(.pcie(node: 0, gpu: 4), .bandwidthGBps(16)))
        #expect(try Fault(parsing: "leaf 1 uplinks at 25%").kind == .link(.leafUplink(leaf: 1, uplink: nil), .fraction(0.25)))
        #expect(try Fault(parsing: "rank 5 late 20us").kind == .late(rank: 5, microseconds: 20))
        #expect(try Fault(parsing: "rank 5 slow 2x").kind == .slow(rank: 5, factor: 2))
        #expect(try Fault(parsing: "jitter uniform 1ms").kind == .jitter(Jitter(distribution: .uniform, scaleMicroseconds: 1000, seed: 0)))
        #expect(try Fault.linkEffect(parsing: "50%") == .fraction(0.5))
        #expect(try Fault.linkEffect(parsing: "down") == .down)
    }

    @Test("a bad spec is refused with one line naming the token", arguments: [
        ("node x nic 2 down", "'x'"), ("node 3 nic 2", "end of spec"), ("node 3 nic 2 at 0%", "'0%'"), ("node 3 nic 2 at 150%", "'150%'"),
        ("node 3 port 2 down", "'port'"), ("node 3 gpu 1 cable down", "'cable'"), ("leaf 1 uplink down", "'down'"), ("spine -1 down", "'-1'"),
        ("rank 5 late 20", "'20'"), ("rank 5 late -3us", "'-3us'"), ("rank 5 slow 0.5x", "'0.5x'"), ("rank 5 slow fast", "'fast'"),
        ("jitter normal 2us", "'normal'"), ("jitter uniform 2us seed -1", "'-1'"), ("jitter uniform 2us salt 3", "'salt'"),
        ("node 3 nic 2 down now", "'now'"), ("", "end of spec"), ("gpu 3 down", "'gpu'"), ("node 3 nic 2 at gen9", "'gen9'"),
        ("rank 99999999999 late 1us", "'99999999999'"), ("node 3 nic 2 at nan%", "'nan%'"),
    ])
    func badSpec(spec: String, token: String) {
        do {
            _ = try Fault(parsing: spec)
            Issue.record("'\(spec)' was accepted")
        } catch {
            #expect(error.description.contains(": \(token): "), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("a topology file's faults section reads, writes back, and names a bad spec's place")
    func topologyFile() throws {
        var t = Topology.preset("dgx-h100")!.with(nodes: 4)
        t.faults = try ["node 1 nic 2 at 50%", "spine 3 down", "rank 9 slow 2x", "jitter uniform 1us seed 3"].map { try Fault(parsing: $0) }
        let back = try Topology.parse(data: Data(t.fileText().utf8))
        #expect(back.faults == t.faults)
        #expect(try Topology.parse(data: Data(t.fileText(format: .yaml).utf8), format: .yaml).faults == t.faults)
        let bad = t.fileText().replacingOccurrences(of: "spine 3 down", with: "spine three down")
        do {
            _ = try Topology.parse(data: Data(bad.utf8), fileName: "c.json")
            Issue.record("accepted a bad fault")
        } catch {
            #expect(error.description.contains("'three'"))
            #expect(error.description.contains("c.json:"))
        }
    }
}

@Suite("Faults on the fabric")
struct FabricFaultTests {
    /// `nodes` nodes of `gpus` GPUs (NVSwitch, one NDR NIC per GPU, no PCIe) on a rail-optimized
    /// fat-tree of `leafPorts`-port leaves: `leafPorts` uplinks per leaf.
    static func fatTree(nodes: Int, gpus: Int, leafPorts: Int, faults: [String] = []) throws -> FabricMap {
        var t = Topology(
            name: "fat-tree", summary: "", nodeCount: nodes,
            node: NodeSpec(gpuName: "GPU", gpuCount: gpus, nvlink: NVLinkSpec(fabric: .nvswitch, link: LinkKind.nvlink4.defaultSpec, linksPerGPU: 18),
                           pcie: nil, nic: LinkKind.infinibandNDR.defaultSpec, nicCount: gpus, reduceGBps: nil, stepOverheadMicroseconds: 0),
            network: NetworkSpec(leafPorts: leafPorts, oversubscription: 1, railOptimized: true, switchLatencyMicroseconds: 0.1, stepOverheadMicroseconds: 0))
        t.faults = try faults.map { try Fault(parsing: $0) }
        return try FabricMap(t)
    }

    static func names(_ m: FabricMap, _ src: Int, _ dst: Int) -> [String] {
        let links = UnsafeMutablePointer<Int>.allocate(capacity: FabricMap.maxPathLinks)
        defer { links.deallocate() }
        let r = m.route(from: src, to: dst, links: links)
        return (0..<r.count).map { m.linkName(links[$0]) }
    }

    @Test("a healthy cluster has no faults; the healthy baseline of a faulted one routes as the healthy cluster")
    func healthy() throws {
        #expect(try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2).faults == nil)
        let m = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2, faults: ["leaf 0 uplink 0 down"])
        #expect(m.healthy.faults == nil)
        #expect(Self.names(m.healthy, 0, 4) == Self.names(try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2), 0, 4))
    }

    @Test("a down spine cable is routed around: D-mod-K over the spines still up")
    func reroute() throws {
        // Rank 0 (node 0, rail 0, leaf 0 port 0) to rank 4 (node 2, leaf 1 port 0): spine 0 when healthy.
        let healthy = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2)
        #expect(Self.names(healthy, 0, 4) == ["node 0 nic 0 tx", "leaf 0 uplink 0", "leaf 1 downlink 0", "node 2 nic 0 rx"])
        #expect(Self.names(healthy, 2, 6) == ["node 1 nic 0 tx", "leaf 0 uplink 1", "leaf 1 downlink 1", "node 3 nic 0 rx"])
        let m = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2, faults: ["leaf 0 uplink 0 down"])
        #expect(m.faults?.cutOff == nil)
        #expect(Self.names(m, 0, 4) == ["node 0 nic 0 tx", "leaf 0 uplink 1", "leaf 1 downlink 1", "node 2 nic 0 rx"])
        #expect(Self.names(m, 4, 0) == ["node 2 nic 0 tx", "leaf 1 uplink 1", "leaf 0 downlink 1", "node 0 nic 0 rx"])
        // The other rail's leaves keep both spines.
        #expect(Self.names(m, 1, 5) == Self.names(healthy, 1, 5))
    }

    @Test("a degraded link slows every path through it to its rate, and only those")
    func degraded() throws {
        let healthy = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2)
        let m = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2, faults: ["node 2 nic 0 at 25%", "node 0 gpu 1 nvlink at 50%"])
        let links = UnsafeMutablePointer<Int>.allocate(capacity: FabricMap.maxPathLinks)
        defer { links.deallocate() }
        #expect(m.route(from: 0, to: 4, links: links).bytesPerSecond == healthy.route(from: 0, to: 4, links: links).bytesPerSecond * 0.25)
        #expect(m.route(from: 1, to: 5, links: links).bytesPerSecond == healthy.route(from: 1, to: 5, links: links).bytesPerSecond)
        #expect(m.route(from: 0, to: 1, links: links).bytesPerSecond == healthy.route(from: 0, to: 1, links: links).bytesPerSecond * 0.5)
    }

    @Test("a GPU's only NIC down cuts it off, with one line naming ranks and link; a leaf without spines cuts its GPUs off")
    func cutOff() throws {
        let m = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2, faults: ["node 3 nic 1 down"])
        #expect(m.faults?.cutOff?.ranks == [7])
        let line = m.faults?.cutOff?.statement ?? ""
        #expect(line.contains("node 3 nic 1 tx") && line.contains("rank 7 (node 3 gpu 1) is cut off") && line.contains("NCCL's communicator would fail"))
        #expect(!line.contains("\n"))
        let leaf = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2, faults: ["leaf 1 uplinks down"])
        #expect(leaf.faults?.cutOff?.ranks == [4, 6])
        // One node: its NICs are not used, so nothing is cut off.
        #expect(try Self.fatTree(nodes: 1, gpus: 2, leafPorts: 2, faults: ["node 0 nic 1 down"]).faults?.cutOff == nil)
    }

    @Test("a fault naming what the cluster lacks is refused with one line", arguments: [
        "node 4 nic 0 down", "node 0 nic 2 down", "leaf 4 uplink 0 down", "leaf 0 uplink 2 down", "spine 2 down", "rank 8 late 1us",
        "node 0 gpu 0 pcie down",
    ])
    func outOfRange(spec: String) throws {
        #expect(throws: TopologyError.self) { try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2, faults: [spec]) }
    }

    @Test("random draws: the same seed draws the same faults; counts stay in range; cables are distinct")
    func draws() throws {
        let m = try Self.fatTree(nodes: 4, gpus: 2, leafPorts: 2)
        let shape = RandomFaults(cables: .network, count: .range(1...3), effect: .down)
        let candidates = shape.candidates(on: m)
        #expect(candidates.count == 8 + 4 * 2)
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        for _ in 0..<50 {
            let d = shape.draw(from: candidates, using: &a)
            #expect(d == shape.draw(from: candidates, using: &b))
            #expect((1...3).contains(d.count) && Set(d).count == d.count)
        }
        let spine = RandomFaults(cables: .spine, count: .fraction(1), effect: .fraction(0.5))
        #expect(spine.draw(from: spine.candidates(on: m), using: &a).count == 8)
    }
}
