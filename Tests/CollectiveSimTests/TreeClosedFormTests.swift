import Testing
@testable import CollectiveSim
import CollectiveFabric
import CollectiveCore

/// Plays the tree on a switch of `p` ranks with `k` chunks of `chunkElements` floats per half.
func playTree(ranks p: Int, chunks k: Int, chunkElements: Int, bandwidthGBps: Double, latencyMicroseconds: Double) throws -> Double {
    let fabric = try FabricMap(Topology.switchCluster(ranks: p, bandwidthGBps: bandwidthGBps, latencyMicroseconds: latencyMicroseconds))
    let params = SimulatedSchedules.parameters(fabric: fabric, elementCount: 2 * k * chunkElements, elementSizeBytes: 4, chunkBytes: 4 * chunkElements)
    return try EventEngine(fabric: fabric).run(try TreeSchedule(params), elementSizeBytes: 4).timeSeconds
}

@Suite("Double binary tree: closed forms and bounds against the event engine")
struct TreeClosedFormTests {
    /// The analytic model uses the exact one-chunk form, so the two models agree.
    @Test("analytic = event within 0.1% for one chunk per half, p = 2^m", arguments: [2, 4, 8, 16, 32], [64 << 10, 4 << 20])
    func analyticMatchesEventUnpipelined(p: Int, bytes: Int) throws {
        let fabric = try FabricMap(Topology.switchCluster(ranks: p, bandwidthGBps: 100, latencyMicroseconds: 2))
        let event = try Simulator(fabric: fabric, model: .event).time(.tree, elementCount: bytes / 4, dataType: .float32, chunkBytes: 1 << 30).timeSeconds
        let analytic = try Simulator(fabric: fabric, model: .analytic).time(.tree, elementCount: bytes / 4, dataType: .float32, chunkBytes: 1 << 30).timeSeconds
        #expect(abs(analytic - event) / event < 1e-3, "p=\(p): analytic \(analytic) vs event \(event)")
        // Independent check of the form itself: (3m - 1) alpha + (4m - 2)(n/2) beta.
        let m = Double(floorLog2(p))
        let f = (3 * m - 1) * 2e-6 + (4 * m - 2) * Double(bytes / 2) / 100e9
        #expect(abs(analytic - f) / f < 1e-12)
    }

    /// The lower bound holds whatever alpha / (c beta) is, and the played schedule (FIFO links)
    /// stays within 4x of it (at most 3.8x over these cases, at alpha = 4 c beta and 16 chunks,
    /// where the schedule's slots, each opened by a fence, pay alpha one after the other; the rest
    /// of the gap is first-come link service, see ``AlphaBetaGamma/doubleBinaryTree(ranks:bytes:chunks:)``;
    /// with fair links the schedule meets its own formula, `FairShareTests`).
    @Test("pipelined tree: event engine >= max(port, pipeline) bound, and within 4x of it",
          arguments: [2, 3, 4, 5, 7, 8, 12, 13, 16, 24, 31, 32], [1, 2, 4, 8, 16])
    func pipelinedBound(p: Int, k: Int) throws {
        // c beta = 1 us (4000 B at 4 GB/s); alpha = r us.
        for r in [0.0, 0.25, 1, 4] {
            let t = try playTree(ranks: p, chunks: k, chunkElements: 1000, bandwidthGBps: 4, latencyMicroseconds: r)
            let c = AlphaBetaGamma(alphaSeconds: r * 1e-6, betaSecondsPerByte: 1 / 4e9)
            let bound = c.doubleBinaryTreeLowerBound(ranks: p, bytes: Double(2 * k * 4000), chunks: k)
            #expect(t >= bound * (1 - 1e-9), "p=\(p) k=\(k) alpha=\(r) c beta: event \(t) < bound \(bound)")
            #expect(t <= 4 * bound, "p=\(p) k=\(k) alpha=\(r) c beta: event \(t) vs bound \(bound): ratio \(t / bound)")
        }
    }

    @Test("the bound's two terms by hand: p = 8, k = 4")
    func boundByHand() {
        // p = 8: rank 2 has children 1, 3 and parent 4 in tree 0 and parent 4 (leaf) in tree 1:
        // e = 4 edges; deepest leaf at depth 3. c = 1000 B, beta = 1e-9 s/B, alpha = 5 us.
        let c = AlphaBetaGamma(alphaSeconds: 5e-6, betaSecondsPerByte: 1e-9)
        let port: Double = 16e-6 + 5e-6  // 4 edges x 4 chunks x 1 us + alpha
        let pipeline: Double = 9e-6 + 30e-6  // (2D + k - 1) c beta + 2D alpha, D = 3
        #expect(abs(c.doubleBinaryTreeLowerBound(ranks: 8, bytes: 8000, chunks: 4) - max(port, pipeline)) < 1e-15)
        let cheapAlpha = AlphaBetaGamma(alphaSeconds: 0, betaSecondsPerByte: 1e-9)
        #expect(abs(cheapAlpha.doubleBinaryTreeLowerBound(ranks: 8, bytes: 8000, chunks: 4) - 16e-6) < 1e-15)
    }
}
