import CollectiveCore
import CollectiveKernels
import Testing
import _TestSupport
@testable import CollectiveMPI

/// The parts of the MPI runner that need no MPI: the range bookkeeping of out-of-place runs,
/// the input pattern and its exact reference, the result check, the size list and the
/// configuration fingerprint. The runner itself is tested under mpirun by Scripts/test-mpi.
@Suite("ElementRangeSet")
struct ElementRangeSetTests {
    @Test("a send reads the input until a step wrote its range, then the completed output")
    func sendSource() {
        var written = ElementRangeSet()
        var copied: [Range<Int>] = []
        #expect(!written.sendReadsOutput(10..<20) { copied.append($0) })
        #expect(copied.isEmpty)
        written.insert(12..<14)
        written.insert(16..<18)
        #expect(written.sendReadsOutput(10..<20) { copied.append($0) })
        #expect(copied == [10..<12, 14..<16, 18..<20])
        #expect(written.ranges == [10..<20])
        copied.removeAll()
        written.copyUnwritten(count: 25) { copied.append($0) }
        #expect(copied == [0..<10, 20..<25])
    }

    @Test("a received range reduces into the output where written, input op received elsewhere, and is then written")
    func reduceReceived() {
        var input = [Float](repeating: 0, count: 12), output = [Float](repeating: -1, count: 12)
        for i in 0..<12 { input[i] = Float(i) }
        var written = ElementRangeSet()
        // Elements 4..<6 already hold a partial sum (100); the rest of the output is stale (-1).
        written.insert(4..<6)
        output[4] = 100; output[5] = 100
        let received = [Float](repeating: 1000, count: 6)  // elements 2..<8
        let reducer = Reducer(dataType: .float32, op: .sum)
        input.withUnsafeBytes { i in output.withUnsafeMutableBytes { o in received.withUnsafeBytes { r in
            written.reduceReceived(2..<8, from: r.baseAddress!, reducer: reducer, output: o.baseAddress!, input: i.baseAddress!, elementSize: 4)
        } } }
        #expect(output == [-1, -1, 1002, 1003, 1100, 1100, 1006, 1007, -1, -1, -1, -1])
        #expect(written.ranges == [2..<8])
        // Wholly written now: a second message adds into the output alone.
        input.withUnsafeBytes { i in output.withUnsafeMutableBytes { o in received.withUnsafeBytes { r in
            written.reduceReceived(3..<5, from: r.baseAddress!, reducer: reducer, output: o.baseAddress!, input: i.baseAddress!, elementSize: 4)
        } } }
        #expect(output[2...5] == [1002, 2003, 2100, 1100])
    }

    /// A deterministic generator (xorshift64*), so failures reproduce.
    @Test("matches a Bool-array model under random inserts and queries", arguments: [1, 7, 64, 300])
    func randomAgainstModel(size: Int) {
        var g = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15 ^ UInt64(size))
        var set = ElementRangeSet()
        var model = [Bool](repeating: false, count: size)
        for _ in 0..<400 {
            let a = g.below(size + 1)
            let b = g.below(size + 1)
            let r = min(a, b)..<max(a, b)
            if g.below(3) == 0 {
                set.insert(r)
                for i in r { model[i] = true }
            }
            // Ranges stay sorted, disjoint and non-adjacent.
            for (x, y) in zip(set.ranges, set.ranges.dropFirst()) { #expect(x.upperBound < y.lowerBound) }
            #expect(set.ranges.allSatisfy { !$0.isEmpty })
            #expect(set.contains(r) == r.allSatisfy { model[$0] })
            #expect(set.isDisjoint(with: r) == r.allSatisfy { !model[$0] })
            // coverage: whole (an empty range too), none, or part.
            let expected: Bool? = r.allSatisfy { model[$0] } ? true : r.allSatisfy { !model[$0] } ? false : nil
            #expect(set.coverage(of: r) == expected)
            var covered = r.lowerBound
            set.forEachPiece(of: r) { piece, inside in
                #expect(piece.lowerBound == covered && !piece.isEmpty)
                #expect(piece.allSatisfy { model[$0] == inside })
                covered = piece.upperBound
            }
            #expect(covered == r.upperBound)
        }
    }

    @Test("adjacent inserts merge into one range")
    func merging() {
        var set = ElementRangeSet()
        set.insert(10..<20)
        set.insert(30..<40)
        set.insert(20..<30)
        #expect(set.ranges == [10..<40])
        set.insert(0..<5)
        set.insert(45..<50)
        set.insert(3..<47)
        #expect(set.ranges == [0..<50])
    }

    @Test("each way an insert lands: after the last range, before the first, between two, widening one, merging several")
    func insertCases() {
        var set = ElementRangeSet()
        set.insert(10..<20)
        set.insert(40..<50)
        #expect(set.ranges == [10..<20, 40..<50])
        set.insert(0..<5)
        #expect(set.ranges == [0..<5, 10..<20, 40..<50])
        set.insert(25..<30)
        #expect(set.ranges == [0..<5, 10..<20, 25..<30, 40..<50])
        set.insert(12..<22)
        #expect(set.ranges == [0..<5, 10..<22, 25..<30, 40..<50])
        set.insert(4..<41)
        #expect(set.ranges == [0..<50])
        set.insert(60..<60)
        #expect(set.ranges == [0..<50])
        set.removeAll()
        set.insert(7..<9)
        #expect(set.ranges == [7..<9])
    }
}

@Suite("Input pattern and check")
struct InputPatternTests {
    static let ranks = [1, 2, 3, 5, 13, 32]

    func load(_ p: UnsafeRawPointer, _ i: Int, _ type: DataType) -> Double {
        switch type {
        case .int8: Double(p.load(fromByteOffset: i, as: Int8.self))
        case .uint8: Double(p.load(fromByteOffset: i, as: UInt8.self))
        case .int32: Double(p.load(fromByteOffset: i * 4, as: Int32.self))
        case .uint32: Double(p.load(fromByteOffset: i * 4, as: UInt32.self))
        case .int64: Double(p.load(fromByteOffset: i * 8, as: Int64.self))
        case .uint64: Double(p.load(fromByteOffset: i * 8, as: UInt64.self))
        case .float16: Double(p.load(fromByteOffset: i * 2, as: Float16.self))
        case .bfloat16: Double(BFloat16(bitPattern: p.load(fromByteOffset: i * 2, as: UInt16.self)).floatValue)
        case .float32: Double(p.load(fromByteOffset: i * 4, as: Float.self))
        case .float64: p.load(fromByteOffset: i * 8, as: Double.self)
        }
    }

    @Test("the reference equals the exact integer reduction, for every type, op and rank count",
          arguments: DataType.allCases, ReductionOp.allCases)
    func exactReference(type: DataType, op: ReductionOp) {
        for p in Self.ranks {
            let pattern = AllreduceInputPattern(dataType: type, op: op, rankCount: p)
            let count = 97
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: count * 8, alignment: 64)
            defer { buffer.deallocate() }
            pattern.expected(into: buffer, range: 0..<count)
            for i in 0..<count {
                let values = (0..<p).map { pattern.value(rank: $0, index: i) }
                #expect(values.allSatisfy { abs($0) <= pattern.magnitude })
                var exact: Int
                switch op {
                case .sum, .avg: exact = values.reduce(0, +)
                case .prod: exact = values.reduce(1, *)
                case .min: exact = values.min()!
                case .max: exact = values.max()!
                }
                var expected = Double(exact)
                if op == .avg { expected = type.isFloatingPoint ? Double(exact) / Double(p) : Double(exact / p) }
                let got = load(buffer, i, type)
                if type.isFloatingPoint {
                    // avg divides once, rounding to the type; everything else is exact.
                    let tolerance = op == .avg ? abs(expected) * ResultChecker.machineEpsilon(type) : 0
                    #expect(abs(got - expected) <= tolerance, "\(type) \(op) p=\(p) i=\(i): \(got) vs \(expected)")
                } else {
                    #expect(got == expected, "\(type) \(op) p=\(p) i=\(i): \(got) vs \(expected)")
                }
            }
        }
    }

    @Test("inputs depend on rank and index, without period")
    func inputsVary() {
        let pattern = AllreduceInputPattern(dataType: .float32, op: .sum, rankCount: 4)
        let row0 = (0..<4096).map { pattern.value(rank: 0, index: $0) }
        let row1 = (0..<4096).map { pattern.value(rank: 1, index: $0) }
        #expect(row0 != row1)
        // A block shifted by any offset up to 1024 differs from the original somewhere.
        for shift in 1...1024 { #expect(Array(row0[shift..<(shift + 1024)]) != Array(row0[0..<1024])) }
    }

    @Test("the check counts every spoiled element and forgives rounding within the bound", arguments: DataType.allCases)
    func checker(type: DataType) {
        let p = 5
        let pattern = AllreduceInputPattern(dataType: type, op: .sum, rankCount: p)
        let checker = ResultChecker(pattern: pattern)
        let count = 64
        let a = UnsafeMutableRawPointer.allocate(byteCount: count * 8, alignment: 64)
        let b = UnsafeMutableRawPointer.allocate(byteCount: count * 8, alignment: 64)
        defer { a.deallocate(); b.deallocate() }
        pattern.expected(into: a, range: 0..<count)
        pattern.expected(into: b, range: 0..<count)
        #expect(checker.mismatches(a, b, count: count) == 0)
        for i in [0, 17, 63] {
            let byte = b + i * type.sizeInBytes + type.sizeInBytes - 1
            byte.storeBytes(of: byte.load(as: UInt8.self) ^ 0x40, as: UInt8.self)
        }
        #expect(checker.mismatches(a, b, count: count) == 3)
        if type == .float32 {
            #expect(checker.allowedDifference(near: 1000) > 0)
            #expect(checker.allowedDifference(near: 1000) < 0.01)
            // One ulp of difference on a value of magnitude ~p*m is within the bound.
            a.storeBytes(of: Float(1000), as: Float.self)
            b.storeBytes(of: Float(1000).nextUp, as: Float.self)
            #expect(checker.mismatches(a, b, count: 1) == 0)
            b.storeBytes(of: Float(1001), as: Float.self)
            #expect(checker.mismatches(a, b, count: 1) == 1)
            a.storeBytes(of: Float.nan, as: Float.self)
            b.storeBytes(of: Float.nan, as: Float.self)
            #expect(checker.mismatches(a, b, count: 1) == 0)
        }
    }
}

/// What a reduce-scatter or an all-gather under mpirun is checked against, without MPI.
@Suite("Reduce-scatter and all-gather references")
struct CollectiveReferenceTests {
    @Test("all-gather's reference is each shard's owner's input, over any range; reduce-scatter's is the reduction",
          arguments: [1, 2, 3, 5])
    func references(ranks: Int) {
        let count = 1001
        let pattern = AllreduceInputPattern(dataType: .int32, op: .sum, rankCount: ranks)
        let shards = Collective.shards(elementCount: count, rankCount: ranks)
        var got = [Int32](repeating: 0, count: count)
        var reduced = [Int32](repeating: 0, count: count)
        reduced.withUnsafeMutableBytes { pattern.expected(into: $0.baseAddress!, range: 0..<count) }
        for range in [0..<count, 3..<997, 400..<401, 0..<0] {
            got.withUnsafeMutableBytes { pattern.expected(into: $0.baseAddress!, range: range, collective: .allGather, elementCount: count) }
            for (k, i) in range.enumerated() {
                #expect(Int(got[k]) == pattern.value(rank: shards.block(containing: i), index: i), "p=\(ranks) i=\(i)")
            }
            got.withUnsafeMutableBytes { pattern.expected(into: $0.baseAddress!, range: range, collective: .reduceScatter, elementCount: count) }
            #expect(Array(got[0..<range.count]) == Array(reduced[range]))
        }
        // With more than one rank the gathered buffer is not any one rank's input.
        if ranks > 1 {
            got.withUnsafeMutableBytes { pattern.expected(into: $0.baseAddress!, range: 0..<count, collective: .allGather, elementCount: count) }
            #expect((0..<ranks).allSatisfy { r in (0..<count).contains { Int(got[$0]) != pattern.value(rank: r, index: $0) } })
        }
    }

    @Test("the MPI baseline's name: the block forms when the ranks divide the count, the general forms otherwise")
    func mpiNames() {
        #expect(Collective.allreduce.mpiFunctionName(evenShards: false) == "MPI_Allreduce")
        #expect(Collective.reduceScatter.mpiFunctionName(evenShards: true) == "MPI_Reduce_scatter_block")
        #expect(Collective.reduceScatter.mpiFunctionName(evenShards: false) == "MPI_Reduce_scatter")
        #expect(Collective.allGather.mpiFunctionName(evenShards: true) == "MPI_Allgather")
        #expect(Collective.allGather.mpiFunctionName(evenShards: false) == "MPI_Allgatherv")
    }
}

@Suite("Run configuration")
struct RunConfigurationTests {
    @Test("sizes follow nccl-tests: -f multiplies, -i adds, rounded to whole elements")
    func sizes() throws {
        #expect(try MPIRunConfiguration.sizes(minBytes: 8, maxBytes: 256, factor: 2, stepBytes: 0, elementSize: 4) == [8, 16, 32, 64, 128, 256])
        #expect(try MPIRunConfiguration.sizes(minBytes: 0, maxBytes: 4004, factor: 1, stepBytes: 1001, elementSize: 4) == [0, 1000, 2000, 3000, 4004])
        #expect(try MPIRunConfiguration.sizes(minBytes: 0, maxBytes: 16, factor: 4, stepBytes: 0, elementSize: 2) == [0, 2, 8])
        #expect(try MPIRunConfiguration.sizes(minBytes: 7, maxBytes: 7, factor: 2, stepBytes: 0, elementSize: 8) == [0])
        #expect(throws: MPIRunError.self) { try MPIRunConfiguration.sizes(minBytes: 9, maxBytes: 8, factor: 2, stepBytes: 0, elementSize: 4) }
        #expect(throws: MPIRunError.self) { try MPIRunConfiguration.sizes(minBytes: 0, maxBytes: 1 << 30, factor: 1, stepBytes: 1, elementSize: 1) }
        #expect(throws: MPIRunError.self) { try MPIRunConfiguration.sizes(minBytes: 1, maxBytes: 8, factor: 1, stepBytes: 0, elementSize: 1) }
    }

    @Test("a traced rank keeps at most --trace's step limit, fewer when rank 0's gather would pass MPI's int count")
    func traceRecordLimit() {
        var c = MPIRunConfiguration(
            sizesBytes: [8], dataType: .float32, op: .sum, algorithms: [.schedule(.ring)],
            iterationPlan: .uniform(iterations: 1, warmupIterations: 0), check: false, chunkBytes: 1 << 20)
        c.traceRanks = 64
        #expect(c.traceRecordLimit(rankCount: 8) == c.traceStepsPerRank)
        c.traceStepsPerRank = 1 << 30
        for ranks in [1, 64, 4096] {
            let traced = TraceRankSampling(rankCount: ranks, limit: 64).tracedCount
            let bytes = c.traceRecordLimit(rankCount: ranks) * MemoryLayout<StepTimelineRecord>.stride * traced
            #expect(bytes <= Int(Int32.max) && bytes > Int(Int32.max) / 2)
        }
    }

    @Test("the fingerprint changes with every field")
    func fingerprint() {
        let base = MPIRunConfiguration(
            sizesBytes: [8, 16], dataType: .float32, op: .sum, algorithms: [.schedule(.ring), .mpiLibrary],
            iterationPlan: .uniform(iterations: 20, warmupIterations: 5), check: true, chunkBytes: 1 << 20)
        var variants: [MPIRunConfiguration] = []
        var v = base; v.sizesBytes = [8, 32]; variants.append(v)
        v = base; v.dataType = .int32; variants.append(v)
        v = base; v.op = .max; variants.append(v)
        v = base; v.algorithms = [.schedule(.ring)]; variants.append(v)
        v = base; v.iterationPlan.iterations = 21; variants.append(v)
        v = base; v.iterationPlan.warmupIterations = 4; variants.append(v)
        v = base; v.iterationPlan.iterationsLarge = 21; variants.append(v)
        v = base; v.iterationPlan.warmupIterationsLarge = 4; variants.append(v)
        v = base; v.iterationPlan.largeThresholdBytes = 4096; variants.append(v)
        v = base; v.rounds = 3; variants.append(v)
        v = base; v.check = false; variants.append(v)
        v = base; v.chunkBytes = 1 << 19; variants.append(v)
        v = base; v.transport = .shm; variants.append(v)
        v = base; v.killRank = 1; variants.append(v)
        v = base; v.traceRanks = 64; variants.append(v)
        v = base; v.collective = .reduceScatter; variants.append(v)
        v = base; v.collective = .allGather; variants.append(v)
        for variant in variants { #expect(variant.fingerprint != base.fingerprint) }
        #expect(base.fingerprint == MPIRunConfiguration(
            sizesBytes: [8, 16], dataType: .float32, op: .sum, algorithms: [.schedule(.ring), .mpiLibrary],
            iterationPlan: .uniform(iterations: 20, warmupIterations: 5), check: true, chunkBytes: 1 << 20).fingerprint)
        // FNV-1a reference values.
        #expect(fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
    }

    @Test("memory estimate counts the reference only when checking")
    func memory() {
        var c = MPIRunConfiguration(sizesBytes: [1 << 20], dataType: .float32, op: .sum, algorithms: [.mpiLibrary],
                                    iterationPlan: .uniform(iterations: 1, warmupIterations: 0), check: true, chunkBytes: 1 << 20)
        #expect(c.bytesPerRank(forSize: 1 << 20) == 4 << 20)
        c.check = false
        #expect(c.bytesPerRank(forSize: 1 << 20) == 3 << 20)
        #expect(c.bytesPerRank(forSize: Int.max / 2) == Int.max)
        #expect(SystemMemory.parseMemAvailable("MemTotal: 100 kB\nMemAvailable:    2048 kB\n") == 2048 * 1024)
    }
}

/// How `allreduce mpi` measures: OSU's iteration counts per size, the alternating block order,
/// and the statistics over ranks. No timing here: only the arithmetic and the order.
@Suite("MPI measurement")
struct MPIMeasurementTests {
    @Test("no count given: OSU's 1000/100 up to 8192 bytes, 100/10 above")
    func osuDefaults() throws {
        let plan = try MPIIterationPlan.resolve(iterations: nil, warmupIterations: nil, iterationsLarge: nil, warmupIterationsLarge: nil)
        for size in [0, 8, 4096, 8192] {
            #expect(plan.iterations(forSizeBytes: size) == 1000)
            #expect(plan.warmupIterations(forSizeBytes: size) == 100)
        }
        for size in [8193, 16384, 64 << 20] {
            #expect(plan.iterations(forSizeBytes: size) == 100)
            #expect(plan.warmupIterations(forSizeBytes: size) == 10)
        }
        #expect(MPIIterationPlan.osuLargeMessageThresholdBytes == 8192)
    }

    @Test("-n and -w alone apply to every size (nccl-tests' meaning)")
    func explicitCountsEverywhere() throws {
        let plan = try MPIIterationPlan.resolve(iterations: 20, warmupIterations: 5, iterationsLarge: nil, warmupIterationsLarge: nil)
        for size in [8, 8192, 8193, 1 << 30] {
            #expect(plan.iterations(forSizeBytes: size) == 20)
            #expect(plan.warmupIterations(forSizeBytes: size) == 5)
        }
        #expect(plan == .uniform(iterations: 20, warmupIterations: 5))
        #expect(plan.summary == "20 timed iterations after 5 warm-up at every size")
    }

    @Test("the large options set the sizes above the threshold, alone or beside -n and -w")
    func largeOptions() throws {
        let both = try MPIIterationPlan.resolve(iterations: 50, warmupIterations: 7, iterationsLarge: 3, warmupIterationsLarge: 0)
        #expect(both.iterations(forSizeBytes: 8192) == 50 && both.warmupIterations(forSizeBytes: 8192) == 7)
        #expect(both.iterations(forSizeBytes: 8193) == 3 && both.warmupIterations(forSizeBytes: 8193) == 0)
        let largeOnly = try MPIIterationPlan.resolve(iterations: nil, warmupIterations: nil, iterationsLarge: 30, warmupIterationsLarge: nil)
        #expect(largeOnly.iterations(forSizeBytes: 8) == 1000 && largeOnly.warmupIterations(forSizeBytes: 8) == 100)
        #expect(largeOnly.iterations(forSizeBytes: 1 << 20) == 30 && largeOnly.warmupIterations(forSizeBytes: 1 << 20) == 10)
        let nOnly = try MPIIterationPlan.resolve(iterations: 40, warmupIterations: nil, iterationsLarge: nil, warmupIterationsLarge: 2)
        #expect(nOnly.iterations(forSizeBytes: 1 << 20) == 40 && nOnly.warmupIterations(forSizeBytes: 1 << 20) == 2)
        #expect(nOnly.warmupIterations(forSizeBytes: 8) == 100)
    }

    @Test("counts out of range are one-line errors naming the option")
    func badCounts() {
        func reason(_ n: Int?, _ w: Int?, _ nl: Int?, _ wl: Int?) -> String? {
            do {
                _ = try MPIIterationPlan.resolve(iterations: n, warmupIterations: w, iterationsLarge: nl, warmupIterationsLarge: wl)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(reason(0, nil, nil, nil) == "-n (iterations) must be at least 1, got 0")
        #expect(reason(nil, -1, nil, nil) == "-w (warm-up iterations) must not be negative, got -1")
        #expect(reason(nil, nil, 0, nil) == "--iterations-large must be at least 1, got 0")
        #expect(reason(nil, nil, nil, -3) == "--warmup-large must not be negative, got -3")
        #expect(reason(1, 0, 1, 0) == nil)
        for r in [reason(0, nil, nil, nil), reason(nil, nil, nil, -3)] { #expect(r?.contains("\n") == false) }
    }

    @Test("two rounds give A B B A; more rounds keep alternating")
    func blockOrder() {
        let two = mpiTimedBlocks(algorithmCount: 2, iterations: 10, rounds: 2)
        #expect(two.map(\.algorithm) == [0, 1, 1, 0])
        #expect(two.map(\.iterations) == [5, 5, 5, 5])
        let three = mpiTimedBlocks(algorithmCount: 3, iterations: 7, rounds: 3)
        #expect(three.map(\.algorithm) == [0, 1, 2, 2, 1, 0, 0, 1, 2])
        // 7 over 3 blocks: 3, 2, 2, the first block taking the remainder.
        #expect(three.map(\.iterations) == [3, 3, 3, 2, 2, 2, 2, 2, 2])
        #expect(mpiTimedBlocks(algorithmCount: 3, iterations: 5, rounds: 1).map(\.algorithm) == [0, 1, 2])
    }

    @Test("one algorithm alone is one block, as OSU times it, whatever the rounds")
    func singleAlgorithmBlock() {
        #expect(mpiTimedBlocks(algorithmCount: 1, iterations: 1000, rounds: 2) == [MPITimedBlock(algorithm: 0, iterations: 1000)])
        #expect(mpiTimedBlocks(algorithmCount: 1, iterations: 100, rounds: 7) == [MPITimedBlock(algorithm: 0, iterations: 100)])
        #expect(mpiTimedBlocks(algorithmCount: 2, iterations: 100, rounds: 2).count == 4)
    }

    @Test("every algorithm gets exactly its timed iterations, in no more blocks than iterations",
          arguments: [(1, 1, 2), (2, 1, 2), (4, 3, 2), (6, 1000, 2), (6, 100, 7), (1, 5, 9)])
    func blockTotals(algorithms: Int, iterations: Int, rounds: Int) {
        let blocks = mpiTimedBlocks(algorithmCount: algorithms, iterations: iterations, rounds: rounds)
        for a in 0..<algorithms {
            let mine = blocks.filter { $0.algorithm == a }
            #expect(mine.reduce(0) { $0 + $1.iterations } == iterations)
            #expect(mine.count == (algorithms == 1 ? 1 : min(rounds, iterations)))
            #expect(mine.allSatisfy { $0.iterations >= 1 })
        }
        #expect(mpiTimedBlocks(algorithmCount: algorithms, iterations: 0, rounds: rounds).isEmpty)
        #expect(mpiTimedBlocks(algorithmCount: 0, iterations: iterations, rounds: rounds).isEmpty)
    }

    @Test("average, min and max over the ranks' mean time per call")
    func statistics() {
        #expect(MPILatencyStatistics.perCallSeconds(totalSeconds: 2e-3, iterations: 1000) == 2e-6)
        #expect(MPILatencyStatistics.perCallSeconds(totalSeconds: 1, iterations: 0) == 0)
        let s = MPILatencyStatistics(perRankSeconds: [1e-6, 4e-6, 1e-6])
        #expect(abs(s.averageMicroseconds - 2) < 1e-9)
        #expect(abs(s.minimumMicroseconds - 1) < 1e-9)
        #expect(abs(s.maximumMicroseconds - 4) < 1e-9)
        // Equal ranks: the average never leaves [min, max] by rounding.
        let same = MPILatencyStatistics(perRankSeconds: Array(repeating: 0.1 + 0.2, count: 7))
        #expect(same.minimumMicroseconds <= same.averageMicroseconds && same.averageMicroseconds <= same.maximumMicroseconds)
        #expect(MPILatencyStatistics(perRankSeconds: []) == MPILatencyStatistics(averageMicroseconds: 0, minimumMicroseconds: 0, maximumMicroseconds: 0))
    }

    @Test("oversubscribed when the node's ranks outnumber its online CPUs")
    func oversubscription() {
        #expect(!mpiIsOversubscribed(localRanks: 2, onlineCPUs: 2))
        #expect(mpiIsOversubscribed(localRanks: 3, onlineCPUs: 2))
        #expect(mpiIsOversubscribed(localRanks: 2, onlineCPUs: 0))
        #expect(!mpiIsOversubscribed(localRanks: 1, onlineCPUs: -1))
    }
}
