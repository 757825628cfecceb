import CollectiveCore
import CollectiveKernels

/// Counts the elements of an allreduce result that differ from a reference, as nccl-tests'
/// `#wrong` does: exactly for integer types, within an absolute bound for floating-point types.
///
/// The bound is the in-process check's (``AllreduceCheck/errorBound(dataType:op:ranks:sumOfMagnitudes:reference:)``:
/// gamma(p-1) times the sum of the magnitudes for `sum`, Higham section 4.2), doubled because
/// both sides are computed results: a schedule's and Open MPI's each sit within the bound of
/// the exact value, so they may differ by twice it. The sum of magnitudes is bounded by
/// `p * magnitude` of ``AllreduceInputPattern``'s inputs. `min` and `max` are exact.
public struct ResultChecker: Sendable, Hashable {
    public let dataType: DataType
    public let op: ReductionOp
    public let rankCount: Int
    /// The largest sum of |inputs| of one element.
    public let sumOfMagnitudes: Double

    public init(pattern: AllreduceInputPattern) {
        dataType = pattern.dataType
        op = pattern.op
        rankCount = pattern.rankCount
        sumOfMagnitudes = Double(pattern.rankCount) * Double(pattern.magnitude)
    }

    /// The largest difference allowed between two floating-point results near `magnitude`
    /// (0 for integer types, where results must match exactly).
    public func allowedDifference(near magnitude: Double) -> Double {
        guard dataType.isFloatingPoint else { return 0 }
        return 2 * AllreduceCheck.errorBound(dataType: dataType, op: op, ranks: rankCount, sumOfMagnitudes: sumOfMagnitudes, reference: magnitude)
    }

    /// The gap between 1 and the next representable value of `type` (0 for integer types).
    public static func machineEpsilon(_ type: DataType) -> Double {
        switch type {
        case .float16: 0x1p-10
        case .bfloat16: 0x1p-7
        case .float32: 0x1p-23
        case .float64: 0x1p-52
        default: 0
        }
    }

    /// Elements `0 ..< count` of `actual` that differ from `reference` beyond the bound. Two NaNs
    /// compare equal.
    public func mismatches(_ actual: UnsafeRawPointer, _ reference: UnsafeRawPointer, count: Int) -> Int {
        precondition(count >= 0, "ResultChecker: negative count")
        switch dataType {
        case .int8, .uint8: return Self.bitMismatches(actual, reference, count, UInt8.self)
        case .int32, .uint32: return Self.bitMismatches(actual, reference, count, UInt32.self)
        case .int64, .uint64: return Self.bitMismatches(actual, reference, count, UInt64.self)
        case .float16: return floatMismatches(actual, reference, count) { p, i in Double(p.load(fromByteOffset: i * 2, as: Float16.self)) }
        case .bfloat16: return floatMismatches(actual, reference, count) { p, i in Double(BFloat16(bitPattern: p.load(fromByteOffset: i * 2, as: UInt16.self)).floatValue) }
        case .float32: return floatMismatches(actual, reference, count) { p, i in Double(p.load(fromByteOffset: i * 4, as: Float.self)) }
        case .float64: return floatMismatches(actual, reference, count) { p, i in p.load(fromByteOffset: i * 8, as: Double.self) }
        }
    }

    static func bitMismatches<T: FixedWidthInteger>(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int, _: T.Type) -> Int {
        let x = a.assumingMemoryBound(to: T.self)
        let y = b.assumingMemoryBound(to: T.self)
        var wrong = 0
        for i in 0..<count where x[i] != y[i] { wrong += 1 }
        return wrong
    }

    @inline(__always)
    func floatMismatches(_ actual: UnsafeRawPointer, _ reference: UnsafeRawPointer, _ count: Int, _ load: (UnsafeRawPointer, Int) -> Double) -> Int {
        var wrong = 0
        for i in 0..<count {
            let a = load(actual, i)
            let r = load(reference, i)
            if a.isNaN || r.isNaN {
                if a.isNaN != r.isNaN { wrong += 1 }
                continue
            }
            if a == r { continue }
            if !(abs(a - r) <= allowedDifference(near: Swift.max(abs(a), abs(r)))) { wrong += 1 }
        }
        return wrong
    }
}
