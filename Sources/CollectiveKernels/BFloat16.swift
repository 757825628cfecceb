/// A 16-bit brain floating-point number: the top half of an IEEE 754 binary32.
///
/// Conversion from `Float` rounds to nearest, ties to even; a NaN stays a (quiet) NaN.
public struct BFloat16: Sendable, Hashable, BitwiseCopyable {
    /// The raw bits: sign, 8 exponent bits, 7 fraction bits.
    public var bitPattern: UInt16

    @inlinable
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds `value` to the nearest bfloat16, ties to even. NaN maps to a quiet NaN.
    @inlinable
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        } else {
            let roundingBias: UInt32 = 0x7FFF &+ ((bits >> 16) & 1)
            bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
        }
    }

    /// The exact `Float` value of this bfloat16.
    @inlinable
    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}

extension Float {
    /// The exact value of a bfloat16.
    @inlinable
    public init(_ value: BFloat16) { self = value.floatValue }
}
