import CollectiveKernels

/// Counts the elements of an allreduce result that differ from a reference, as nccl-tests'
/// `#wrong` does: exactly for integer types, within an absolute bound for floating-point types.
///
/// The bound covers two results of the same reduction computed in different orders (a
/// schedule's and Open MPI's). Recursive summation of p terms errs by at most
/// `(p-1) u sum|x|` (u = unit roundoff = eps/2, Higham, "Accuracy and Stability of Numerical
/// Algorithms", section 4.2), so two orders differ by at most `(p-1) eps sum|x|`, and
/// `sum|x| <= p * magnitude` for ``AllreduceInputPattern``'s inputs. Products of p terms err by
/// at most `(p-1) u` relatively, so two orders differ by `(p-1) eps |x|`. `avg` adds one rounding
/// of the division. `min` and `max` are exact.
public struct ResultChecker: Sendable, Hashable {
    public let dataType: DataType
    public let op: ReductionOp
    public let rankCount: Int
    /// The absolute difference allowed between a floating-point result and its reference
    /// (0 for integers, `min` and `max`).
    public let absoluteTolerance: Double
    /// For `prod`: the difference allowed relative to the reference's magnitude.
    public let relativeTolerance: Double

    public init(pattern: AllreduceInputPattern) {
        dataType = pattern.dataType
        op = pattern.op
        rankCount = pattern.rankCount
        let p = Double(pattern.rankCount)
        let eps = Self.machineEpsilon(pattern.dataType)
        guard pattern.dataType.isFloatingPoint else {
            absoluteTolerance = 0
            relativeTolerance = 0
            return
        }
        switch pattern.op {
        case .sum:
            absoluteTolerance = (p - 1) * eps * p * Double(pattern.magnitude)
            relativeTolerance = 0
        case .avg:
            absoluteTolerance = (p - 1) * eps * Double(pattern.magnitude) + eps * Double(pattern.magnitude)
            relativeTolerance = 0
        case .prod:
            absoluteTolerance = 0
            relativeTolerance = (p - 1) * eps
        case .min, .max:
            absoluteTolerance = 0
            relativeTolerance = 0
        }
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
            let allowed = absoluteTolerance + relativeTolerance * Swift.max(abs(a), abs(r))
            if !(abs(a - r) <= allowed) { wrong += 1 }
        }
        return wrong
    }
}
