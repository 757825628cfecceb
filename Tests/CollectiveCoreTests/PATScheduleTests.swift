import Testing
@testable import CollectiveCore

/// NCCL's PAT as a schedule: its trees' shape (peers at distances 2^k, ceil(lg p) rounds, every
/// shard but the rank's own sent once) and what it builds. Its results are checked with the
/// other reduce-scatter and all-gather schedules (ReduceScatterAllGatherTests).
@Suite("PAT schedule")
struct PATScheduleTests {
    func schedule(_ collective: Collective, ranks p: Int, count n: Int) throws -> PATSchedule {
        try PATSchedule(ScheduleParameters(rankCount: p, elementCount: n, elementSizeBytes: 4, collective: collective))
    }

    @Test("Reduce-scatter: each rank sends every shard but its own exactly once, to r + 2^k in round k, and reduces p - 1 times",
          arguments: [2, 3, 5, 8, 13, 16, 24])
    func reduceScatterShape(_ p: Int) throws {
        let n = 7 * p + 3
        let s = try schedule(.reduceScatter, ranks: p, count: n)
        #expect(s.rounds == log2Ceil(p))
        let shards = Collective.shards(elementCount: n, rankCount: p)
        for r in 0..<p {
            let steps = s.steps(forRank: r)
            #expect(steps.count == 2 * (p - 1))
            let sends = steps.filter { $0.kind == .send }
            #expect(sends.map(\.offset).sorted() == (0..<p).filter { $0 != r }.map { shards.offset($0) }.sorted())
            let distances = Set(sends.map { ($0.peer - r + p) % p })
            #expect(distances == Set((0..<s.rounds).map { 1 << $0 }))
            // Receives come from r - 2^k, one per round into the rank's own shard.
            let receives = steps.filter { $0.kind == .recvReduce }
            #expect(receives.count == p - 1 && steps.allSatisfy { $0.kind != .recvCopy })
            #expect(Set(receives.map { (r - $0.peer + p) % p }) == distances)
            #expect(receives.filter { $0.offset == shards.offset(r) && $0.count == shards.size(r) }.count == s.rounds)
        }
        _ = try ScheduleVerifier().verify(s)
    }

    @Test("All-gather: the mirror, rounds ceil(lg p) - 1 ... 0 to r - 2^k, every shard but its own copied in once",
          arguments: [2, 3, 5, 8, 13, 16, 24])
    func allGatherShape(_ p: Int) throws {
        let n = 5 * p + 1
        let s = try schedule(.allGather, ranks: p, count: n)
        let shards = Collective.shards(elementCount: n, rankCount: p)
        for r in 0..<p {
            let steps = s.steps(forRank: r)
            let receives = steps.filter { $0.kind == .recvCopy }
            #expect(receives.map(\.offset).sorted() == (0..<p).filter { $0 != r }.map { shards.offset($0) }.sorted())
            let sends = steps.filter { $0.kind == .send }
            #expect(sends.count == p - 1)
            // The first round sends to r - 2^(rounds-1), the last to r - 1.
            #expect(sends.first.map { (r - $0.peer + p) % p } == 1 << (s.rounds - 1))
            #expect(sends.last.map { (r - $0.peer + p) % p } == 1)
        }
        _ = try ScheduleVerifier().verify(s)
    }

    @Test("PAT builds no allreduce, as NCCL never runs it for one")
    func noAllreduce() {
        #expect(!AllreduceAlgorithm.ncclPAT.supports(.allreduce))
        #expect(throws: ScheduleError.self) { try AllreduceAlgorithm.ncclPAT.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 8, elementSizeBytes: 4)) }
        #expect(throws: ScheduleError.self) { try PATSchedule(ScheduleParameters(rankCount: 4, elementCount: 8, elementSizeBytes: 4)) }
        #expect(AllreduceAlgorithm(name: "NCCL_PAT") == .ncclPAT)
    }

    func log2Ceil(_ p: Int) -> Int {
        var r = 0
        while (1 << r) < p { r += 1 }
        return r
    }
}
