import CollectiveKernels
import Foundation
import Testing
@testable import CollectiveCore

/// Every algorithm, with the hierarchical variants (ranks per node, inter-node algorithm).
struct AlgorithmCase: Sendable, CustomTestStringConvertible {
    var algorithm: AllreduceAlgorithm
    var ranksPerNode: Int = 1
    var inter: AllreduceAlgorithm = .ring
    var channels: Int = 1
    /// `ScheduleParameters.smallCountFallback`: false plays the pure ring and Rabenseifner at any count.
    var fallback = true

    var testDescription: String {
        switch algorithm {
        case .hierarchical: "hierarchical(g=\(ranksPerNode),\(inter.rawValue))"
        case .ncclRing, .ncclTree: "\(algorithm.rawValue)(g=\(ranksPerNode),\(channels)ch)"
        case .ncclNVLS: "\(algorithm.rawValue)(\(channels)ch)"
        default: algorithm.rawValue + (fallback ? "" : "(pure)")
        }
    }

    func parameters(ranks: Int, count: Int, elementSize: Int = 4, chunkBytes: Int) -> ScheduleParameters {
        ScheduleParameters(rankCount: ranks, elementCount: count, elementSizeBytes: elementSize, chunkBytes: chunkBytes,
                           ranksPerNode: min(ranksPerNode, ranks), interNodeAlgorithm: inter, channelCount: channels, smallCountFallback: fallback)
    }

    static let all: [AlgorithmCase] = [
        AlgorithmCase(algorithm: .ring), AlgorithmCase(algorithm: .tree), AlgorithmCase(algorithm: .rabenseifner),
        AlgorithmCase(algorithm: .recursiveDoubling),
        AlgorithmCase(algorithm: .hierarchical, ranksPerNode: 4, inter: .ring),
        AlgorithmCase(algorithm: .hierarchical, ranksPerNode: 3, inter: .tree),
        AlgorithmCase(algorithm: .hierarchical, ranksPerNode: 8, inter: .tree),
        AlgorithmCase(algorithm: .ncclRing, ranksPerNode: 4, channels: 3),
        AlgorithmCase(algorithm: .ncclTree, ranksPerNode: 3, channels: 2),
        // NVLS: every rank on one node's reducing switch.
        AlgorithmCase(algorithm: .ncclNVLS, ranksPerNode: Int(Int32.max), channels: 2),
        AlgorithmCase(algorithm: .ring, fallback: false), AlgorithmCase(algorithm: .rabenseifner, fallback: false),
    ]
}

/// Counts every schedule must handle: empty, one element, around the rank count, a prime.
func interestingCounts(_ p: Int) -> [Int] {
    Array(Set([0, 1, max(p - 1, 0), p, p + 1, 1009])).sorted()
}

@Suite("Schedule verifier: every algorithm is a correct allreduce")
struct AlgorithmVerificationTests {
    /// Runs with ALLREDUCE_LONG_TESTS=1 to add the slowest cases (ring-based schedules at p = 1000).
    static let long = ProcessInfo.processInfo.environment["ALLREDUCE_LONG_TESTS"] == "1"

    @Test("p = 1...64 x counts {0, 1, p-1, p, p+1, 1009} x chunk sizes", arguments: AlgorithmCase.all, Array(1...64))
    func smallRankCounts(_ c: AlgorithmCase, ranks: Int) throws {
        let orders = ScheduleVerifier.CompletionOrder.standard
        for count in interestingCounts(ranks) {
            // One chunk per message for every count; chunks of 1 and 7 elements for counts near p
            // (for p > 16 only at p + 1, to keep the debug run short).
            let chunks = count <= ranks + 1 && (ranks <= 16 || count == ranks + 1) ? [1 << 21, 4, 28] : [1 << 21]
            for (n, chunk) in chunks.enumerated() {
                // Every completion order for small p; one (rotating) order beyond.
                let which = ranks <= 8 ? orders : [orders[(ranks + count + n) % 3]]
                let schedule = try c.algorithm.makeSchedule(c.parameters(ranks: ranks, count: count, chunkBytes: chunk))
                try ScheduleVerifier().verify(schedule, orders: which)
            }
        }
    }

    @Test("pipelined chunks: long blocks cut into many chunks, every completion order",
          arguments: AlgorithmCase.all, [2, 3, 5, 8, 13, 16])
    func pipelined(_ c: AlgorithmCase, ranks: Int) throws {
        for (count, chunk) in [(97, 4), (1009, 28), (1009, 100)] {
            let schedule = try c.algorithm.makeSchedule(c.parameters(ranks: ranks, count: count, chunkBytes: chunk))
            try ScheduleVerifier().verify(schedule)
        }
    }

    @Test("sampled large p", arguments: AlgorithmCase.all, [100, 257, 1000])
    func largeRankCounts(_ c: AlgorithmCase, ranks: Int) throws {
        // Ring-based schedules have O(p) steps per rank (the ring: 4 million steps at p = 1000):
        // fewer counts for them, and at p = 1000 one count unless ALLREDUCE_LONG_TESTS=1.
        let ringBased = c.algorithm == .ring || c.algorithm == .ncclRing || (c.algorithm == .hierarchical && c.inter == .ring)
        var counts = ringBased ? [1, ranks + 1] : [0, 1, ranks - 1, ranks, ranks + 1, 1031]
        if c.algorithm == .ring && ranks == 1000 && !Self.long { counts = [ranks + 1] }
        // The channelized ring has channels x 4(p-1) steps per rank: p = 1000 only in the long run.
        if c.algorithm == .ncclRing && ranks == 1000 && !Self.long { return }
        // NVLS's switch has 2p(p + 1) steps per round: one NVLink domain holds at most a few hundred GPUs.
        if c.algorithm == .ncclNVLS && ranks > 100 && !Self.long { return }
        for count in counts {
            let schedule = try c.algorithm.makeSchedule(c.parameters(ranks: ranks, count: count, chunkBytes: 1 << 21))
            try ScheduleVerifier().verify(schedule, orders: [.random(seed: UInt64(ranks * 7 + count))])
        }
    }

    @Test("the factory builds the algorithm it is asked for", arguments: AllreduceAlgorithm.allCases)
    func factory(_ a: AllreduceAlgorithm) throws {
        let s = try a.makeSchedule(ScheduleParameters(rankCount: 5, elementCount: 10, elementSizeBytes: 4, ranksPerNode: a.reducesInSwitches ? 5 : 1,
                                                      collective: a.supports(.allreduce) ? .allreduce : .reduceScatter))
        #expect(s.algorithm == a)
        #expect(s.rankCount == 5 && s.elementCount == 10)
    }

    @Test("bad parameters are refused")
    func badParameters() {
        #expect(throws: ScheduleError.self) { try AllreduceAlgorithm.ring.makeSchedule(ScheduleParameters(rankCount: 0, elementCount: 1, elementSizeBytes: 4)) }
        #expect(throws: ScheduleError.self) { try AllreduceAlgorithm.tree.makeSchedule(ScheduleParameters(rankCount: 2, elementCount: -1, elementSizeBytes: 4)) }
        #expect(throws: ScheduleError.self) { try AllreduceAlgorithm.hierarchical.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 1, elementSizeBytes: 4, ranksPerNode: 5)) }
        #expect(throws: ScheduleError.self) {
            try AllreduceAlgorithm.hierarchical.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 1, elementSizeBytes: 4, ranksPerNode: 2, interNodeAlgorithm: .rabenseifner))
        }
    }
}

/// A schedule with one rank's program altered, to check that the verifier notices.
struct AlteredSchedule<Base: Schedule>: Schedule {
    enum Change: Sendable {
        case drop(rank: Int, step: Int)
        case peer(rank: Int, step: Int, to: Int)
        case clearDependencies(rank: Int)
        case kind(rank: Int, step: Int, to: StepKind)
        case count(rank: Int, step: Int, delta: Int)
    }
    var base: Base
    var change: Change
    var algorithm: AllreduceAlgorithm { base.algorithm }
    var rankCount: Int { base.rankCount }
    var elementCount: Int { base.elementCount }
    var switchCount: Int { base.switchCount }
    var reducesInNodeSwitches: Bool { base.reducesInNodeSwitches }

    func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
        var steps = base.steps(forRank: rank)
        switch change {
        case .drop(let r, let i) where r == rank: steps.remove(at: i)
        case .peer(let r, let i, let to) where r == rank: steps[i].peer = to
        case .clearDependencies(let r) where r == rank:
            for i in steps.indices { steps[i].dependencies = StepDependencies() }
        case .kind(let r, let i, let to) where r == rank: steps[i].kind = to
        case .count(let r, let i, let d) where r == rank: steps[i].count += d
        default: break
        }
        return steps.makeIterator()
    }
}

@Suite("Schedule verifier: broken schedules are rejected")
struct BrokenScheduleTests {
    func verify<S: Schedule>(_ s: S) -> String? {
        do {
            try ScheduleVerifier().verify(s)
            return nil
        } catch {
            return error.description
        }
    }

    func ring(_ p: Int = 4, count: Int = 40, chunk: Int = 1 << 20) throws -> RingSchedule {
        try RingSchedule(ScheduleParameters(rankCount: p, elementCount: count, elementSizeBytes: 4, chunkBytes: chunk))
    }

    @Test("the unaltered schedules pass")
    func baseline() throws {
        #expect(verify(try ring()) == nil)
        #expect(verify(AlteredSchedule(base: try ring(), change: .drop(rank: 9, step: 0))) == nil)
    }

    @Test("a dropped step leaves a send unmatched (deadlock) or a contribution missing")
    func droppedStep() throws {
        let message = try #require(verify(AlteredSchedule(base: try ring(), change: .drop(rank: 1, step: 1))))
        // The steps after it now point at the wrong indices.
        #expect(message.contains("rank 1"))
        // Dropping the last receive of every rank's program still matches the earlier ones but loses data.
        let last = try ring().steps(forRank: 2).count - 1
        let m2 = try #require(verify(AlteredSchedule(base: try ring(), change: .drop(rank: 2, step: last))))
        #expect(m2.contains("deadlock") || m2.contains("without the contribution"))
    }

    @Test("a wrong peer is caught")
    func wrongPeer() throws {
        let m = try #require(verify(AlteredSchedule(base: try ring(), change: .peer(rank: 0, step: 0, to: 2))))
        #expect(m.contains("another offset") || m.contains("deadlock") || m.contains("carries"))
        let self_ = try #require(verify(AlteredSchedule(base: try ring(), change: .peer(rank: 0, step: 0, to: 0))))
        #expect(self_.contains("itself"))
        let outside = try #require(verify(AlteredSchedule(base: try ring(), change: .peer(rank: 0, step: 0, to: 7))))
        #expect(outside.contains("not a rank"))
    }

    @Test("a missing dependency is a hazard", arguments: [AllreduceAlgorithm.ring, .tree, .recursiveDoubling])
    func missingDependency(_ a: AllreduceAlgorithm) throws {
        let s = try a.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 64, elementSizeBytes: 4, chunkBytes: 16))
        var caught = 0
        for r in 0..<4 {
            guard let m = clearing(s, rank: r) else { continue }
            #expect(m.contains("hazard"), "\(m)")
            caught += 1
        }
        #expect(caught > 0)
    }

    func clearing<S: Schedule>(_ base: S, rank: Int) -> String? {
        verify(AlteredSchedule(base: base, change: .clearDependencies(rank: rank)))
    }

    @Test("a copy turned into a reduce double counts")
    func doubleCount() throws {
        let s = try ring()
        let copy = try #require(s.steps(forRank: 0).firstIndex { $0.kind == .recvCopy })
        let m = try #require(verify(AlteredSchedule(base: s, change: .kind(rank: 0, step: copy, to: .recvReduce))))
        #expect(m.contains("double count"))
        #expect(m.contains("rank 0"))
    }

    @Test("a reduce turned into a copy loses contributions")
    func lostContribution() throws {
        let s = try ring()
        let reduce = try #require(s.steps(forRank: 1).firstIndex { $0.kind == .recvReduce })
        let m = try #require(verify(AlteredSchedule(base: s, change: .kind(rank: 1, step: reduce, to: .recvCopy))))
        #expect(m.contains("without the contribution"))
    }

    @Test("mismatched counts are caught")
    func countMismatch() throws {
        let m = try #require(verify(AlteredSchedule(base: try ring(), change: .count(rank: 0, step: 0, delta: -1))))
        #expect(m.contains("carries"))
    }

    @Test("a dependency on a later step is reported, not trapped")
    func forwardDependency() throws {
        struct Forward: Schedule {
            var algorithm: AllreduceAlgorithm { .ring }
            var rankCount: Int { 2 }
            var elementCount: Int { 1 }
            func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
                [Step(kind: .send, peer: 1 - rank, offset: 0, count: 1, dependencies: StepDependencies(1)),
                 Step(kind: .recvReduce, peer: 1 - rank, offset: 0, count: 1)].makeIterator()
            }
        }
        let m = try #require(verify(Forward()))
        #expect(m.contains("not earlier"))
    }

    @Test("an exchange that reduces into the range it is sending is a hazard")
    func exchangeInPlace() throws {
        struct Exchange: Schedule {
            var algorithm: AllreduceAlgorithm { .recursiveDoubling }
            var rankCount: Int { 2 }
            var elementCount: Int { 4 }
            func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
                [Step(kind: .send, peer: 1 - rank, offset: 0, count: 4),
                 Step(kind: .recvReduce, peer: 1 - rank, offset: 0, count: 4)].makeIterator()
            }
        }
        let m = try #require(verify(Exchange()))
        #expect(m.contains("hazard"))
    }

    /// Both ranks send their whole buffer and reduce the partner's into it: one message each way.
    struct StagedExchange: Schedule {
        var reduceAfter: Int? = 0
        var kind: StepKind = .recvReduce
        var algorithm: AllreduceAlgorithm { .recursiveDoubling }
        var rankCount: Int { 2 }
        var elementCount: Int { 4 }
        func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
            [Step(kind: .send, peer: 1 - rank, offset: 0, count: 4),
             Step(kind: kind, peer: 1 - rank, offset: 0, count: 4, reduceAfter: reduceAfter)].makeIterator()
        }
    }

    @Test("the same exchange with the receive staged behind the send verifies and runs exact")
    func stagedExchange() throws {
        #expect(verify(StagedExchange()) == nil)
        for type in [DataType.float32, .int64] {
            let r = try AllreduceCheck(dataType: type, op: .sum, seed: 5).run(StagedExchange(), executor: InProcessExecutor(threadCount: 2))
            #expect(r.wrong == 0)
            if type == .int64 { #expect(r.maxAbsError == 0) }
        }
    }

    @Test("reduceAfter on a copy, or naming a step that is not earlier, is refused")
    func badReduceAfter() throws {
        #expect(verify(StagedExchange(reduceAfter: 1))?.contains("reduceAfter") == true)
        #expect(verify(StagedExchange(kind: .recvCopy))?.contains("reduceAfter") == true)
    }
}
