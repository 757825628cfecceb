import CollectiveKernels
import Foundation
import Testing
import _TestSupport
@testable import CollectiveCore

@Suite("Per-rank driver over a transport")
struct RankTransportTests {
    @Test("each rank on its own thread, driven by Schedule.run(rank:transport:)",
          arguments: AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches && $0.supports(.allreduce) }, [1, 2, 5, 8])
    func threadPerRank(_ a: AllreduceAlgorithm, ranks p: Int) throws {
        let schedule = try a.makeSchedule(ScheduleParameters(rankCount: p, elementCount: Self.n, elementSizeBytes: 8, chunkBytes: 64, ranksPerNode: min(3, p)))
        Self.play(p: p) { r, transport in (try? schedule.run(rank: r, transport: &transport)) ?? -1 }
    }

    @Test("RankSteps holds exactly the schedule's steps of one rank and plays them the same way",
          arguments: AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches && $0.supports(.allreduce) }, [2, 5])
    func prebuiltSteps(_ a: AllreduceAlgorithm, ranks p: Int) throws {
        let schedule = try a.makeSchedule(ScheduleParameters(rankCount: p, elementCount: Self.n, elementSizeBytes: 8, chunkBytes: 64, ranksPerNode: min(3, p)))
        var programs: [RankSteps] = []
        for r in 0..<p {
            guard let steps = RankSteps(schedule, rank: r, maxSteps: 1 << 20) else {
                Issue.record("rank \(r): no steps built")
                return
            }
            var iterator = schedule.makeSteps(forRank: r)
            var expected: [Step] = []
            while let s = iterator.next() { expected.append(s) }
            #expect(steps.steps == expected)
            #expect(steps.rank == r && steps.rankCount == p && steps.elementCount == Self.n)
            if expected.count > 1 {
                // One step short of the program: not built (the runner then keeps to the iterator).
                #expect(RankSteps(schedule, rank: r, maxSteps: expected.count - 1) == nil)
            }
            programs.append(steps)
        }
        #expect(RankSteps(schedule, rank: p, maxSteps: 1 << 20) == nil)
        let built = programs
        Self.play(p: p) { r, transport in
            var completed: [Int] = []
            return (try? built[r].run(transport: &transport, completed: &completed)) ?? -1
        }
    }

    static let n = 101

    /// Plays one allreduce of `n` Int64 sums, each rank on its own thread through a
    /// `MailboxTransport` (`play` returns the steps played, -1 on failure), and checks every result.
    static func play(p: Int, _ play: @escaping @Sendable (Int, inout MailboxTransport) -> Int) {
        let buffers = (0..<p).map { r in
            let b = UnsafeMutablePointer<Int64>.allocate(capacity: n)
            for i in 0..<n { b[i] = Int64(r + 1) * 1_000_003 + Int64(i) * Int64(i) }
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        let mailbox = Mailbox(p: p, buffers: buffers)
        let done = DispatchGroup()
        final class Counts: @unchecked Sendable { var steps = [Int](); let lock = NSLock() }
        let counts = Counts()
        for r in 0..<p {
            done.enter()
            let thread = Thread {
                var transport = MailboxTransport(rank: r, mailbox: mailbox)
                let steps = play(r, &transport)
                counts.lock.lock(); counts.steps.append(steps); counts.lock.unlock()
                done.leave()
            }
            thread.start()
        }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(!counts.steps.contains(-1))
        for r in 0..<p {
            for i in 0..<n {
                let expected = Int64(p * (p + 1) / 2) * 1_000_003 + Int64(p) * Int64(i) * Int64(i)
                #expect(buffers[r][i] == expected, "rank \(r) element \(i)")
                if buffers[r][i] != expected { return }
            }
        }
    }
}
