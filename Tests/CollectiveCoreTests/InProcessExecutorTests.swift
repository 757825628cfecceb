import CollectiveKernels
import Foundation
import Testing
@testable import CollectiveCore

/// One random execution case.
struct ExecutionCase: Sendable, CustomTestStringConvertible {
    var algorithm: AlgorithmCase
    var ranks: Int
    var count: Int
    var chunkBytes: Int
    var dataType: DataType
    var op: ReductionOp
    var seed: UInt64

    var testDescription: String {
        "\(algorithm.testDescription) p=\(ranks) n=\(count) chunk=\(chunkBytes) \(dataType.name) \(op.rawValue)"
    }

    /// `count` cases drawn from a generator seeded with `seed`.
    static func random(_ count: Int, seed: UInt64) -> [ExecutionCase] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { n in
            let ranks = Int.random(in: 1...40, using: &g)
            let algorithms: [AlgorithmCase] = [
                AlgorithmCase(algorithm: .ring), AlgorithmCase(algorithm: .tree), AlgorithmCase(algorithm: .rabenseifner),
                AlgorithmCase(algorithm: .recursiveDoubling),
                AlgorithmCase(algorithm: .hierarchical, ranksPerNode: Int.random(in: 1...ranks, using: &g),
                              inter: Bool.random(using: &g) ? .ring : .tree),
                AlgorithmCase(algorithm: .ncclRing, ranksPerNode: Int.random(in: 1...ranks, using: &g), channels: Int.random(in: 1...5, using: &g)),
                AlgorithmCase(algorithm: .ncclTree, ranksPerNode: Int.random(in: 1...ranks, using: &g), channels: Int.random(in: 1...5, using: &g)),
            ]
            return ExecutionCase(
                algorithm: algorithms[n % algorithms.count], ranks: ranks,
                count: [0, 1, ranks - 1, ranks + 1, Int.random(in: 0...3000, using: &g)][Int.random(in: 0...4, using: &g)],
                chunkBytes: [1, 8, 13, 64, 1000, 1 << 21].randomElement(using: &g)!,
                dataType: DataType.allCases.randomElement(using: &g)!, op: ReductionOp.allCases.randomElement(using: &g)!,
                seed: g.next())
        }
    }
}

@Suite("In-process executor on real data")
struct InProcessExecutorTests {
    func check(_ c: ExecutionCase, threads: Int = 2) throws -> AllreduceCheck.Result {
        let schedule = try c.algorithm.algorithm.makeSchedule(
            c.algorithm.parameters(ranks: c.ranks, count: c.count, elementSize: c.dataType.sizeInBytes, chunkBytes: c.chunkBytes))
        return try AllreduceCheck(dataType: c.dataType, op: c.op, seed: c.seed).run(schedule, executor: InProcessExecutor(threadCount: threads))
    }

    @Test("Gloo-style product: ranks x sizes x algorithms, float32 and int32 sums",
          arguments: AlgorithmCase.all, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 24, 32])
    func product(_ a: AlgorithmCase, ranks: Int) throws {
        for count in [0, 1, 2, 7, ranks + 1, 257] {
            for type in [DataType.float32, .int32] {
                let c = ExecutionCase(algorithm: a, ranks: ranks, count: count, chunkBytes: 64, dataType: type, op: .sum, seed: UInt64(count))
                let r = try check(c)
                #expect(r.wrong == 0, "\(c.testDescription): max abs error \(r.maxAbsError)")
                if type == .int32 { #expect(r.maxAbsError == 0) }
            }
        }
    }

    @Test("property: random ranks, counts, chunk sizes, types and ops", arguments: ExecutionCase.random(60, seed: 0xA11_2ED0CE))
    func property(_ c: ExecutionCase) throws {
        let r = try check(c)
        #expect(r.wrong == 0, "max abs error \(r.maxAbsError), max rel error \(r.maxRelError)")
        // Bytes moved match the schedule's messages.
        #expect(r.statistics.bytesSent == r.statistics.bytesReduced + r.statistics.bytesCopied)
    }

    @Test("every type and operator on 13 ranks", arguments: DataType.allCases, ReductionOp.allCases)
    func typesAndOps(_ t: DataType, _ op: ReductionOp) throws {
        let c = ExecutionCase(algorithm: AlgorithmCase(algorithm: .tree), ranks: 13, count: 1003, chunkBytes: 100, dataType: t, op: op, seed: 7)
        let r = try check(c)
        #expect(r.wrong == 0)
        if !t.isFloatingPoint || op == .min || op == .max { #expect(r.maxAbsError == 0) }
    }

    @Test("float sums differ between algorithms but stay inside the bound")
    func floatOrder() throws {
        var errors: [Double] = []
        for a in [AllreduceAlgorithm.ring, .tree, .rabenseifner, .recursiveDoubling] {
            let c = ExecutionCase(algorithm: AlgorithmCase(algorithm: a), ranks: 24, count: 2000, chunkBytes: 256, dataType: .bfloat16, op: .sum, seed: 3)
            let r = try check(c)
            #expect(r.wrong == 0)
            #expect(r.maxAbsError > 0)  // bfloat16 sums of 24 terms are not exact
            errors.append(r.maxAbsError)
        }
        #expect(Set(errors).count > 1)
    }

    @Test("more workers than cores and than ready transfers", arguments: [3, 8])
    func manyWorkers(_ threads: Int) throws {
        for a in AlgorithmCase.all {
            let c = ExecutionCase(algorithm: a, ranks: 11, count: 997, chunkBytes: 24, dataType: .int64, op: .sum, seed: 9)
            #expect(try check(c, threads: threads).wrong == 0, "\(a.testDescription)")
        }
    }

    @Test("recursive doubling: both partners of every exchange hold the same bits", arguments: [2, 7, 8, 13], [ReductionOp.sum, .min, .avg])
    func recursiveDoublingBitIdentical(ranks p: Int, op: ReductionOp) throws {
        let n = 1001
        let schedule = try RecursiveDoublingSchedule(ScheduleParameters(rankCount: p, elementCount: n, elementSizeBytes: 4, chunkBytes: 512))
        var g = SplitMix64(seed: 42)
        let buffers = (0..<p).map { _ in
            let b = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for i in 0..<n { b[i] = Float.random(in: -1...1, using: &g) * Float(1 << Int.random(in: 0...20, using: &g)) }
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        _ = try InProcessExecutor(threadCount: 2).execute(schedule, buffers: buffers.enumerated().map { RankBuffer(rank: $0.offset, base: UnsafeMutableRawPointer($0.element)) },
                                                           reducer: Reducer(dataType: .float32, op: op))
        for r in 1..<p {
            #expect(memcmp(buffers[0], buffers[r], n * 4) == 0, "rank \(r) differs from rank 0")
        }
    }

    @Test("a single worker plays the schedule too (deterministic)")
    func singleThread() throws {
        let c = ExecutionCase(algorithm: AlgorithmCase(algorithm: .ring), ranks: 7, count: 500, chunkBytes: 40, dataType: .float64, op: .avg, seed: 1)
        #expect(try check(c, threads: 1).wrong == 0)
    }

    @Test("a schedule that reduces where it should copy gives wrong results, and they are counted")
    func brokenScheduleIsCaught() throws {
        let base = try RingSchedule(ScheduleParameters(rankCount: 4, elementCount: 40, elementSizeBytes: 4, chunkBytes: 1 << 20))
        let copy = try #require(base.steps(forRank: 2).firstIndex { $0.kind == .recvCopy })
        let broken = AlteredSchedule(base: base, change: .kind(rank: 2, step: copy, to: .recvReduce))
        let r = try AllreduceCheck(dataType: .int32, op: .sum).run(broken, executor: InProcessExecutor(threadCount: 2))
        #expect(r.wrong > 0)
        #expect(r.maxAbsError > 0)
    }

    @Test("a deadlocking schedule is reported, not hung")
    func deadlock() throws {
        struct Stuck: Schedule {
            var algorithm: AllreduceAlgorithm { .ring }
            var rankCount: Int { 2 }
            var elementCount: Int { 4 }
            func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
                // Both ranks receive first, and send only after the receive completed.
                [Step(kind: .recvReduce, peer: 1 - rank, offset: 0, count: 4),
                 Step(kind: .send, peer: 1 - rank, offset: 0, count: 4, dependencies: StepDependencies(0))].makeIterator()
            }
        }
        #expect(throws: ExecutionError.self) { try AllreduceCheck(dataType: .int8, op: .sum).run(Stuck(), executor: InProcessExecutor(threadCount: 2)) }
    }
}
