import Testing
@testable import CollectiveSim
import CollectiveFabric
import CollectiveCore

/// The textbook switch of these tests: 100 GB/s per port each way, alpha = 2 us per message.
private let switchCosts = AlphaBetaGamma(alphaSeconds: 2e-6, betaSecondsPerByte: 1 / 100e9)

/// Plays `algorithm` on a switch of `p` ranks (one chunk per piece), with the event engine or
/// with fair link service, with or without the small-count fallback.
private func play(_ algorithm: AllreduceAlgorithm, ranks p: Int, bytes: Int, fair: Bool = false, fallback: Bool = true) throws -> Double {
    let fabric = try FabricMap(Topology.switchCluster(ranks: p, bandwidthGBps: 100, latencyMicroseconds: 2))
    var params = SimulatedSchedules.parameters(fabric: fabric, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: 1 << 30)
    params.smallCountFallback = fallback
    let schedule = try SimulatedSchedules.make(algorithm, params)
    return fair
        ? try FairShareEngine(fabric: fabric).run(any: schedule, elementSizeBytes: 4).timeSeconds
        : try EventEngine(fabric: fabric).run(any: schedule, elementSizeBytes: 4).timeSeconds
}

@Suite("Small messages: one message per round, ring fallback below p elements")
struct SmallMessageTests {
    @Test("recursive doubling on a switch = lg q (alpha + n beta), + fold and unfold for p not a power of two",
          arguments: [8, 13, 1024], [8, 4 << 10, 64 << 10, 1 << 20])
    func recursiveDoubling(p: Int, bytes: Int) throws {
        let t = try play(.recursiveDoubling, ranks: p, bytes: bytes)
        let f = switchCosts.recursiveDoubling(ranks: p, bytes: Double(bytes))
        #expect(abs(t - f) / f < 1e-6, "p=\(p) n=\(bytes): event \(t) vs closed form \(f)")
        // At 8 B, alpha is all of it: lg q messages (+2 folding), one per round.
        if bytes == 8 {
            let messages = floorLog2(p) + (p & (p - 1) == 0 ? 0 : 2)
            #expect(abs(t - Double(messages) * 2e-6) < 1e-9, "p=\(p): \(t * 1e6) us for \(messages) messages")
        }
    }

    @Test("recursive doubling with fair link service meets the same closed form", arguments: [8, 13], [8, 64 << 10])
    func recursiveDoublingFair(p: Int, bytes: Int) throws {
        let t = try play(.recursiveDoubling, ranks: p, bytes: bytes, fair: true)
        let f = switchCosts.recursiveDoubling(ranks: p, bytes: Double(bytes))
        #expect(abs(t - f) / f < 1e-3, "p=\(p) n=\(bytes): fair \(t) vs closed form \(f)")
    }

    @Test("ring and Rabenseifner below p elements run recursive doubling and cost its closed form",
          arguments: [8, 13, 1024])
    func fallback(p: Int) throws {
        let f = switchCosts.recursiveDoubling(ranks: p, bytes: 8)
        for a in [AllreduceAlgorithm.ring, .rabenseifner] {
            let t = try play(a, ranks: p, bytes: 8)
            #expect(abs(t - f) / f < 1e-6, "\(a.rawValue) p=\(p): \(t) vs \(f)")
        }
        let params = ScheduleParameters(rankCount: p, elementCount: 2, elementSizeBytes: 4)
        #expect(AllreduceAlgorithm.ring.rowName(for: params) == "ring->recursive-doubling")
        #expect(AllreduceAlgorithm.tree.rowName(for: params) == "tree")
        #expect(AllreduceAlgorithm.ring.rowName(for: ScheduleParameters(rankCount: p, elementCount: p, elementSizeBytes: 4)) == "ring")
        // The analytic model times what runs.
        let fabric = try FabricMap(Topology.switchCluster(ranks: p, bandwidthGBps: 100, latencyMicroseconds: 2))
        let analytic = try Simulator(fabric: fabric, model: .analytic).time(.ring, elementCount: 2, dataType: .float32, chunkBytes: 1 << 30)
        #expect(abs(analytic.timeSeconds - f) / f < 1e-9)
        #expect(analytic.rowName == "ring->recursive-doubling")
    }

    @Test("without the fallback the ring keeps its 2(p - 1) latency-bound steps", arguments: [8, 13])
    func pureRing(p: Int) throws {
        let t = try play(.ring, ranks: p, bytes: 8, fallback: false)
        let f = switchCosts.ring(ranks: p, bytes: 8)
        #expect(abs(t - f) / f < 1e-3, "p=\(p): \(t) vs \(f)")
        #expect(t > 2 * Double(p - 1) * 2e-6 * 0.99)
    }

    @Test("hierarchical below one element per GPU of a node runs recursive doubling, not empty intra-node rings")
    func hierarchicalFallback() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!.with(nodes: 4))
        var params = SimulatedSchedules.parameters(fabric: fabric, elementCount: 2, elementSizeBytes: 4, chunkBytes: 1 << 21)
        #expect(AllreduceAlgorithm.hierarchical.rowName(for: params) == "hierarchical->recursive-doubling")
        let fallback = try EventEngine(fabric: fabric).run(any: try SimulatedSchedules.make(.hierarchical, params), elementSizeBytes: 4).timeSeconds
        let doubling = try EventEngine(fabric: fabric).run(any: try SimulatedSchedules.make(.recursiveDoubling, params), elementSizeBytes: 4).timeSeconds
        params.smallCountFallback = false
        let pure = try EventEngine(fabric: fabric).run(any: try SimulatedSchedules.make(.hierarchical, params), elementSizeBytes: 4).timeSeconds
        #expect(fallback == doubling)
        #expect(pure > 2 * fallback, "pure hierarchical \(pure * 1e6) us vs recursive doubling \(fallback * 1e6) us")
        // From one element per GPU of a node on, hierarchical is itself.
        params.elementCount = 8
        params.smallCountFallback = true
        #expect(AllreduceAlgorithm.hierarchical.rowName(for: params) == "hierarchical")
    }
}
