import CollectiveCore
import CollectiveKernels

/// Deterministic allreduce inputs whose result is exactly representable, so that an executor's
/// output can be checked element by element and a misplaced block cannot go unnoticed.
///
/// Rank `r`'s element `i` is a small integer drawn from a hash of `(r, i)` (no period, so a block
/// shifted by any offset shows up), with a magnitude chosen so the reduction over every rank
/// cannot overflow or round:
///
/// - `sum`, `avg`: values in `-m...m` (`0...m` for unsigned types) with `m * ranks` at most the
///   largest integer the type holds exactly (127 for int8, 2048 for half, 256 for bfloat16, ...),
///   so sums are exact in any order. Open MPI's vectorised int8 sum saturates where ours wraps
///   (docs/Sources.md section 3): staying in range keeps both right.
/// - `prod`: `+1` or `-1`, times 2 on the one rank `hash(i) mod ranks`: products are exact and a
///   wrong element changes the sign or loses the factor 2.
/// - `min`, `max`: values in the type's exact integer range, distinct almost everywhere.
///
/// When `ranks` is so large that `m` would fall below 1 (bfloat16 beyond 256 ranks), values stay
/// in `-1...1` and floating-point sums may round; checks then use ``ResultChecker``'s bound.
public struct AllreduceInputPattern: Sendable, Hashable {
    public let dataType: DataType
    public let op: ReductionOp
    public let rankCount: Int
    /// The largest magnitude of any input value.
    public let magnitude: Int

    public init(dataType: DataType, op: ReductionOp, rankCount: Int) {
        precondition(rankCount >= 1, "AllreduceInputPattern: needs at least one rank")
        self.dataType = dataType
        self.op = op
        self.rankCount = rankCount
        let exact = Self.largestExactInteger(dataType)
        switch op {
        case .sum, .avg: magnitude = Swift.max(1, Swift.min(1000, exact / rankCount))
        case .prod: magnitude = 2
        case .min, .max: magnitude = Swift.min(1000, exact)
        }
    }

    /// The largest integer `n` such that every integer in `-n...n` (`0...n` unsigned) is exact in
    /// the type and fits it.
    public static func largestExactInteger(_ type: DataType) -> Int {
        switch type {
        case .int8: 127
        case .uint8: 255
        case .int32, .uint32, .int64, .uint64: 1 << 30
        case .float16: 2048  // 11-bit significand
        case .bfloat16: 256  // 8-bit significand
        case .float32: 1 << 24
        case .float64: 1 << 53
        }
    }

    /// The integer value of rank `rank`'s element `index`.
    @inlinable
    public func value(rank: Int, index: Int) -> Int {
        let h = Self.mix(UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: rank) &* 0xD1B5_4A32_D192_ED03)
        let unsigned = !dataType.isSigned
        switch op {
        case .prod:
            let factor = Int(Self.mix(UInt64(truncatingIfNeeded: index) ^ 0x5851_F42D_4C95_7F2D) % UInt64(rankCount)) == rank ? 2 : 1
            if unsigned { return factor }
            return (h & 1 == 0 ? 1 : -1) * factor
        case .sum, .avg, .min, .max:
            if unsigned { return Int(h % UInt64(magnitude + 1)) }
            return Int(h % UInt64(2 * magnitude + 1)) - magnitude
        }
    }

    /// Writes rank `rank`'s input for elements `range` to `buffer` (which holds `range.count` elements).
    public func fill(_ buffer: UnsafeMutableRawPointer, rank: Int, range: Range<Int>) {
        var k = 0
        for i in range {
            Self.store(value(rank: rank, index: i), as: dataType, to: buffer, at: k)
            k += 1
        }
    }

    /// Writes the allreduce of every rank's input for elements `range` to `buffer`, folding ranks
    /// 0, 1, ..., p-1 in order with `Reducer` (and dividing once at the end for `avg`): a
    /// reference computed without any transport or schedule.
    public func expected(into buffer: UnsafeMutableRawPointer, range: Range<Int>) {
        let count = range.count
        guard count > 0 else { return }
        let reducer = Reducer(dataType: dataType, op: op)
        fill(buffer, rank: 0, range: range)
        let row = UnsafeMutableRawPointer.allocate(byteCount: count * dataType.sizeInBytes, alignment: 64)
        defer { row.deallocate() }
        for r in 1..<Swift.max(1, rankCount) {
            fill(row, rank: r, range: range)
            reducer.reduceInPlace(into: buffer, from: row, count: count)
        }
        reducer.finalize(buffer, count: count, contributions: rankCount)
    }

    /// Writes what `collective` leaves at elements `range` of a rank's buffer: the reduction
    /// (``expected(into:range:)``) for an allreduce and for a reduce-scatter (whose `range` lies
    /// in the rank's own shard), and for an all-gather each shard's owner's input, copied.
    public func expected(into buffer: UnsafeMutableRawPointer, range: Range<Int>, collective: Collective, elementCount: Int) {
        guard collective == .allGather else { return expected(into: buffer, range: range) }
        let shards = Collective.shards(elementCount: elementCount, rankCount: rankCount)
        for q in 0..<rankCount {
            let piece = shards.range(q).clamped(to: range)
            guard !piece.isEmpty else { continue }
            fill(buffer + (piece.lowerBound - range.lowerBound) * dataType.sizeInBytes, rank: q, range: piece)
        }
    }

    /// A 64-bit finaliser (splitmix64's): every input bit affects every output bit.
    @inlinable
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Stores the integer `v` (exactly representable by construction) as element `index` of a
    /// buffer of `type`.
    @inlinable
    static func store(_ v: Int, as type: DataType, to buffer: UnsafeMutableRawPointer, at index: Int) {
        switch type {
        case .int8: buffer.storeBytes(of: Int8(truncatingIfNeeded: v), toByteOffset: index, as: Int8.self)
        case .uint8: buffer.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: index, as: UInt8.self)
        case .int32: buffer.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: index * 4, as: Int32.self)
        case .uint32: buffer.storeBytes(of: UInt32(truncatingIfNeeded: v), toByteOffset: index * 4, as: UInt32.self)
        case .int64: buffer.storeBytes(of: Int64(v), toByteOffset: index * 8, as: Int64.self)
        case .uint64: buffer.storeBytes(of: UInt64(truncatingIfNeeded: v), toByteOffset: index * 8, as: UInt64.self)
        case .float16: buffer.storeBytes(of: Float16(Float(v)), toByteOffset: index * 2, as: Float16.self)
        case .bfloat16: buffer.storeBytes(of: BFloat16(Float(v)).bitPattern, toByteOffset: index * 2, as: UInt16.self)
        case .float32: buffer.storeBytes(of: Float(v), toByteOffset: index * 4, as: Float.self)
        case .float64: buffer.storeBytes(of: Double(v), toByteOffset: index * 8, as: Double.self)
        }
    }
}

extension DataType {
    /// Whether the type holds negative values.
    @inlinable
    public var isSigned: Bool {
        switch self {
        case .uint8, .uint32, .uint64: false
        default: true
        }
    }
}
