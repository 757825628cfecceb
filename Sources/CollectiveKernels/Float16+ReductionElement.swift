// The 16-bit floating-point types (`Float16`, `BFloat16`): thirty-two elements are loaded as one
// `SIMD16<UInt32>`, split into the even elements (low halves of the lanes) and the odd ones (high
// halves), widened exactly to two `SIMD16<Float>`, combined in binary32, and rounded to nearest
// even once at the store, where the two halves are put back together. The operators work lane
// by lane, so computing in this even/odd order changes no result and needs no shuffles.
//
// For two operands this gives the correctly rounded result of the 16-bit operation (binary32
// has more than 2p + 2 significand bits, so the double rounding is innocuous); a fused k-way
// reduction rounds once for all k inputs.

/// Thirty-two binary32 values: the widened even and odd elements of thirty-two 16-bit floats.
@frozen
public struct _FloatLanePair: Sendable {
    public var even: SIMD16<Float>
    public var odd: SIMD16<Float>

    @inlinable @inline(__always)
    public init(even: SIMD16<Float>, odd: SIMD16<Float>) {
        self.even = even
        self.odd = odd
    }
}

extension ReductionElement
where _Lanes == SIMD16<UInt32>, _Accumulator == _FloatLanePair, _ScalarAccumulator == Float {
    @inlinable @inline(__always) public static var _laneCount: Int { 32 }

    @inlinable @inline(__always)
    public static func _sum(_ a: _FloatLanePair, _ b: _FloatLanePair) -> _FloatLanePair {
        _FloatLanePair(even: a.even + b.even, odd: a.odd + b.odd)
    }
    @inlinable @inline(__always)
    public static func _product(_ a: _FloatLanePair, _ b: _FloatLanePair) -> _FloatLanePair {
        _FloatLanePair(even: a.even * b.even, odd: a.odd * b.odd)
    }
    @inlinable @inline(__always)
    public static func _minimum(_ a: _FloatLanePair, _ b: _FloatLanePair) -> _FloatLanePair {
        _FloatLanePair(even: _ieeeMinimumLanes(a.even, b.even),
                       odd: _ieeeMinimumLanes(a.odd, b.odd))
    }
    @inlinable @inline(__always)
    public static func _maximum(_ a: _FloatLanePair, _ b: _FloatLanePair) -> _FloatLanePair {
        _FloatLanePair(even: _ieeeMaximumLanes(a.even, b.even),
                       odd: _ieeeMaximumLanes(a.odd, b.odd))
    }

    @inlinable @inline(__always) public static func _sum(_ a: Float, _ b: Float) -> Float { a + b }
    @inlinable @inline(__always) public static func _product(_ a: Float, _ b: Float) -> Float { a * b }
    @inlinable @inline(__always) public static func _minimum(_ a: Float, _ b: Float) -> Float { Float._ieeeMinimum(a, b) }
    @inlinable @inline(__always) public static func _maximum(_ a: Float, _ b: Float) -> Float { Float._ieeeMaximum(a, b) }

    @inlinable @inline(__always)
    public static func _divided(_ a: Float, by n: Int) -> Float { a / Float(n) }
    @inlinable @inline(__always)
    public static func _divided(_ a: _FloatLanePair, by n: Int) -> _FloatLanePair {
        let d = SIMD16<Float>(repeating: Float(n))
        return _FloatLanePair(even: a.even / d, odd: a.odd / d)
    }
}

extension Float16: ReductionElement {
    public typealias _Lanes = SIMD16<UInt32>
    public typealias _Accumulator = _FloatLanePair
    public typealias _ScalarAccumulator = Float
    @inlinable public static var dataType: DataType { .float16 }

    @inlinable @inline(__always)
    public static func _widen(_ v: SIMD16<UInt32>) -> _FloatLanePair {
        #if DEBUG
        _widenHalfPairDebug(v)
        #elseif COLLECTIVE_KERNELS_F16C
        _FloatLanePair(even: _halfBitsToFloatF16C(v & 0xFFFF), odd: _halfBitsToFloatF16C(v &>> 16))
        #else
        _widenHalfPair(v)
        #endif
    }
    @inlinable @inline(__always)
    public static func _narrow(_ v: _FloatLanePair) -> SIMD16<UInt32> {
        #if DEBUG
        _narrowHalfPairDebug(v)
        #elseif COLLECTIVE_KERNELS_F16C
        _floatToHalfBitsF16C(v.even) | (_floatToHalfBitsF16C(v.odd) &<< 16)
        #else
        _narrowHalfPair(v.even, v.odd)
        #endif
    }
    @inlinable @inline(__always)
    public static func _sumVectors(_ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int) {
        #if DEBUG || COLLECTIVE_KERNELS_F16C
        _combineVectors(vectors, into: dst, a, b, atByteOffset: offset, ReductionKernels.Sum.self)
        #else
        _halfSumVectors(vectors, into: dst, a, b, atByteOffset: offset)
        #endif
    }
    @inlinable @inline(__always)
    public static func _widen(_ x: Float16) -> Float { Float(x) }
    @inlinable @inline(__always)
    public static func _narrow(_ x: Float) -> Float16 { _halfQuietingNaN(x) }
}

extension BFloat16: ReductionElement {
    public typealias _Lanes = SIMD16<UInt32>
    public typealias _Accumulator = _FloatLanePair
    public typealias _ScalarAccumulator = Float
    @inlinable public static var dataType: DataType { .bfloat16 }

    @inlinable @inline(__always)
    public static func _widen(_ v: SIMD16<UInt32>) -> _FloatLanePair {
        #if DEBUG
        _widenBFloat16PairDebug(v)
        #else
        _FloatLanePair(even: unsafeBitCast(v &<< 16, to: SIMD16<Float>.self),
                       odd: unsafeBitCast(v & 0xFFFF_0000, to: SIMD16<Float>.self))
        #endif
    }
    @inlinable @inline(__always)
    public static func _narrow(_ v: _FloatLanePair) -> SIMD16<UInt32> {
        #if DEBUG
        _narrowBFloat16PairDebug(v)
        #else
        _narrowBFloat16Pair(v.even, v.odd)
        #endif
    }
    @inlinable @inline(__always)
    public static func _sumVectors(_ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int) {
        #if DEBUG
        _combineVectors(vectors, into: dst, a, b, atByteOffset: offset, ReductionKernels.Sum.self)
        #else
        _bfloat16SumVectors(vectors, into: dst, a, b, atByteOffset: offset)
        #endif
    }
    @inlinable @inline(__always)
    public static func _widen(_ x: BFloat16) -> Float { x.floatValue }
    @inlinable @inline(__always)
    public static func _narrow(_ x: Float) -> BFloat16 { BFloat16(x) }
}
