/// An element type the reduction kernels can combine.
///
/// A conforming type says how its elements sit in memory as a vector (`_Lanes`, loaded and
/// stored with unaligned SIMD loads), which vector it computes in (`_Accumulator`: the same type
/// for integers, `Float` and `Double`; two `SIMD16<Float>` for `Float16` and ``BFloat16``, which
/// accumulate in binary32 and round once at the store), and the four combining operators on
/// both vectors and single elements (the scalar forms run the tail of every loop with exactly
/// the semantics of the vector forms).
///
/// The conformances live in `Int+ReductionElement.swift`, `Float+ReductionElement.swift` and
/// `Float16+ReductionElement.swift`. The `_`-prefixed requirements are implementation details
/// of the kernels: call ``ReductionKernels`` or ``Reducer`` instead.
public protocol ReductionElement: BitwiseCopyable, Sendable {
    /// The in-memory vector of one loop step (for example `SIMD16<Float>`, `SIMD32<Int8>`, or
    /// `SIMD16<UInt32>` holding the bits of thirty-two halves).
    associatedtype _Lanes: SIMD & BitwiseCopyable
    /// The vector the operators compute in.
    associatedtype _Accumulator
    /// The scalar the tail computes in (`Self`, or `Float` for the 16-bit floating-point types).
    associatedtype _ScalarAccumulator

    /// The element type's `DataType`.
    static var dataType: DataType { get }

    /// Elements per `_Lanes` vector.
    static var _laneCount: Int { get }

    static func _widen(_ v: _Lanes) -> _Accumulator
    static func _narrow(_ v: _Accumulator) -> _Lanes
    static func _widen(_ x: Self) -> _ScalarAccumulator
    static func _narrow(_ x: _ScalarAccumulator) -> Self

    static func _sum(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator
    /// `dst = a + b` for `vectors` (1 or 2) consecutive `_Lanes` vectors from byte `offset` of
    /// each buffer (`dst` may be `a` or `b`): exactly what widening, adding in `_Accumulator`
    /// and narrowing give (the default, ``_combineVectors(_:into:_:_:atByteOffset:_:)``), which a
    /// type may compute with fewer operations. The two-operand loops call it for sums.
    static func _sumVectors(_ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int)
    static func _product(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator
    static func _minimum(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator
    static func _maximum(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator

    static func _sum(_ a: _ScalarAccumulator, _ b: _ScalarAccumulator) -> _ScalarAccumulator
    static func _product(_ a: _ScalarAccumulator, _ b: _ScalarAccumulator) -> _ScalarAccumulator
    static func _minimum(_ a: _ScalarAccumulator, _ b: _ScalarAccumulator) -> _ScalarAccumulator
    static func _maximum(_ a: _ScalarAccumulator, _ b: _ScalarAccumulator) -> _ScalarAccumulator

    /// `a / n` for avg's final step: integers truncate toward zero (computed without overflow
    /// for any positive `n`), floating-point types divide once and round once.
    static func _divided(_ a: _Accumulator, by n: Int) -> _Accumulator
    static func _divided(_ a: _ScalarAccumulator, by n: Int) -> _ScalarAccumulator
}

extension ReductionElement {
    @inlinable @inline(__always)
    public static func _sumVectors(_ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int) {
        _combineVectors(vectors, into: dst, a, b, atByteOffset: offset, ReductionKernels.Sum.self)
    }

    /// `dst = a op b` for `vectors` (1 or 2) consecutive `_Lanes` vectors from byte `offset`:
    /// all operands are loaded before the first store, so `dst` may be `a` or `b`.
    @inlinable @inline(__always)
    internal static func _combineVectors<O: ReductionKernels.Operator>(
        _ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int, _: O.Type
    ) {
        let step = MemoryLayout<_Lanes>.stride
        if vectors == 2 {
            let a0 = _widen(a.loadUnaligned(fromByteOffset: offset, as: _Lanes.self))
            let a1 = _widen(a.loadUnaligned(fromByteOffset: offset &+ step, as: _Lanes.self))
            let b0 = _widen(b.loadUnaligned(fromByteOffset: offset, as: _Lanes.self))
            let b1 = _widen(b.loadUnaligned(fromByteOffset: offset &+ step, as: _Lanes.self))
            dst.storeBytes(of: _narrow(O._combine(a0, b0, Self.self)), toByteOffset: offset, as: _Lanes.self)
            dst.storeBytes(of: _narrow(O._combine(a1, b1, Self.self)), toByteOffset: offset &+ step, as: _Lanes.self)
        } else {
            let x = _widen(a.loadUnaligned(fromByteOffset: offset, as: _Lanes.self))
            let y = _widen(b.loadUnaligned(fromByteOffset: offset, as: _Lanes.self))
            dst.storeBytes(of: _narrow(O._combine(x, y, Self.self)), toByteOffset: offset, as: _Lanes.self)
        }
    }
}

// MARK: - Shared vector functions
//
// Swift's generic SIMD comparisons and `replacing(with:where:)` compile to lane-by-lane loops
// with branches; the comparisons declared on the concrete vector types (`SIMD16<Float>`,
// `SIMD8<UInt32>`, ...) compile to single vector compares. The kernels therefore compare
// concrete types only, turn the mask into all-ones/all-zeros lanes, and select with bitwise
// operations, which compile to plain vector AND/XOR at every target.

/// Lane by lane `mask ? a : b`, where every lane of `mask` is all ones or all zeros.
@inlinable @inline(always)
internal func _bitSelect<V: SIMD>(_ mask: V, _ a: V, _ b: V) -> V where V.Scalar: FixedWidthInteger {
    b ^ ((a ^ b) & mask)
}

extension BinaryFloatingPoint {
    /// IEEE 754-2019 `minimum` of two scalars, with the vector form's very bits
    /// (`_ieeeMinimumLanes`): `a < b ? a : b`, OR-ed with `a`'s bits where the operands are
    /// equal or either is NaN. So the tail gives the vector body's NaN, not just a NaN.
    @inlinable @inline(__always)
    internal static func _ieeeMinimum(_ a: Self, _ b: Self) -> Self {
        let r = a < b ? a : b
        return a == b || a.isNaN || b.isNaN ? _bitwise(r, a, |) : r
    }

    /// IEEE 754-2019 `maximum` of two scalars, with the vector form's very bits
    /// (`_ieeeMaximumLanes`): `a > b ? a : b`, AND-ed with `a`'s bits where the operands are
    /// equal, OR-ed with them where `a` is NaN.
    @inlinable @inline(__always)
    internal static func _ieeeMaximum(_ a: Self, _ b: Self) -> Self {
        let r = a > b ? a : b
        if a == b { return _bitwise(r, a, &) }
        return a.isNaN ? _bitwise(r, a, |) : r
    }

    /// `x op y` on the bit patterns (sign, exponent and significand fields alike).
    @inlinable @inline(__always)
    internal static func _bitwise(_ x: Self, _ y: Self, _ op: (UInt, UInt) -> UInt) -> Self {
        let sign = op(x.sign == .minus ? 1 : 0, y.sign == .minus ? 1 : 0) != 0
        return Self(sign: sign ? .minus : .plus,
                    exponentBitPattern: RawExponent(op(UInt(x.exponentBitPattern), UInt(y.exponentBitPattern))),
                    significandBitPattern: RawSignificand(op(UInt(x.significandBitPattern), UInt(y.significandBitPattern))))
    }
}
