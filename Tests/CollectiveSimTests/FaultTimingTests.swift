import Testing
@testable import CollectiveSim
import CollectiveFabric
import CollectiveCore
import CollectiveKernels

/// `topology` with `specs` as its faults.
func faulted(_ topology: Topology, _ specs: [String]) throws -> Topology {
    var t = topology
    t.faults = try specs.map { try Fault(parsing: $0) }
    return t
}

@Suite("Faults in the event engine")
struct FaultTimingTests {
    static let p = 8, bytes = 8 << 20, bandwidthGBps = 50.0, latencyMicroseconds = 2.0
    static let cluster = Topology.switchCluster(ranks: p, bandwidthGBps: bandwidthGBps, latencyMicroseconds: latencyMicroseconds)
    static let costs = AlphaBetaGamma(alphaSeconds: latencyMicroseconds * 1e-6, betaSecondsPerByte: 1 / (bandwidthGBps * 1e9))

    static func ring(_ specs: [String]) throws -> Double {
        try playRing(try faulted(cluster, specs), bytes: bytes, chunkBytes: 1 << 30).timeSeconds
    }

    /// Every ring step sends through rank 3's NIC or receives through it: each of the 2(p-1)
    /// steps waits for the half-rate link, so the whole ring runs at its beta.
    @Test("on switch, a ring with one link at 50% takes the closed form with that link's beta doubled")
    func halfLink() throws {
        var doubled = Self.costs
        doubled.betaSecondsPerByte *= 2
        let expected = doubled.ring(ranks: Self.p, bytes: Double(Self.bytes))
        let t = try Self.ring(["node 3 nic 0 at 50%"])
        #expect(abs(t - expected) / expected < 1e-12, "\(t) vs \(expected)")
        // A slow rank is the same: its transfers hold their links twice as long.
        let slow = try Self.ring(["rank 3 slow 2x"])
        #expect(abs(slow - expected) / expected < 1e-12, "\(slow) vs \(expected)")
    }

    /// The rule: no transfer to or from a late rank starts before the rank enters. On a ring of
    /// equal steps every rank's step k waits for its left neighbour's step k - 1, so the delay
    /// runs round the ring step by step and every rank ends exactly d later.
    @Test("a straggler entering a ring late by d delays it by exactly d", arguments: [0.5, 20.0, 1000.0])
    func late(microseconds d: Double) throws {
        let healthy = Self.costs.ring(ranks: Self.p, bytes: Double(Self.bytes))
        let t = try Self.ring(["rank 5 late \(d)us"])
        #expect(abs(t - (healthy + d * 1e-6)) < 1e-12, "\(t) vs \(healthy) + \(d) us")
        // Two late ranks: the later one counts (the earlier one's delay is absorbed).
        let two = try Self.ring(["rank 5 late \(d)us", "rank 1 late \(d / 2)us"])
        #expect(abs(two - (healthy + d * 1e-6)) < 1e-12)
    }

    /// 0 <-> 4 and 2 <-> 6 cross between leaf 0 and leaf 1 of rail 0 on spines 0 and 1; with
    /// leaf 0's cable to spine 0 down both take spine 1 (D-mod-K over one spine) and share its
    /// cable, so the crossing step of recursive doubling carries two full buffers in turn: the
    /// run costs one buffer's time on a NIC more, n / B.
    @Test("a link down on a rail-optimized fat-tree with spare spines costs what rerouting predicts")
    func spineDown() throws {
        let healthy = try FabricFaultFixtures.fatTree([])
        let down = try FabricFaultFixtures.fatTree(["leaf 0 uplink 0 down"])
        let n = 1 << 20
        let t0 = try Simulator(fabric: healthy, model: .event).time(.recursiveDoubling, elementCount: n / 4, dataType: .float32, chunkBytes: 1 << 30).timeSeconds
        let t1 = try Simulator(fabric: down, model: .event).time(.recursiveDoubling, elementCount: n / 4, dataType: .float32, chunkBytes: 1 << 30).timeSeconds
        let predicted = Double(n) * healthy.interNodeCost.betaSecondsPerByte
        #expect(abs((t1 - t0) - predicted) / predicted < 1e-9, "\(t1 - t0) vs \(predicted)")
    }

    @Test("jitter: the same seed gives the same time bit for bit, another seed another; never faster than healthy",
          arguments: ["uniform", "exponential"])
    func jitter(distribution: String) throws {
        let healthy = try Self.ring([])
        let a = try Self.ring(["jitter \(distribution) 3us seed 11"])
        let b = try Self.ring(["jitter \(distribution) 3us seed 11"])
        let c = try Self.ring(["jitter \(distribution) 3us seed 12"])
        #expect(a.bitPattern == b.bitPattern)
        #expect(a != c)
        #expect(a > healthy && c > healthy)
    }

    @Test("faults play for NCCL's channels: a NIC at half rate slows nccl's ring, a late rank delays it, the same seed repeats")
    func nccl() throws {
        let t = Topology.preset("dgx-h100")!.with(nodes: 2)
        let count = 16 << 20
        func time(_ specs: [String]) throws -> Double {
            try Simulator(fabric: try FabricMap(try faulted(t, specs)), model: .event)
                .timeNCCL(elementCount: count, dataType: .float32, algorithm: .ring).timeSeconds
        }
        let healthy = try time([])
        #expect(try time(["node 1 nic 3 at 50%"]) > healthy * 1.3)
        let late = try time(["rank 4 late 100us"])
        #expect(late > healthy + 50e-6 && late <= healthy + 100e-6 + 1e-12)
        #expect(try time(["jitter exponential 1us seed 5"]).bitPattern == (try time(["jitter exponential 1us seed 5"])).bitPattern)
        #expect(try time(["node 0 gpu 2 pcie at gen3"]) > healthy)
    }

    @Test("ranks cut off end the run with the one-line statement; closed forms refuse faults")
    func refused() throws {
        let t = try faulted(Topology.preset("dgx-h100")!.with(nodes: 2), ["node 1 nic 3 down"])
        let fabric = try FabricMap(t)
        for model in [TimingModel.event] {
            do {
                _ = try Simulator(fabric: fabric, model: model).timeNCCL(elementCount: 1 << 20, dataType: .float32)
                Issue.record("a cut-off rank was timed")
            } catch {
                #expect("\(error)" == fabric.faults!.cutOff!.statement)
            }
        }
        let degraded = try FabricMap(try faulted(Topology.preset("dgx-h100")!.with(nodes: 2), ["node 1 nic 3 at 50%"]))
        #expect(throws: SimulationError.self) { try Simulator(fabric: degraded, model: .analytic).time(.ring, elementCount: 1024, dataType: .float32, chunkBytes: 1 << 20) }
        #expect(throws: SimulationError.self) { try Simulator(fabric: degraded, model: .nccl).timeNCCL(elementCount: 1024, dataType: .float32) }
    }

    /// Ring steps are a send and a receive each: 2(p-1) rounds, 4(p-1) steps. With one chunk per
    /// block every round waits for the half-rate link: the critical path is one transfer per
    /// round, each through rank 3's NIC.
    @Test("the finish watcher names the critical path's end, its slowest link and the late rank on it")
    func gate() throws {
        let fabric = try FabricMap(try faulted(Self.cluster, ["node 3 nic 0 at 50%"]))
        let watcher = FinishWatcher(fabric: fabric)
        _ = try Simulator(fabric: fabric, model: .event).time(.ring, elementCount: Self.bytes / 4, dataType: .float32, chunkBytes: 1 << 30, observer: watcher)
        let gate = watcher.gate() ?? ""
        #expect(gate.hasPrefix("critical path of \(2 * (Self.p - 1)) transfers, ending at rank 3 step \(4 * (Self.p - 1) - 1) (receive from rank 2)"), "\(gate)")
        #expect(gate.contains("its slowest link node 3 nic 0 "), "\(gate)")
        #expect(gate.contains("(at 50%) carried \(2 * (Self.p - 1)) of them"), "\(gate)")
        let late = try FabricMap(try faulted(Self.cluster, ["rank 5 late 50us"]))
        let w = FinishWatcher(fabric: late)
        _ = try Simulator(fabric: late, model: .event).time(.ring, elementCount: Self.bytes / 4, dataType: .float32, chunkBytes: 1 << 30, observer: w)
        #expect(w.gate()?.contains("rank 5 entered 50us late") == true, "\(w.gate() ?? "")")
        // Beyond its limit it names nothing rather than a partial chain.
        let small = FinishWatcher(fabric: fabric, limit: 3)
        _ = try Simulator(fabric: fabric, model: .event).time(.ring, elementCount: Self.bytes / 4, dataType: .float32, chunkBytes: 1 << 30, observer: small)
        #expect(small.gate() == nil)
    }
}

/// The rail-optimized fat-tree of the rerouting check: 4 nodes of 2 GPUs (one NIC each, no PCIe,
/// no software overhead), 2-port leaves with 2 spines.
enum FabricFaultFixtures {
    static func fatTree(_ specs: [String]) throws -> FabricMap {
        let t = Topology(
            name: "fat-tree", summary: "", nodeCount: 4,
            node: NodeSpec(gpuName: "GPU", gpuCount: 2, nvlink: NVLinkSpec(fabric: .nvswitch, link: LinkKind.nvlink4.defaultSpec, linksPerGPU: 18),
                           pcie: nil, nic: LinkKind.infinibandNDR.defaultSpec, nicCount: 2, reduceGBps: nil, stepOverheadMicroseconds: 0),
            network: NetworkSpec(leafPorts: 2, oversubscription: 1, railOptimized: true, switchLatencyMicroseconds: 0.1, stepOverheadMicroseconds: 0))
        return try FabricMap(try faulted(t, specs))
    }
}
