import Testing
@testable import CollectiveCore

@Suite("Ring schedule")
struct RingScheduleTests {
    @Test("each rank sends 2(p-1)/p of the buffer", arguments: [1, 2, 3, 5, 8, 13], [0, 1, 7, 1000])
    func bytesSent(ranks: Int, count: Int) throws {
        let ring = try RingSchedule(ScheduleParameters(rankCount: ranks, elementCount: count, elementSizeBytes: 4, chunkBytes: 64))
        for r in 0..<ranks {
            let sent = ring.steps(forRank: r).filter { $0.kind == .send }.reduce(0) { $0 + $1.count }
            // Blocks differ by at most one element, so the total is within 2(p-1) of the ideal.
            let ideal = 2 * (ranks - 1) * count / ranks
            #expect(abs(sent - ideal) <= 2 * (ranks - 1))
        }
    }

    @Test("dependencies always point to earlier steps")
    func dependenciesPointBack() throws {
        let ring = try RingSchedule(ScheduleParameters(rankCount: 6, elementCount: 1001, elementSizeBytes: 4, chunkBytes: 100))
        for r in 0..<6 {
            for (i, step) in ring.steps(forRank: r).enumerated() {
                for d in step.dependencies { #expect(d < i) }
            }
        }
    }

    @Test("RankProgress issues in order and only when dependencies completed")
    func rankProgress() throws {
        let ring = try RingSchedule(ScheduleParameters(rankCount: 3, elementCount: 30, elementSizeBytes: 4, chunkBytes: 1 << 20))
        var progress = RankProgress(ring.makeSteps(forRank: 0))
        // Step 0 (send) and 1 (recv) start at once; step 2 (send of the received block) waits for 1.
        let a = progress.issueNext()
        let b = progress.issueNext()
        #expect(a?.index == 0 && b?.index == 1)
        let blocked = progress.issueNext()
        #expect(blocked == nil)
        progress.complete(1)
        let c = progress.issueNext()
        #expect(c?.index == 2 && c?.step.kind == .send)
        let finished = progress.isFinished()
        #expect(!finished)
    }
}
