// Branch-free conversions between binary32 and the two 16-bit floating-point formats, eight
// lanes at a time, written with integer and float vector operations only.
//
// Thirty-two 16-bit elements are loaded as one `SIMD16<UInt32>`: the even elements are the low
// halves of the lanes and the odd elements the high halves, so widening is a mask and a shift
// and narrowing an OR with a shift, with no lane shuffles (`Float16+ReductionElement.swift`).
//
// The default x86-64 target (SSE2) has no instruction that converts halves (F16C is an
// extension), and a per-element library call would stop the loops from vectorising; these
// functions compile to plain shifts, masks, adds and selects at any target. They are exact
// where the conversion is exact and round to nearest, ties to even, where it is not. Their
// results are checked against Swift's own `Float16` conversions over all 65,536 half bit
// patterns, every tie between adjacent halves and many random floats
// (Tests/CollectiveKernelsTests/HalfConversionTests.swift).

/// Widens sixteen IEEE 754 binary16 bit patterns, held in the low 16 bits of each lane (the
/// high bits must be zero), to `Float`, exactly: normals, subnormals (which become normal
/// floats), ±0, ±infinity, and NaN (payload kept, quiet bit kept).
///
/// Nine vector operations: exponent and fraction moved to binary32's positions read as a float
/// whose value is the half's times 2^-112 (half subnormals land on float subnormals), so one
/// multiplication by 2^112 rebiases every finite value exactly; infinities and NaNs (half
/// exponent 31, product exponent 143) get all exponent bits OR-ed in, keeping their fraction.
/// Like every float subnormal, half subnormals need the CPU's denormals-are-zero mode off (the
/// default).
@inlinable @inline(always)
public func _halfBitsToFloat(_ h32: SIMD16<UInt32>) -> SIMD16<Float> {
    let sign = (h32 & 0x8000) &<< 16
    let shifted = (h32 & 0x7FFF) &<< 13
    let scaled = unsafeBitCast(shifted, to: SIMD16<Float>.self) * SIMD16<Float>(repeating: 0x1p112)
    let isSpecial = unsafeBitCast(
        unsafeBitCast(shifted, to: SIMD16<Int32>.self) .> SIMD16<Int32>(repeating: 0x0F7F_FFFF), to: SIMD16<UInt32>.self)
    return unsafeBitCast(unsafeBitCast(scaled, to: SIMD16<UInt32>.self) | (isSpecial & 0x7F80_0000) | sign,
                         to: SIMD16<Float>.self)
}

/// Rounds sixteen floats to IEEE 754 binary16 bit patterns (in the low 16 bits of each lane): to nearest, ties to even; values at
/// or beyond 65520 in magnitude become ±infinity; results below 2^-14 become subnormals (or ±0)
/// rounded the same way; NaN stays NaN (quiet, sign and top payload bits kept, as F16C does).
@inlinable @inline(always)
public func _floatToHalfBits(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let sign = bits & 0x8000_0000
    let magnitude = bits ^ sign
    // Magnitudes are below 2^31, so signed compares (the ones SSE2 has) order them correctly.
    let m = unsafeBitCast(magnitude, to: SIMD16<Int32>.self)

    // Normal results: rebias the exponent by 15 - 127 and round the 13 dropped bits to
    // nearest even (add 0xFFF plus the lowest kept bit, then truncate). A carry out of the
    // fraction correctly bumps the exponent, up to infinity for values in [65520, 65536).
    let dropped = magnitude &>> 13
    let normal = (magnitude &+ 0xC800_0FFF &+ (dropped & 1)) &>> 13  // 0xC8000000 = (15 - 127) << 23, wrapped

    // Subnormal results (|x| < 2^-14): adding 0.5 makes the FPU round |x| to a multiple of
    // 2^-24 (the half subnormal step), to nearest even; the low bits are then the half's bits.
    let half = SIMD16<Float>(repeating: 0.5)
    let subnormal = unsafeBitCast(unsafeBitCast(magnitude, to: SIMD16<Float>.self) + half, to: SIMD16<UInt32>.self) &- (126 &<< 23)

    // Overflow to infinity (0x7C00), and NaN: infinity's bits plus the quiet bit and the top
    // nine payload bits.
    let isNaN = unsafeBitCast(m .> SIMD16<Int32>(repeating: 0x7F80_0000), to: SIMD16<UInt32>.self)
    let special = (((dropped & 0x01FF) | 0x0200) & isNaN) | 0x7C00

    let isSubnormal = unsafeBitCast(m .< SIMD16<Int32>(repeating: 113 << 23), to: SIMD16<UInt32>.self)
    let isSpecial = unsafeBitCast(m .> SIMD16<Int32>(repeating: (143 << 23) - 1), to: SIMD16<UInt32>.self)
    let o = _bitSelect(isSpecial, special, _bitSelect(isSubnormal, subnormal, normal))
    return o | (sign &>> 16)
}

/// Widens sixteen bfloat16 bit patterns, in the low 16 bits of each lane, to `Float` (exact: a
/// bfloat16 is the top half of a float).
@inlinable @inline(always)
public func _bfloat16BitsToFloat(_ h32: SIMD16<UInt32>) -> SIMD16<Float> {
    unsafeBitCast(h32 &<< 16, to: SIMD16<Float>.self)
}

/// Rounds sixteen floats to bfloat16 bit patterns (in the low 16 bits of each lane), to nearest, ties to even (overflow to
/// ±infinity); NaN stays a quiet NaN with its sign and top payload bits. Same results as
/// ``BFloat16/init(_:)``.
@inlinable @inline(always)
public func _floatToBFloat16Bits(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
    let isNaN = unsafeBitCast(x .!= x, to: SIMD16<UInt32>.self)
    return _bitSelect(isNaN, (bits &>> 16) | 0x0040, rounded)
}

#if COLLECTIVE_KERNELS_F16C
// A tuned build for a CPU with F16C (Scripts/bench-kernels passes -DCOLLECTIVE_KERNELS_F16C
// together with -target-cpu native when /proc/cpuinfo lists f16c) converts halves with the
// hardware instructions instead: these lane loops compile to VCVTPH2PS/VCVTPS2PH, which round
// the same way (to nearest even; NaN stays a quiet NaN with its sign and top payload bits).
// Without F16C the same loops would call a library routine per element, hence the flag.

/// Hardware widening of sixteen halves (low 16 bits of each lane) to `Float`.
@inlinable @inline(always)
public func _halfBitsToFloatF16C(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(Float16(bitPattern: UInt16(truncatingIfNeeded: h[i]))) }
    return r
}

/// Hardware rounding of sixteen floats to half bit patterns (low 16 bits of each lane).
@inlinable @inline(always)
public func _floatToHalfBitsF16C(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    var r = SIMD16<UInt32>()
    for i in 0..<16 { r[i] = UInt32(Float16(x[i]).bitPattern) }
    return r
}
#endif

#if DEBUG
// Debug builds do not specialise generic code, and Swift's generic SIMD operators then run lane
// by lane through protocol witnesses: the branch-free conversions above cost about a hundred
// times more per element there than a scalar conversion. Debug builds therefore convert lane by
// lane with the scalar conversions (same rounding, same NaN rule, checked against the SIMD
// versions by the conversion tests), so that code built for debugging and its tests stay usable
// on large buffers. Release builds never compile these.

@inlinable
public func _widenHalfPairDebug(_ v: SIMD16<UInt32>) -> _FloatLanePair {
    var even = SIMD16<Float>(), odd = SIMD16<Float>()
    for i in 0..<16 {
        let w = v[i]
        even[i] = Float(Float16(bitPattern: UInt16(truncatingIfNeeded: w)))
        odd[i] = Float(Float16(bitPattern: UInt16(truncatingIfNeeded: w >> 16)))
    }
    return _FloatLanePair(even: even, odd: odd)
}

@inlinable
public func _narrowHalfPairDebug(_ p: _FloatLanePair) -> SIMD16<UInt32> {
    var r = SIMD16<UInt32>()
    for i in 0..<16 { r[i] = UInt32(Float16(p.even[i]).bitPattern) | UInt32(Float16(p.odd[i]).bitPattern) << 16 }
    return r
}

@inlinable
public func _widenBFloat16PairDebug(_ v: SIMD16<UInt32>) -> _FloatLanePair {
    var even = SIMD16<Float>(), odd = SIMD16<Float>()
    for i in 0..<16 {
        let w = v[i]
        even[i] = Float(bitPattern: w << 16)
        odd[i] = Float(bitPattern: w & 0xFFFF_0000)
    }
    return _FloatLanePair(even: even, odd: odd)
}

@inlinable
public func _narrowBFloat16PairDebug(_ p: _FloatLanePair) -> SIMD16<UInt32> {
    var r = SIMD16<UInt32>()
    for i in 0..<16 { r[i] = UInt32(BFloat16(p.even[i]).bitPattern) | UInt32(BFloat16(p.odd[i]).bitPattern) << 16 }
    return r
}
#endif
