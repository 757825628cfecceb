import CollectiveKernels
import Testing
@testable import CollectiveCore

/// Reduce-scatter and all-gather schedules: played symbolically by the verifier and on real data
/// by the in-process executor, over Gloo's rank counts and sizes, with exact answers.
@Suite("Reduce-scatter and all-gather")
struct ReduceScatterAllGatherTests {
    /// Gloo's test rank counts (gloo/test/allreduce_test.cc) up to 13, then 16, 24, 32.
    static let ranks = Array(1...13) + [16, 24, 32]
    static let collectives: [Collective] = [.reduceScatter, .allGather]

    /// The schedules under test: ring, rabenseifner, nccl-ring with 1 and 3 channels on nodes of
    /// up to 4 ranks, nccl-pat.
    static func schedules(_ collective: Collective, ranks p: Int, count n: Int, chunkBytes: Int = 8) throws -> [any Schedule] {
        var out: [any Schedule] = []
        for (algorithm, channels) in [(AllreduceAlgorithm.ring, 1), (.rabenseifner, 1), (.ncclRing, 1), (.ncclRing, 3), (.ncclPAT, 1)] {
            let params = ScheduleParameters(rankCount: p, elementCount: n, elementSizeBytes: 4, chunkBytes: chunkBytes,
                                            ranksPerNode: min(p, 4), channelCount: channels, collective: collective)
            out.append(try algorithm.makeSchedule(params))
        }
        return out
    }

    @Test("The verifier accepts every schedule: ranks {1...13, 16, 24, 32} x sizes {0, 1, p-1, p, 2p+3, 1000}",
          arguments: collectives)
    func verifies(_ collective: Collective) throws {
        for p in Self.ranks {
            for n in Set([0, 1, max(0, p - 1), p, 2 * p + 3, 1000]).sorted() {
                for s in try Self.schedules(collective, ranks: p, count: n) {
                    #expect(s.collective == collective)
                    let summary = try ScheduleVerifier().verify(s)
                    // Each rank sends (p-1) shards' worth at the least; ring and its channels exactly
                    // that, from the largest shard; PAT p - 1 shards (an all-gather's rank sends its
                    // own shard once per round).
                    if s.algorithm == .ncclPAT && p > 1 {
                        #expect(summary.maxElementsSentPerRank <= (p - 1) * Collective.shards(elementCount: n, rankCount: p).maxSize)
                    } else if s.algorithm != .rabenseifner && p > 1 {
                        #expect(summary.maxElementsSentPerRank == (p - 1) * Collective.shards(elementCount: n, rankCount: p).maxSize
                                || summary.maxElementsSentPerRank <= n, "\(s.algorithm) p=\(p) n=\(n)")
                    }
                }
            }
        }
    }

    @Test("Real data, exact answers: int32 sums (rank r holds r+1 everywhere) and float32 sums",
          arguments: collectives)
    func realData(_ collective: Collective) throws {
        for p in Self.ranks {
            for n in Set([0, 1, p, 3 * p + 1, 257]).sorted() {
                for s in try Self.schedules(collective, ranks: p, count: n) {
                    // Rank r holds r+1 everywhere: a reduce-scatter leaves p(p+1)/2 in rank r's
                    // shard; an all-gather leaves (owner + 1) at every element of every rank.
                    let shards = Collective.shards(elementCount: n, rankCount: p)
                    let buffers = (0..<p).map { r in
                        let b = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
                        b.initialize(repeating: Int32(r + 1), count: max(n, 1))
                        return b
                    }
                    defer { for b in buffers { b.deallocate() } }
                    _ = try InProcessExecutor(threadCount: 2).execute(s, buffers: buffers.enumerated().map { RankBuffer(rank: $0.offset, base: UnsafeMutableRawPointer($0.element)) },
                                                                      reducer: Reducer(dataType: .int32, op: .sum))
                    for r in 0..<p {
                        for i in collective.resultRange(rank: r, elementCount: n, rankCount: p) {
                            let want = collective == .reduceScatter ? Int32(p * (p + 1) / 2) : Int32(shards.block(containing: i) + 1)
                            #expect(buffers[r][i] == want, "\(s.algorithm) \(collective) p=\(p) n=\(n) rank \(r) element \(i)")
                        }
                    }
                    let checked = try AllreduceCheck(dataType: .float32, op: .sum, seed: UInt64(p * 1000 + n)).run(s, executor: InProcessExecutor(threadCount: 2))
                    #expect(checked.wrong == 0, "\(s.algorithm) \(collective) p=\(p) n=\(n)")
                }
            }
        }
    }

    @Test("avg divides only the reduce-scatter's shard; an all-gather copies bits exactly (bfloat16, float16)")
    func averagesAndCopies() throws {
        for p in [3, 8, 13] {
            for s in try Self.schedules(.reduceScatter, ranks: p, count: 4 * p + 1) {
                #expect(try AllreduceCheck(dataType: .float64, op: .avg).run(s, executor: InProcessExecutor(threadCount: 2)).wrong == 0)
            }
            for type in [DataType.bfloat16, .float16, .int8] {
                for s in try Self.schedules(.allGather, ranks: p, count: 4 * p + 1) {
                    let r = try AllreduceCheck(dataType: type, op: .avg).run(s, executor: InProcessExecutor(threadCount: 2))
                    #expect(r.wrong == 0 && r.maxAbsError == 0)
                }
            }
        }
    }

    @Test("A reduce-scatter is not an allreduce: checked as one, ranks miss the other shards")
    func resultsDiffer() throws {
        let rs = try AllreduceAlgorithm.ring.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 16, elementSizeBytes: 4, collective: .reduceScatter))
        let ag = try AllreduceAlgorithm.ring.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 16, elementSizeBytes: 4, collective: .allGather))
        #expect(throws: ScheduleError.self) { try ScheduleVerifier().verify(As(base: rs, collective: .allreduce)) }
        #expect(throws: ScheduleError.self) { try ScheduleVerifier().verify(As(base: ag, collective: .allreduce)) }
        // An allreduce played as an all-gather reduces, which an all-gather never does.
        let ar = try AllreduceAlgorithm.ring.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 16, elementSizeBytes: 4))
        #expect(throws: ScheduleError.self) { try ScheduleVerifier().verify(As(base: ar, collective: .allGather)) }
        // The all-gather's second half alone does not gather.
        #expect(throws: ScheduleError.self) { try ScheduleVerifier().verify(As(base: rs, collective: .allGather)) }
    }

    @Test("Ring halves are the allreduce's steps: reduce-scatter + all-gather send what the ring allreduce sends")
    func halvesAddUp() throws {
        for p in [2, 5, 8] {
            let params = ScheduleParameters(rankCount: p, elementCount: 12 * p, elementSizeBytes: 4, chunkBytes: 16)
            var rs = params, ag = params
            rs.collective = .reduceScatter
            ag.collective = .allGather
            for a in [AllreduceAlgorithm.ring, .ncclRing] {
                let whole = try ScheduleVerifier().verify(try a.makeSchedule(params))
                let first = try ScheduleVerifier().verify(try a.makeSchedule(rs))
                let second = try ScheduleVerifier().verify(try a.makeSchedule(ag))
                #expect(first.stepCount + second.stepCount == whole.stepCount)
                #expect(first.maxElementsSentPerRank + second.maxElementsSentPerRank == whole.maxElementsSentPerRank)
            }
        }
    }

    @Test("Algorithms without a reduce-scatter or an all-gather say so", arguments: collectives)
    func unsupported(_ collective: Collective) {
        for a in AllreduceAlgorithm.allCases where !a.supports(collective) {
            #expect(throws: ScheduleError.self) {
                try a.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 16, elementSizeBytes: 4, ranksPerNode: 2, collective: collective))
            }
        }
        #expect(AllreduceAlgorithm.supporting(collective) == [.ring, .rabenseifner, .ncclRing, .ncclPAT])
        #expect(Collective(name: "Reduce_Scatter") == .reduceScatter && Collective(name: "all-gather") == .allGather && Collective(name: "gather") == nil)
        #expect(Collective.allreduce.busBandwidthFactor(ranks: 8) == 1.75 && collective.busBandwidthFactor(ranks: 8) == 0.875)
    }
}

/// The operator's final step on what each collective leaves (``Collective/finalize(_:buffer:rank:elementCount:rankCount:)``).
@Suite("Collective finalize")
struct CollectiveFinalizeTests {
    @Test("avg divides the allreduce's whole buffer, the reduce-scatter's own shard only, and nothing of an all-gather")
    func avgDividesTheResultOnly() {
        let reducer = Reducer(dataType: .int32, op: .avg)
        let count = 10, ranks = 3  // shards 4, 3, 3: rank 1 holds 4..<7
        for collective in Collective.allCases {
            var values = [Int32](repeating: 6, count: count)
            values.withUnsafeMutableBytes { collective.finalize(reducer, buffer: $0.baseAddress!, rank: 1, elementCount: count, rankCount: ranks) }
            let divided = values.indices.filter { values[$0] == 2 }
            switch collective {
            case .allreduce: #expect(divided == Array(0..<10))
            case .reduceScatter: #expect(divided == [4, 5, 6])
            case .allGather: #expect(divided.isEmpty)
            }
            #expect(values.allSatisfy { $0 == 2 || $0 == 6 })
        }
        // sum has no final step.
        var values = [Int32](repeating: 6, count: count)
        values.withUnsafeMutableBytes { Collective.allreduce.finalize(Reducer(dataType: .int32, op: .sum), buffer: $0.baseAddress!, rank: 0, elementCount: count, rankCount: ranks) }
        #expect(values.allSatisfy { $0 == 6 })
    }

    @Test("requireSupport names the algorithms that build the collective")
    func requireSupport() {
        #expect(throws: ScheduleError.invalidParameter("tree builds no all-gather; it is built by ring, rabenseifner, nccl-ring, nccl-pat")) {
            try AllreduceAlgorithm.tree.requireSupport(.allGather)
        }
        #expect(throws: Never.self) { try AllreduceAlgorithm.tree.requireSupport(.allreduce) }
        #expect(throws: Never.self) { try AllreduceAlgorithm.rabenseifner.requireSupport(.reduceScatter) }
    }
}

/// A schedule's steps, claimed to compute another collective.
struct As: Schedule {
    var base: any Schedule
    var collective: Collective
    var algorithm: AllreduceAlgorithm { base.algorithm }
    var rankCount: Int { base.rankCount }
    var elementCount: Int { base.elementCount }
    func makeSteps(forRank rank: Int) -> _AnySteps { _AnySteps(base: base.makeSteps(forRank: rank)) }
}

@Suite("Bandwidths as nccl-tests reports them")
struct CollectiveBandwidthTests {
    @Test("algbw = bytes / time in GB/s; busbw = algbw x 2(n-1)/n for allreduce, (n-1)/n for the others; 0 without time or peers")
    func bandwidths() {
        #expect(Collective.algorithmBandwidthGBps(bytes: 1_000_000_000, seconds: 0.5) == 2)
        #expect(Collective.algorithmBandwidthGBps(bytes: 1 << 20, seconds: 0) == 0)
        #expect(abs(Collective.allreduce.busBandwidthGBps(bytes: 8_000_000_000, seconds: 1, ranks: 8) - 14) < 1e-12)
        #expect(abs(Collective.reduceScatter.busBandwidthGBps(bytes: 8_000_000_000, seconds: 1, ranks: 8) - 7) < 1e-12)
        #expect(abs(Collective.allGather.busBandwidthGBps(bytes: 4_000_000_000, seconds: 2, ranks: 4) - 1.5) < 1e-12)
        #expect(Collective.allreduce.busBandwidthGBps(bytes: 1 << 20, seconds: 1, ranks: 1) == 0)
    }
}
