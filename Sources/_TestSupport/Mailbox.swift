import CollectiveCore
import Foundation

/// A one-thread-per-rank transport over shared memory, shaped like an MPI runner's: `start`
/// posts a send or a receive, the second side of a pair performs the transfer, and
/// `waitForCompletions` blocks until this rank has completed steps. A staged receive-reduce
/// (`Step.reduceAfter`) takes a copy of the data and reduces once the send it follows completed.
public final class Mailbox: @unchecked Sendable {
    public struct Posted {
        public var rank: Int, index: Int, step: Step
        public init(rank: Int, index: Int, step: Step) { self.rank = rank; self.index = index; self.step = step }
    }
    let condition = NSCondition()
    var sends: [Int: [Posted]] = [:]
    var recvs: [Int: [Posted]] = [:]
    var completions: [[Int]]
    /// Steps completed so far, and staged receives waiting with their data.
    var done: [Set<Int>]
    var staged: [[(recv: Posted, data: [Int64])]]
    let buffers: [UnsafeMutablePointer<Int64>]
    let p: Int

    /// `p` ranks, rank r's buffer of 64-bit integers at `buffers[r]` (reduced by wrapping addition).
    public init(p: Int, buffers: [UnsafeMutablePointer<Int64>]) {
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

    public func post(_ x: Posted) {
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

    public func wait(_ rank: Int, _ out: inout [Int]) {
        condition.lock()
        while completions[rank].isEmpty { condition.wait() }
        out.append(contentsOf: completions[rank])
        completions[rank].removeAll()
        condition.unlock()
    }
}

/// Rank `rank`'s side of a ``Mailbox``: the ``RankTransport`` a test drives with
/// `Schedule.run(rank:transport:)` on the rank's own thread.
public struct MailboxTransport: RankTransport {
    public let rank: Int
    public let mailbox: Mailbox
    public init(rank: Int, mailbox: Mailbox) { self.rank = rank; self.mailbox = mailbox }
    public mutating func start(_ step: Step, index: Int) throws(ExecutionError) {
        mailbox.post(Mailbox.Posted(rank: rank, index: index, step: step))
    }
    public mutating func waitForCompletions(_ completed: inout [Int]) throws(ExecutionError) {
        mailbox.wait(rank, &completed)
    }
}
