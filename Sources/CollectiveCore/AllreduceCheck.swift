import CollectiveKernels

/// Runs a schedule on real data with an executor and checks every rank's result.
///
/// **Data.** Rank r's element i is drawn from a SplitMix64 stream keyed by (seed, r, i), so the
/// values differ between ranks and between neighbouring elements and a misplaced range cannot
/// cancel out. Integers take the whole range of their type (odd values for `prod`, so a product
/// never collapses to 0 modulo 2^bits). Floating-point values for `sum` and `avg` are positive,
/// with a significand in [1, 2) scaled by 2^-4, 2^-2, 1, 4 or 16 depending on i mod 5, so a
/// neighbour's value is off by a factor of 4 or more; for `prod` they lie in [1 - 1/32, 1 + 1/32];
/// for `min` and `max` they take both signs.
///
/// **Reference.** Integer results are exact in any order (wrapping sums and products are
/// associative and commutative modulo 2^bits; `avg` divides the wrapped sum by p, truncating, as
/// the kernels do) and must match exactly. Floating-point results are compared with a float64
/// reference (compensated summation), and an element is wrong when its error exceeds
/// ``errorBound(dataType:op:ranks:sumOfMagnitudes:reference:)``: a sum of p terms computed in
/// any order with unit roundoff u is off by at most gamma(p-1) * sum |x_i|, where
/// gamma(n) = n u / (1 - n u) (Higham, Accuracy and Stability of Numerical Algorithms, 2002,
/// section 4.2). The bound grows with p; algorithms add in different orders and so give
/// different results inside it, which `maxAbsError` and `maxRelError` report.
///
/// Every rank must also end with the same bits as rank 0 (an allreduce gives all ranks one
/// result); an element that differs is counted wrong.
///
/// **Other collectives** (``Schedule/collective``): a reduce-scatter is checked on each rank's
/// own shard only, against the same reference; an all-gather must leave every element of every
/// rank with exactly the value its shard owner started with (every rank's buffer is filled, so an
/// element that is never copied keeps another rank's value and is counted wrong).
public struct AllreduceCheck: Sendable {
    public var dataType: DataType
    public var op: ReductionOp
    public var seed: UInt64

    public init(dataType: DataType, op: ReductionOp, seed: UInt64 = 1) {
        self.dataType = dataType
        self.op = op
        self.seed = seed
    }

    /// The outcome of one checked run.
    public struct Result: Sendable, Hashable {
        /// (rank, element) pairs outside the bound, or differing from rank 0.
        public var wrong: Int
        /// Largest |result - reference| over every rank and element.
        public var maxAbsError: Double
        /// Largest |result - reference| / |reference| (reference != 0).
        public var maxRelError: Double
        /// What the executor did; `statistics.seconds` is the time of the allreduce alone.
        public var statistics: ExecutionStatistics
    }

    /// Unit roundoff of a floating-point type's arithmetic in the kernels. Half-precision sums
    /// are computed in `Float` and rounded back, which can add up to 2^-24 relative.
    public static func unitRoundoff(_ t: DataType) -> Double {
        switch t {
        case .float16: 0x1p-11 + 0x1p-24
        case .bfloat16: 0x1p-8 + 0x1p-24
        case .float32: 0x1p-24
        case .float64: 0x1p-53
        default: 0
        }
    }

    /// The largest error allowed for one element of a floating-point result: `sum`:
    /// gamma(p-1) * sum|x| ; `avg`: that over p plus one rounding of the division; `prod`:
    /// gamma(p-1) * |reference|; `min`, `max`: 0 (exact). Plus 2^-52 |reference| for the
    /// reference's own error. Infinite (no check) when (p-1) u >= 1.
    public static func errorBound(dataType: DataType, op: ReductionOp, ranks: Int, sumOfMagnitudes: Double, reference: Double) -> Double {
        let u = unitRoundoff(dataType)
        let nu = Double(ranks - 1) * u
        let gamma = nu < 1 ? nu / (1 - nu) : Double.infinity
        let slack = 0x1p-52 * abs(reference)
        switch op {
        case .sum: return gamma * sumOfMagnitudes + slack
        case .avg: return gamma * sumOfMagnitudes / Double(ranks) + u * abs(reference) + slack
        case .prod: return gamma * abs(reference) + slack
        case .min, .max: return 0
        }
    }

    /// Fills p buffers, plays `schedule` with `executor`, and checks the results.
    public func run<S: Schedule, E: ScheduleExecutor>(_ schedule: S, executor: E) throws(ExecutionError) -> Result {
        switch dataType {
        case .int8: return try _runInteger(Int8.self, schedule, executor)
        case .uint8: return try _runInteger(UInt8.self, schedule, executor)
        case .int32: return try _runInteger(Int32.self, schedule, executor)
        case .uint32: return try _runInteger(UInt32.self, schedule, executor)
        case .int64: return try _runInteger(Int64.self, schedule, executor)
        case .uint64: return try _runInteger(UInt64.self, schedule, executor)
        case .float16: return try _runFloat(Float16.self, schedule, executor)
        case .bfloat16: return try _runFloat(BFloat16.self, schedule, executor)
        case .float32: return try _runFloat(Float.self, schedule, executor)
        case .float64: return try _runFloat(Double.self, schedule, executor)
        }
    }

    /// SplitMix64 of (seed, rank, index).
    @inline(__always)
    func _random(_ rank: Int, _ index: Int) -> UInt64 {
        var z = seed &+ UInt64(truncatingIfNeeded: rank) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Allocates p buffers of `count` elements of `T`, fills them with `value(rank, index)`.
    func _buffers<T>(_ type: T.Type, ranks p: Int, count: Int, _ value: (Int, Int) -> T) -> [UnsafeMutablePointer<T>] {
        (0..<p).map { r in
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * MemoryLayout<T>.stride), alignment: 64)
            let b = raw.bindMemory(to: T.self, capacity: max(1, count))
            for i in 0..<count { (b + i).initialize(to: value(r, i)) }
            return b
        }
    }

    func _execute<S: Schedule, E: ScheduleExecutor, T>(_ schedule: S, _ executor: E, _ buffers: [UnsafeMutablePointer<T>]) throws(ExecutionError) -> ExecutionStatistics {
        let rankBuffers = buffers.enumerated().map { RankBuffer(rank: $0.offset, base: UnsafeMutableRawPointer($0.element)) }
        return try executor.execute(schedule, buffers: rankBuffers, reducer: Reducer(dataType: dataType, op: op))
    }

    func _runInteger<T: FixedWidthInteger, S: Schedule, E: ScheduleExecutor>(_: T.Type, _ schedule: S, _ executor: E) throws(ExecutionError) -> Result {
        let p = schedule.rankCount, n = schedule.elementCount
        let buffers = _buffers(T.self, ranks: p, count: n) { r, i in
            let bits = _random(r, i)
            return T(truncatingIfNeeded: op == .prod ? bits | 1 : bits)
        }
        defer { for b in buffers { b.deinitialize(count: n); UnsafeMutableRawPointer(b).deallocate() } }
        let collective = schedule.collective
        let shards = Collective.shards(elementCount: n, rankCount: p)
        var reference = [T](repeating: 0, count: n)
        for i in 0..<n {
            if collective == .allGather { reference[i] = buffers[shards.block(containing: i)][i]; continue }
            var acc = buffers[0][i]
            for r in 1..<max(p, 1) {
                let x = buffers[r][i]
                switch op {
                case .sum, .avg: acc = acc &+ x
                case .prod: acc = acc &* x
                case .min: acc = Swift.min(acc, x)
                case .max: acc = Swift.max(acc, x)
                }
            }
            if op == .avg {
                acc = T.isSigned ? T(truncatingIfNeeded: Int64(acc) / Int64(p)) : T(truncatingIfNeeded: UInt64(acc) / UInt64(p))
            }
            reference[i] = acc
        }
        let stats = try _execute(schedule, executor, buffers)
        var result = Result(wrong: 0, maxAbsError: 0, maxRelError: 0, statistics: stats)
        for r in 0..<p {
            for i in collective.resultRange(rank: r, elementCount: n, rankCount: p) {
                let got = buffers[r][i], want = reference[i]
                if got != want || (collective == .allreduce && got != buffers[0][i]) {
                    result.wrong += 1
                    let err = abs(Double(got) - Double(want))
                    result.maxAbsError = max(result.maxAbsError, err)
                    if want != 0 { result.maxRelError = max(result.maxRelError, err / abs(Double(want))) }
                }
            }
        }
        return result
    }

    func _runFloat<T: _CheckFloat, S: Schedule, E: ScheduleExecutor>(_: T.Type, _ schedule: S, _ executor: E) throws(ExecutionError) -> Result {
        let p = schedule.rankCount, n = schedule.elementCount
        // Keep half-precision sums of p terms of up to 32 below float16's largest finite value.
        var scale = 1.0
        if dataType == .float16 { while Double(p) * 32 * scale > 60000 { scale /= 2 } }
        let buffers = _buffers(T.self, ranks: p, count: n) { r, i in
            let bits = _random(r, i)
            let unit = Double(bits >> 11) * 0x1p-53  // [0, 1)
            let magnitude = Double(sign: .plus, exponent: 2 * (i % 5) - 4, significand: 1)
            switch op {
            case .sum, .avg: return T(checkValue: (1 + unit) * magnitude * scale)
            case .prod: return T(checkValue: 1 + (unit - 0.5) / 16)
            case .min, .max: return T(checkValue: (unit - 0.5) * 4 * magnitude)
            }
        }
        defer { for b in buffers { b.deinitialize(count: n); UnsafeMutableRawPointer(b).deallocate() } }
        let collective = schedule.collective
        let shards = Collective.shards(elementCount: n, rankCount: p)
        var reference = [Double](repeating: 0, count: n)
        var magnitudes = [Double](repeating: 0, count: n)
        for i in 0..<n {
            if collective == .allGather { reference[i] = buffers[shards.block(containing: i)][i].checkValue; continue }
            var acc = buffers[0][i].checkValue
            var compensation = 0.0
            var mag = abs(acc)
            for r in 1..<max(p, 1) {
                let x = buffers[r][i].checkValue
                switch op {
                case .sum, .avg:
                    // Neumaier's compensated summation.
                    let t = acc + x
                    compensation += abs(acc) >= abs(x) ? (acc - t) + x : (x - t) + acc
                    acc = t
                    mag += abs(x)
                case .prod: acc *= x
                case .min: acc = Swift.min(acc, x)
                case .max: acc = Swift.max(acc, x)
                }
            }
            acc += compensation
            if op == .avg { acc /= Double(p) }
            reference[i] = acc
            magnitudes[i] = mag
        }
        let stats = try _execute(schedule, executor, buffers)
        var result = Result(wrong: 0, maxAbsError: 0, maxRelError: 0, statistics: stats)
        for r in 0..<p {
            for i in collective.resultRange(rank: r, elementCount: n, rankCount: p) {
                let want = reference[i]
                // An all-gather copies: its result is exact.
                let bound = collective == .allGather ? 0
                    : Self.errorBound(dataType: dataType, op: op, ranks: p, sumOfMagnitudes: magnitudes[i], reference: want)
                let value = buffers[r][i]
                let got = value.checkValue
                let err = abs(got - want)
                result.maxAbsError = max(result.maxAbsError, err.isNaN ? .infinity : err)
                if want != 0 { result.maxRelError = max(result.maxRelError, err.isNaN ? .infinity : err / abs(want)) }
                if !(err <= bound) || (collective == .allreduce && !value.sameBits(buffers[0][i])) { result.wrong += 1 }
            }
        }
        return result
    }
}

/// The floating-point element types, seen through `Double`.
protocol _CheckFloat {
    init(checkValue: Double)
    var checkValue: Double { get }
    func sameBits(_ other: Self) -> Bool
}

extension Float: _CheckFloat {
    init(checkValue: Double) { self.init(checkValue) }
    var checkValue: Double { Double(self) }
    func sameBits(_ other: Float) -> Bool { bitPattern == other.bitPattern }
}

extension Double: _CheckFloat {
    init(checkValue: Double) { self = checkValue }
    var checkValue: Double { self }
    func sameBits(_ other: Double) -> Bool { bitPattern == other.bitPattern }
}

extension Float16: _CheckFloat {
    init(checkValue: Double) { self.init(checkValue) }
    var checkValue: Double { Double(self) }
    func sameBits(_ other: Float16) -> Bool { bitPattern == other.bitPattern }
}

extension BFloat16: _CheckFloat {
    init(checkValue: Double) { self.init(Float(checkValue)) }
    var checkValue: Double { Double(floatValue) }
    func sameBits(_ other: BFloat16) -> Bool { bitPattern == other.bitPattern }
}
