import Testing
@testable import CollectiveSim
import CollectiveFabric
import CollectiveCore
import CollectiveKernels

/// Plays ring on a cluster and returns (seconds, statistics).
func playRing(_ topology: Topology, bytes: Int, chunkBytes: Int = ScheduleParameters.defaultChunkBytes) throws -> EventResult {
    let fabric = try FabricMap(topology)
    let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: chunkBytes)
    return try EventEngine(fabric: fabric).run(try RingSchedule(params), elementSizeBytes: 4)
}

func busbw(bytes: Int, seconds: Double, ranks p: Int) -> Double {
    Double(bytes) / seconds / 1e9 * 2 * Double(p - 1) / Double(p)
}

@Suite("Event queue")
struct EventQueueTests {
    @Test("pops in (time, sequence) order; equal times keep push order")
    func order() {
        var q = EventQueue(capacity: 4)
        var rng = SplitMix64(seed: 7)
        var pushed: [(Double, Int)] = []
        for i in 0..<5000 {
            let t = Double(rng.next() % 50)
            q.push(time: t, payload: i)
            pushed.append((t, i))
        }
        let expected = pushed.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        var got: [(Double, Int)] = []
        while let e = q.pop() { got.append((e.time, e.payload)) }
        #expect(got.count == expected.count)
        #expect(zip(got, expected).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
    }
}

@Suite("Event queue against a reference")
struct EventQueueReferenceTests {
    /// Pushes and pops interleaved as the engine does (every push at or after the last popped
    /// time), with few or many distinct times, long runs of one time (over many 15-payload
    /// blocks) and groups that empty and come back: the queue pops exactly what a sorted list of
    /// (time, sequence) pops.
    @Test("interleaved pushes and pops match a sorted reference", arguments: [1, 3, 40, 100_000])
    func interleaved(distinctTimes: UInt64) {
        var q = EventQueue(capacity: 16)
        var rng = SplitMix64(seed: distinctTimes)
        var reference: [(time: Double, seq: Int)] = []  // pending, kept sorted
        var now = 0.0
        var seq = 0
        var popped = 0
        for round in 0..<12_000 {
            let pushes = Int(rng.next() % 4)
            for _ in 0..<pushes {
                let t = now + Double(rng.next() % distinctTimes) * 0.25
                q.push(time: t, payload: seq)
                let at = reference.firstIndex { $0.time > t || ($0.time == t && $0.seq > seq) } ?? reference.count
                reference.insert((t, seq), at: at)
                seq += 1
            }
            if round % 3 != 0 || reference.count > 200 {
                let ahead = q.payload(ahead: 0)
                let e = q.pop()
                if reference.isEmpty { #expect(e == nil); continue }
                let r = reference.removeFirst()
                #expect(e?.time == r.time && e?.payload == r.seq)
                #expect(ahead == r.seq)
                if let e { now = e.time }
                popped += 1
            }
            #expect(q.count == reference.count)
        }
        while let e = q.pop() {
            let r = reference.removeFirst()
            #expect(e.time == r.time && e.payload == r.seq)
        }
        #expect(reference.isEmpty && q.isEmpty && popped > 4_000)
    }

    @Test("payload(ahead:) names the coming events of the earliest time, in order")
    func ahead() {
        var q = EventQueue()
        for i in 0..<40 { q.push(time: 2, payload: 100 + i) }
        q.push(time: 1, payload: 7)
        #expect(q.payload(ahead: 0) == 7)
        #expect(q.payload(ahead: 1) == nil)
        _ = q.pop()
        for k in 0..<15 { #expect(q.payload(ahead: k) == 100 + k) }
        for _ in 0..<14 { _ = q.pop() }
        // The front is the last payload of a block: the next ones are in the next block.
        for k in 0..<15 { #expect(q.payload(ahead: k) == 114 + k) }
        #expect(q.payload(ahead: 15) == nil)
    }
}

@Suite("Event engine against closed forms on a switch")
struct SwitchClosedFormTests {
    /// Ring with one chunk per block: every step costs alpha + (n/p) beta exactly.
    @Test("ring = 2(p-1) alpha + 2(p-1)/p n/B within 0.1%",
          arguments: [2, 3, 4, 5, 8, 13, 16, 24, 32], [4096, 1 << 20, 48 << 20])
    func ring(p: Int, bytes: Int) throws {
        let bw = 100.0, latUs = 2.0
        let topo = Topology.switchCluster(ranks: p, bandwidthGBps: bw, latencyMicroseconds: latUs)
        let r = try playRing(topo, bytes: bytes, chunkBytes: 1 << 30)
        let count = bytes / 4
        // The ring moves blocks of ceil(count/p) elements in lock step: use the largest block.
        let block = Double((count + p - 1) / p * 4)
        let formula = 2 * Double(p - 1) * (latUs * 1e-6 + block / (bw * 1e9))
        #expect(abs(r.timeSeconds - formula) / formula < 1e-3, "p=\(p) bytes=\(bytes): \(r.timeSeconds) vs \(formula)")
        // And the textbook form for divisible sizes.
        if count % p == 0 {
            let textbook = AlphaBetaGamma(alphaSeconds: latUs * 1e-6, betaSecondsPerByte: 1 / (bw * 1e9)).ring(ranks: p, bytes: Double(bytes))
            #expect(abs(r.timeSeconds - textbook) / textbook < 1e-3)
        }
    }

    /// Reductions stream with the data: a reduce-scatter step costs alpha + b max(beta, gamma).
    @Test("a reduction slower than the link bounds the reduce-scatter steps; a faster one is hidden", arguments: [20.0, 200.0])
    func ringGamma(reduceGBps: Double) throws {
        var topo = Topology.switchCluster(ranks: 8, bandwidthGBps: 50, latencyMicroseconds: 1)
        topo.node.reduceGBps = reduceGBps
        let bytes = 8 << 20
        let r = try playRing(topo, bytes: bytes, chunkBytes: 1 << 30)
        let b = Double(bytes / 8), alpha = 1e-6, beta = 1 / 50e9, gamma = 1 / (reduceGBps * 1e9)
        let f = 7 * (alpha + b * max(beta, gamma)) + 7 * (alpha + b * beta)
        #expect(abs(r.timeSeconds - f) / f < 1e-3, "\(r.timeSeconds) vs \(f)")
        let closed = AlphaBetaGamma(alphaSeconds: alpha, betaSecondsPerByte: beta, gammaSecondsPerByte: gamma).streamingReduction
        #expect(abs(closed.ring(ranks: 8, bytes: Double(bytes)) - f) / f < 1e-12)
    }

    @Test("same input, same output, bit for bit")
    func deterministic() throws {
        let topo = try #require(Topology.preset("dgx-h100")).with(nodes: 3)
        let a = try playRing(topo, bytes: 3 << 20, chunkBytes: 64 << 10)
        let b = try playRing(topo, bytes: 3 << 20, chunkBytes: 64 << 10)
        #expect(a.timeSeconds.bitPattern == b.timeSeconds.bitPattern)
        #expect(a.statistics.events == b.statistics.events)
    }

    @Test("a schedule that deadlocks is an error, not a hang")
    func deadlock() throws {
        let fabric = try FabricMap(Topology.switchCluster(ranks: 2, bandwidthGBps: 10, latencyMicroseconds: 1))
        #expect(throws: SimulationError.self) {
            try EventEngine(fabric: fabric).run(CrossedReceives(), elementSizeBytes: 4)
        }
    }

    @Test("a schedule for the wrong number of ranks is an error")
    func wrongRanks() throws {
        let fabric = try FabricMap(Topology.switchCluster(ranks: 3, bandwidthGBps: 10, latencyMicroseconds: 1))
        #expect(throws: SimulationError.self) {
            try EventEngine(fabric: fabric).run(CrossedReceives(), elementSizeBytes: 4)
        }
    }
}

/// Two ranks that each wait to receive before sending: a deadlock.
struct CrossedReceives: Schedule {
    var algorithm: AllreduceAlgorithm { .ring }
    var rankCount: Int { 2 }
    var elementCount: Int { 4 }
    func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
        [Step(kind: .recvCopy, peer: 1 - rank, offset: 0, count: 4),
         Step(kind: .send, peer: 1 - rank, offset: 0, count: 4, dependencies: StepDependencies(0))].makeIterator()
    }
}

@Suite("Event engine on real clusters")
struct ClusterTests {
    @Test("large ring on one node reaches the per-GPU achievable NVLink bandwidth", arguments: ["dgx-a100", "dgx-h100", "hgx-h800"])
    func singleNode(name: String) throws {
        let topo = try #require(Topology.preset(name))
        let bytes = 1 << 30
        let r = try playRing(topo, bytes: bytes)
        let nvlink = try #require(topo.node.nvlink).portAchievableGBps
        let bus = busbw(bytes: bytes, seconds: r.timeSeconds, ranks: 8)
        #expect(bus <= nvlink * 1.0001)
        #expect(bus > 0.9 * nvlink, "\(name): busbw \(bus) vs NVLink \(nvlink)")
    }

    @Test("large ring across nodes reaches the per-GPU NIC bandwidth", arguments: [4, 32])
    func multiNode(nodes: Int) throws {
        let topo = try #require(Topology.preset("dgx-h100")).with(nodes: nodes)
        let bytes = 1 << 30
        let r = try playRing(topo, bytes: bytes)
        let nic = try #require(topo.node.nic).achievableGBps
        let bus = busbw(bytes: bytes, seconds: r.timeSeconds, ranks: 8 * nodes)
        #expect(bus <= nic * 1.0001)
        #expect(bus > 0.9 * nic, "busbw \(bus) vs NIC \(nic)")
    }

    @Test("more bandwidth is never slower", arguments: [4096, 1 << 20, 64 << 20])
    func monotone(bytes: Int) throws {
        var last = Double.infinity
        for bw in [10.0, 25, 50, 100, 400] {
            let t = try playRing(Topology.switchCluster(ranks: 8, bandwidthGBps: bw, latencyMicroseconds: 1), bytes: bytes).timeSeconds
            #expect(t <= last)
            last = t
        }
        let a100 = try playRing(try #require(Topology.preset("dgx-a100")).with(nodes: 2), bytes: bytes).timeSeconds
        let a800 = try playRing(try #require(Topology.preset("hgx-a800")).with(nodes: 2), bytes: bytes).timeSeconds
        #expect(a100 <= a800)
    }

    /// The A800 keeps 8 of the A100's 12 NVLink links: 2/3 of the bandwidth, so a purely
    /// NVLink-bound allreduce takes 1.5x as long; the per-step latency and the pipeline's fill and
    /// drain do not scale with bandwidth, so the slowdown is a little under 1.5x.
    @Test("A800 vs A100: a large single-node allreduce slows by close to 1.5x")
    func a800() throws {
        let bytes = 1 << 30
        let a100 = try playRing(try #require(Topology.preset("dgx-a100")), bytes: bytes).timeSeconds
        let a800 = try playRing(try #require(Topology.preset("hgx-a800")), bytes: bytes).timeSeconds
        let ratio = a800 / a100
        #expect(ratio > 1.4 && ratio <= 1.5, "ratio \(ratio)")
    }

    @Test("contention: two flows on one link take twice as long as one")
    func contention() throws {
        // DGX-1: GPUs 0 and 1 share NIC 0; a ring over 2 nodes crosses it with one flow, but a
        // transfer pair from both GPUs shares it. Check through a schedule of two sends.
        let topo = try #require(Topology.preset("dgx1-v100")).with(nodes: 2)
        let fabric = try FabricMap(topo)
        let one = try EventEngine(fabric: fabric).run(PairSends(pairs: [(0, 8)], count: 1 << 20), elementSizeBytes: 4).timeSeconds
        let two = try EventEngine(fabric: fabric).run(PairSends(pairs: [(0, 8), (1, 10)], count: 1 << 20), elementSizeBytes: 4).timeSeconds
        let apart = try EventEngine(fabric: fabric).run(PairSends(pairs: [(0, 8), (2, 10)], count: 1 << 20), elementSizeBytes: 4).timeSeconds
        #expect(apart == one)
        let nic = 12.5e9 * 0.92
        #expect(abs((two - one) - Double(4 << 20) / nic) / (Double(4 << 20) / nic) < 1e-6)
    }

    @Test("cut-through: a sender's port passes data on while the receiver's port is busy, and is free for its next transfer")
    func cutThrough() throws {
        // On a switch, 1 -> 2 holds rank 2's port first; 0 -> 2 waits for it in the switch while
        // rank 0's port has carried it; 0 -> 3 then goes out on rank 0's port at once, alongside.
        let fabric = try FabricMap(Topology.switchCluster(ranks: 16, bandwidthGBps: 100, latencyMicroseconds: 2))
        let run = { (pairs: [(Int, Int)]) in try EventEngine(fabric: fabric).run(PairSends(pairs: pairs, count: 1 << 20), elementSizeBytes: 4).timeSeconds }
        let one = try run([(1, 2)])
        let two = try run([(1, 2), (0, 2)])
        let three = try run([(1, 2), (0, 2), (0, 3)])
        let d = Double(4 << 20) / 100e9
        #expect(abs((two - one) - d) < 1e-12)
        #expect(three == two, "rank 0's port was held until rank 2's was free: \(three) vs \(two)")
    }
}

/// Rank a sends `count` elements to rank b for every listed pair, all at once.
struct PairSends: Schedule {
    var pairs: [(Int, Int)]
    var count: Int
    var algorithm: AllreduceAlgorithm { .ring }
    var rankCount: Int { 16 }
    var elementCount: Int { count }
    func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
        var steps: [Step] = []
        for (a, b) in pairs {
            if rank == a { steps.append(Step(kind: .send, peer: b, offset: 0, count: count)) }
            if rank == b { steps.append(Step(kind: .recvCopy, peer: a, offset: 0, count: count)) }
        }
        return steps.makeIterator()
    }
}

/// Plays `algorithm` on `p` ranks of a switch (alpha = 2 us, 100 GB/s) with one chunk per piece.
func playOnSwitch(_ algorithm: AllreduceAlgorithm, ranks p: Int, bytes: Int, chunkBytes: Int = 1 << 30) throws -> Double {
    let fabric = try FabricMap(Topology.switchCluster(ranks: p, bandwidthGBps: 100, latencyMicroseconds: 2))
    let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: chunkBytes)
    return try EventEngine(fabric: fabric).run(any: try SimulatedSchedules.make(algorithm, params), elementSizeBytes: 4).timeSeconds
}

@Suite("Event engine against the other closed forms on a switch")
struct OtherClosedFormTests {
    static let c = AlphaBetaGamma(alphaSeconds: 2e-6, betaSecondsPerByte: 1 / 100e9)

    @Test("Rabenseifner, power of two and not, equals 2 lg q alpha + ... (docs/Sources.md section 2)",
          arguments: [2, 4, 8, 16, 32, 3, 5, 6, 7, 12, 13, 24], [64 << 10, 4 << 20])
    func rabenseifner(p: Int, bytes: Int) throws {
        // Sizes divisible by 4p so every block is equal (the formula's assumption).
        let n = bytes / (4 * 96) * (4 * 96)
        let t = try playOnSwitch(.rabenseifner, ranks: p, bytes: n)
        let f = Self.c.rabenseifner(ranks: p, bytes: Double(n))
        #expect(abs(t - f) / f < 1e-3, "p=\(p): event \(t) vs \(f)")
    }

    @Test("recursive doubling, power of two and not, equals lg q (alpha + n beta) (+ fold and unfold)",
          arguments: [2, 4, 8, 16, 32, 3, 5, 6, 7, 12, 13, 24], [8, 64 << 10, 4 << 20])
    func recursiveDoubling(p: Int, bytes: Int) throws {
        let t = try playOnSwitch(.recursiveDoubling, ranks: p, bytes: bytes)
        let f = Self.c.recursiveDoubling(ranks: p, bytes: Double(bytes))
        #expect(abs(t - f) / f < 1e-3, "p=\(p): event \(t) vs \(f)")
        // One message per round: lg q alpha (+2 for the fold and unfold).
        let messages = Double(floorLog2(p) + (p & (p - 1) == 0 ? 0 : 2))
        #expect(abs(Self.c.recursiveDoubling(ranks: p, bytes: 0) - messages * 2e-6) < 1e-12)
    }

    @Test("double binary tree, one chunk per half, p = 2^m: (3m - 1) alpha + (4m - 2)(n/2) beta",
          arguments: [2, 4, 8, 16, 32], [64 << 10, 4 << 20])
    func treeUnpipelined(p: Int, bytes: Int) throws {
        let t = try playOnSwitch(.tree, ranks: p, bytes: bytes)
        let f = Self.c.doubleBinaryTreeUnpipelined(ranks: p, bytes: Double(bytes))
        #expect(abs(t - f) / f < 1e-3, "p=\(p): event \(t) vs \(f)")
    }

    /// From 64 ranks on, the two trees' messages start to meet on the same ports for large
    /// chunks (the event engine charges one more alpha at 4 MiB): the formula is a lower bound.
    @Test("at p = 64 the tree formula is a close lower bound", arguments: [64 << 10, 4 << 20])
    func treeUnpipelined64(bytes: Int) throws {
        let t = try playOnSwitch(.tree, ranks: 64, bytes: bytes)
        let f = Self.c.doubleBinaryTreeUnpipelined(ranks: 64, bytes: Double(bytes))
        #expect(t >= f * (1 - 1e-9) && t < f * 1.01, "event \(t) vs \(f)")
    }

    @Test("pipelining the tree shortens large allreduces", arguments: [8, 16, 13])
    func treePipelining(p: Int) throws {
        let whole = try playOnSwitch(.tree, ranks: p, bytes: 16 << 20)
        let pipelined = try playOnSwitch(.tree, ranks: p, bytes: 16 << 20, chunkBytes: 512 << 10)
        #expect(pipelined < whole)
    }

    @Test("hierarchical on one node is the ring; on single-GPU nodes, the ring over nodes")
    func hierarchicalDegenerate() throws {
        let ring = try playOnSwitch(.ring, ranks: 8, bytes: 1 << 20)
        let hier = try playOnSwitch(.hierarchical, ranks: 8, bytes: 1 << 20)
        #expect(abs(hier - ring) / ring < 1e-3)
    }
}

@Suite("Algorithms on real clusters")
struct AlgorithmClusterTests {
    func time(_ a: AllreduceAlgorithm, _ name: String, nodes: Int, bytes: Int) throws -> Double {
        let fabric = try FabricMap(try #require(Topology.preset(name)).with(nodes: nodes))
        return try Simulator(fabric: fabric, model: .event).time(a, elementCount: bytes / 4, dataType: .float32, chunkBytes: ScheduleParameters.defaultChunkBytes).timeSeconds
    }

    @Test("tree beats ring for small messages on many nodes; ring wins for large ones")
    func treeVsRing() throws {
        #expect(try time(.tree, "dgx-h100", nodes: 32, bytes: 64 << 10) < time(.ring, "dgx-h100", nodes: 32, bytes: 64 << 10))
        #expect(try time(.ring, "dgx-a100", nodes: 1, bytes: 256 << 20) < time(.tree, "dgx-a100", nodes: 1, bytes: 256 << 20))
        #expect(try playOnSwitch(.ring, ranks: 32, bytes: 64 << 20, chunkBytes: 1 << 21) < playOnSwitch(.tree, ranks: 32, bytes: 64 << 20, chunkBytes: 1 << 21))
        #expect(try playOnSwitch(.tree, ranks: 32, bytes: 4 << 10) < playOnSwitch(.ring, ranks: 32, bytes: 4 << 10))
    }

    @Test("hierarchical uses all eight NICs: several times the flat ring's bus bandwidth across nodes")
    func hierarchical() throws {
        let ring = try time(.ring, "dgx-h100", nodes: 4, bytes: 256 << 20)
        let hier = try time(.hierarchical, "dgx-h100", nodes: 4, bytes: 256 << 20)
        #expect(hier * 3 < ring)
    }

    @Test("more bandwidth is never slower, for every algorithm that moves data between ranks",
          arguments: AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches && $0.supports(.allreduce) })
    func monotone(a: AllreduceAlgorithm) throws {
        var last = Double.infinity
        for bw in [12.5, 25, 50, 100] {
            let fabric = try FabricMap(Topology.switchCluster(ranks: 12, bandwidthGBps: bw, latencyMicroseconds: 2))
            let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: (3 << 20) / 4, elementSizeBytes: 4, chunkBytes: 256 << 10)
            let u = try EventEngine(fabric: fabric).run(any: try SimulatedSchedules.make(a, params), elementSizeBytes: 4).timeSeconds
            #expect(u <= last)
            last = u
        }
    }
}

@Suite("Network effects and determinism")
struct NetworkTests {
    func run(_ a: AllreduceAlgorithm, _ topo: Topology, bytes: Int) throws -> EventResult {
        let fabric = try FabricMap(topo)
        let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: 1 << 21)
        return try EventEngine(fabric: fabric).run(any: try SimulatedSchedules.make(a, params), elementSizeBytes: 4)
    }

    /// Rabenseifner's exchanges at distance 2^k cross leaves with every NIC at once: with a 4:1
    /// oversubscribed leaf, a quarter of the uplinks carry them and become the bottleneck.
    @Test("an oversubscribed fat-tree slows cross-leaf traffic, and its uplinks show as the busiest links")
    func oversubscription() throws {
        let base = try #require(Topology.preset("nd-h100-v5")).with(nodes: 16)
        var over = base
        over.network.oversubscription = 4
        let fast = try run(.rabenseifner, base, bytes: 32 << 20)
        let slow = try run(.rabenseifner, over, bytes: 32 << 20)
        #expect(slow.timeSeconds > 2 * fast.timeSeconds)
        let uplink = try #require(slow.linkUtilization.first { $0.linkClass == .leafUplink })
        let nic = try #require(slow.linkUtilization.first { $0.linkClass == .nicTransmit })
        #expect(uplink.busyFraction > 2 * nic.busyFraction)
    }

    @Test("every algorithm gives the same time bit for bit on a second run", arguments: AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches && $0.supports(.allreduce) })
    func deterministic(a: AllreduceAlgorithm) throws {
        let topo = try #require(Topology.preset("dgx1-v100")).with(nodes: 3)
        let x = try run(a, topo, bytes: 5 << 20)
        let y = try run(a, topo, bytes: 5 << 20)
        #expect(x.timeSeconds.bitPattern == y.timeSeconds.bitPattern)
        #expect(x.statistics.events == y.statistics.events)
        #expect(x.timeSeconds > 0)
    }
}
