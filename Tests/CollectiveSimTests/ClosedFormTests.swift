import Testing
import CollectiveFabric
@testable import CollectiveSim

@Suite("Closed forms")
struct ClosedFormTests {
    let c = AlphaBetaGamma(alphaSeconds: 2e-6, betaSecondsPerByte: 1e-11, gammaSecondsPerByte: 1e-12)

    @Test("ring, recursive doubling, Rabenseifner at p = 8 and p = 6")
    func values() {
        let n = 1e6
        #expect(abs(c.ring(ranks: 8, bytes: n) - (14 * 2e-6 + 1.75 * n * 1e-11 + 0.875 * n * 1e-12)) < 1e-15)
        #expect(abs(c.recursiveDoubling(ranks: 8, bytes: n) - 3 * (2e-6 + n * 1e-11 + n * 1e-12)) < 1e-15)
        #expect(abs(c.rabenseifner(ranks: 8, bytes: n) - (6 * 2e-6 + 1.75 * n * 1e-11 + 0.875 * n * 1e-12)) < 1e-15)
        // p = 6: q = 4, lg q = 2.
        #expect(abs(c.recursiveDoubling(ranks: 6, bytes: n) - (4 * 2e-6 + 4 * n * 1e-11 + 3 * n * 1e-12)) < 1e-15)
        #expect(abs(c.rabenseifner(ranks: 6, bytes: n) - (6 * 2e-6 + 3.5 * n * 1e-11 + 1.75 * n * 1e-12)) < 1e-15)
        #expect(c.ring(ranks: 1, bytes: n) == 0)
    }

    @Test("ring is bandwidth-optimal: no closed form beats it for large messages")
    func ringOptimal() {
        let n = 1e9
        for p in [2, 3, 8, 13, 64] {
            #expect(c.ring(ranks: p, bytes: n) <= c.recursiveDoubling(ranks: p, bytes: n))
            #expect(c.ring(ranks: p, bytes: n) <= c.doubleBinaryTree(ranks: p, bytes: n, chunks: 512))
        }
    }
}
