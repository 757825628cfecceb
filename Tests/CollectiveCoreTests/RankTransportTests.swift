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
        let n = 101
        let schedule = try a.makeSchedule(ScheduleParameters(rankCount: p, elementCount: n, elementSizeBytes: 8, chunkBytes: 64, ranksPerNode: min(3, p)))
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
                let steps = (try? schedule.run(rank: r, transport: &transport)) ?? -1
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
