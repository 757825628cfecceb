import CollectiveCore
import CollectiveKernels

/// An element type with a scalar reference for the kernels: integers computed in `Int128`
/// (wrapping = truncating the exact result), floating-point types in `Double`, rounded as the
/// kernels' accumulator rounds (binary32 for Float, Float16 and BFloat16) and once more at the
/// store. Nothing here uses the kernels' SIMD code or bit tricks.
protocol TestElement: ReductionElement, Equatable, CustomStringConvertible {
    static func random(_ rng: inout SplitMix64) -> Self
    /// `s0 op s1 op ... op s(k-1)`, folded left to right like the kernels.
    static func referenceFold(_ xs: [Self], _ op: ReductionOp) -> Self
    /// `a op b` (the same as `referenceFold([a, b], op)`, without an array).
    static func referenceCombine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self
    static func referenceDivide(_ a: Self, by n: Int) -> Self
    /// Bitwise equality, or both NaN.
    static func same(_ a: Self, _ b: Self) -> Bool
    /// The element's bits, for messages.
    var testBits: UInt64 { get }
}


// MARK: - Integers

protocol IntegerTestElement: TestElement, FixedWidthInteger {}

extension IntegerTestElement {
    static func random(_ rng: inout SplitMix64) -> Self {
        // Mostly full-range values (sums and products overflow everywhere), some small ones.
        if rng.next() % 8 == 0 { return Self(truncatingIfNeeded: Int(rng.next() % 7) - 3) }
        return Self(truncatingIfNeeded: rng.next())
    }

    static func referenceFold(_ xs: [Self], _ op: ReductionOp) -> Self {
        var acc = Int128(xs[0])
        for x in xs.dropFirst() {
            let v = Int128(x)
            switch op.combiningOp {
            case .sum, .avg: acc = acc &+ v
            case .prod: acc = acc &* v
            case .min: acc = v < acc ? v : acc
            case .max: acc = v > acc ? v : acc
            }
        }
        return Self(truncatingIfNeeded: acc)
    }

    static func referenceCombine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self {
        let (x, y) = (Int128(a), Int128(b))
        switch op.combiningOp {
        case .sum, .avg: return Self(truncatingIfNeeded: x &+ y)
        case .prod: return Self(truncatingIfNeeded: x &* y)
        case .min: return y < x ? b : a
        case .max: return y > x ? b : a
        }
    }

    static func referenceDivide(_ a: Self, by n: Int) -> Self {
        Self(truncatingIfNeeded: Int128(a) / Int128(n))
    }

    static func same(_ a: Self, _ b: Self) -> Bool { a == b }
    var testBits: UInt64 { UInt64(truncatingIfNeeded: self) }
}

extension Int8: TestElement, IntegerTestElement {}
extension UInt8: TestElement, IntegerTestElement {}
extension Int32: TestElement, IntegerTestElement {}
extension UInt32: TestElement, IntegerTestElement {}
extension Int64: TestElement, IntegerTestElement {}
extension UInt64: TestElement, IntegerTestElement {}

// MARK: - Floating point

/// IEEE 754-2019 minimum and maximum, written independently of the kernels' own functions.
func referenceMinimum(_ a: Double, _ b: Double) -> Double {
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return (a.sign == .minus || b.sign == .minus) ? -0.0 : 0.0 }
    return a < b ? a : b
}

func referenceMaximum(_ a: Double, _ b: Double) -> Double {
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return (a.sign == .plus || b.sign == .plus) ? 0.0 : -0.0 }
    return a > b ? a : b
}

protocol FloatTestElement: TestElement {
    var doubleValue: Double { get }
    /// Rounds to the kernels' accumulator (binary32, or binary64 for Double).
    static func roundAccumulator(_ d: Double) -> Double
    /// Rounds to the element type (once, to nearest even).
    static func fromDouble(_ d: Double) -> Self
    static var specials: [Self] { get }
    var isNaNValue: Bool { get }
}

extension FloatTestElement {
    static func referenceFold(_ xs: [Self], _ op: ReductionOp) -> Self {
        var acc = xs[0].doubleValue
        for x in xs.dropFirst() {
            let v = x.doubleValue
            switch op.combiningOp {
            case .sum, .avg: acc = roundAccumulator(acc + v)
            case .prod: acc = roundAccumulator(acc * v)
            case .min: acc = referenceMinimum(acc, v)
            case .max: acc = referenceMaximum(acc, v)
            }
        }
        return fromDouble(acc)
    }

    static func referenceCombine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self {
        let (x, y) = (a.doubleValue, b.doubleValue)
        switch op.combiningOp {
        case .sum, .avg: return fromDouble(roundAccumulator(x + y))
        case .prod: return fromDouble(roundAccumulator(x * y))
        case .min: return fromDouble(referenceMinimum(x, y))
        case .max: return fromDouble(referenceMaximum(x, y))
        }
    }

    static func referenceDivide(_ a: Self, by n: Int) -> Self { fromDouble(a.doubleValue / Double(n)) }

    static func same(_ a: Self, _ b: Self) -> Bool {
        (a.isNaNValue && b.isNaNValue) || a.testBits == b.testBits
    }
}

extension Float: FloatTestElement {
    var doubleValue: Double { Double(self) }
    static func roundAccumulator(_ d: Double) -> Double { Double(Float(d)) }
    static func fromDouble(_ d: Double) -> Float { Float(d) }
    static var specials: [Float] {
        [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
         .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1]
    }
    var isNaNValue: Bool { isNaN }
    var testBits: UInt64 { UInt64(bitPattern) }
    static func random(_ rng: inout SplitMix64) -> Float {
        switch rng.next() % 16 {
        case 0: return specials[Int(rng.next() % UInt64(specials.count))]
        case 1...4: return Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
        default: return Float(Int64(bitPattern: rng.next()) % 2_000_001) / 1024
        }
    }
}

extension Double: FloatTestElement {
    var doubleValue: Double { self }
    static func roundAccumulator(_ d: Double) -> Double { d }
    static func fromDouble(_ d: Double) -> Double { d }
    static var specials: [Double] {
        [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
         .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1]
    }
    var isNaNValue: Bool { isNaN }
    var testBits: UInt64 { bitPattern }
    static func random(_ rng: inout SplitMix64) -> Double {
        switch rng.next() % 16 {
        case 0: return specials[Int(rng.next() % UInt64(specials.count))]
        case 1...4: return Double(bitPattern: rng.next())
        default: return Double(Int64(bitPattern: rng.next()) % 2_000_000_001) / 1_048_576
        }
    }
}

extension Float16: FloatTestElement {
    var doubleValue: Double { Double(Float(self)) }
    static func roundAccumulator(_ d: Double) -> Double { Double(Float(d)) }
    static func fromDouble(_ d: Double) -> Float16 { Float16(Float(d)) }
    static var specials: [Float16] {
        [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
         .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1]
    }
    var isNaNValue: Bool { isNaN }
    var testBits: UInt64 { UInt64(bitPattern) }
    static func random(_ rng: inout SplitMix64) -> Float16 {
        switch rng.next() % 8 {
        case 0: return specials[Int(rng.next() % UInt64(specials.count))]
        case 1...3: return Float16(bitPattern: UInt16(truncatingIfNeeded: rng.next()))
        default: return Float16(Float(Int64(bitPattern: rng.next()) % 20_001) / 64)
        }
    }
}

extension BFloat16: FloatTestElement, CustomStringConvertible {
    public var description: String { "\(floatValue) (0x\(String(bitPattern, radix: 16)))" }
    var doubleValue: Double { Double(floatValue) }
    static func roundAccumulator(_ d: Double) -> Double { Double(Float(d)) }
    static func fromDouble(_ d: Double) -> BFloat16 { BFloat16(Float(d)) }
    static var specials: [BFloat16] {
        [Float.nan, .infinity, -.infinity, 0, -0.0, 1, -1, 0x1p-133, -0x1p-133, 0x1p-126, 0x1.FEp127]
            .map { BFloat16($0) }
    }
    var isNaNValue: Bool { floatValue.isNaN }
    var testBits: UInt64 { UInt64(bitPattern) }
    static func random(_ rng: inout SplitMix64) -> BFloat16 {
        switch rng.next() % 8 {
        case 0: return specials[Int(rng.next() % UInt64(specials.count))]
        case 1...3: return BFloat16(bitPattern: UInt16(truncatingIfNeeded: rng.next()))
        default: return BFloat16(Float(Int64(bitPattern: rng.next()) % 20_001) / 64)
        }
    }
}

/// Calls `body` with the test element type of `dataType`.
func withTestElement(_ dataType: DataType, _ body: (any TestElement.Type) -> Void) {
    switch dataType {
    case .int8: body(Int8.self)
    case .uint8: body(UInt8.self)
    case .int32: body(Int32.self)
    case .uint32: body(UInt32.self)
    case .int64: body(Int64.self)
    case .uint64: body(UInt64.self)
    case .float16: body(Float16.self)
    case .bfloat16: body(BFloat16.self)
    case .float32: body(Float.self)
    case .float64: body(Double.self)
    }
}
