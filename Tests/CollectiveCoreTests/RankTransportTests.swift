import CollectiveKernels
import Foundation
import Testing
@testable import CollectiveCore

/// A one-thread-per-rank transport over shared memory, shaped like an MPI runner's: `start`
/// posts a send or a receive, the second side of a pair performs the transfer, and
/// `waitForCompletions` blocks until this rank has completed steps. A staged receive-reduce
/// (`Step.reduceAfter`) takes a copy of the data and reduces once the send it follows completed.
final class Mailbox: @unchecked Sendable {
    struct Posted { var rank: Int; var index: Int; var step: Step }
    let condition = NSCondition()
    var sends: [Int: [Posted]] = [:]
    var recvs: [Int: [Posted]] = [:]
    var completions: [[Int]]
    /// Steps completed so far, and staged receives waiting with their data.
    var done: [Set<Int>]
    var staged: [[(recv: Posted, data: [Int64])]]
    let buffers: [UnsafeMutablePointer<Int64>]
    let p: Int

    init(p: Int, buffers: [UnsafeMutablePointer<Int64>]) {
        self.p = p
        self.buffers = buffers
        completions = Array(repeating: [], count: p)
        done = Array(repeating: [], count: p)
        staged = Array(repeating: [], count: p)
    }

    func complete(_ rank: Int, _ index: Int) {
        completions[rank].append(index)
        done[rank].insert(index)
        release(rank)
    }

    /// Reduces the staged receives of `rank` whose send has completed.
    func release(_ rank: Int) {
        while let k = staged[rank].firstIndex(where: { done[rank].contains($0.recv.step.reduceAfter!) }) {
            let (r, data) = staged[rank].remove(at: k)
            for (j, i) in r.step.range.enumerated() { buffers[rank][i] = buffers[rank][i] &+ data[j] }
            complete(rank, r.index)
        }
    }

    func post(_ x: Posted) {
        condition.lock()
        defer { condition.unlock() }
        let key = x.step.kind == .send ? x.rank * p + x.step.peer : x.step.peer * p + x.rank
        if x.step.kind == .send { sends[key, default: []].append(x) } else { recvs[key, default: []].append(x) }
        guard let s = sends[key]?.first, let r = recvs[key]?.first else { return }
        sends[key]!.removeFirst()
        recvs[key]!.removeFirst()
        precondition(s.step.count == r.step.count && s.step.offset == r.step.offset)
        if r.step.reduceAfter != nil {
            staged[r.rank].append((r, r.step.range.map { buffers[s.rank][$0] }))
            complete(s.rank, s.index)
            release(r.rank)
            condition.broadcast()
            return
        }
        for i in r.step.range {
            buffers[r.rank][i] = r.step.kind == .recvReduce ? buffers[r.rank][i] &+ buffers[s.rank][i] : buffers[s.rank][i]
        }
        complete(s.rank, s.index)
        complete(r.rank, r.index)
        condition.broadcast()
    }

    func wait(_ rank: Int, _ out: inout [Int]) {
        condition.lock()
        while completions[rank].isEmpty { condition.wait() }
        out.append(contentsOf: completions[rank])
        completions[rank].removeAll()
        condition.unlock()
    }
}

struct MailboxTransport: RankTransport {
    let rank: Int
    let mailbox: Mailbox
    mutating func start(_ step: Step, index: Int) throws(ExecutionError) {
        mailbox.post(Mailbox.Posted(rank: rank, index: index, step: step))
    }
    mutating func waitForCompletions(_ completed: inout [Int]) throws(ExecutionError) {
        mailbox.wait(rank, &completed)
    }
}

@Suite("Per-rank driver over a transport")
struct RankTransportTests {
    @Test("each rank on its own thread, driven by Schedule.run(rank:transport:)",
          arguments: AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches }, [1, 2, 5, 8])
    func threadPerRank(_ a: AllreduceAlgorithm, ranks p: Int) throws {
        let schedule = try a.makeSchedule(ScheduleParameters(rankCount: p, elementCount: Self.n, elementSizeBytes: 8, chunkBytes: 64, ranksPerNode: min(3, p)))
        Self.play(p: p) { r, transport in (try? schedule.run(rank: r, transport: &transport)) ?? -1 }
    }

    @Test("RankSteps holds exactly the schedule's steps of one rank and plays them the same way",
          arguments: AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches }, [2, 5])
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
