// Conversions between binary32 and the two 16-bit floating-point formats, sixteen lanes at a
// time, written with integer and float vector operations only.
//
// Thirty-two 16-bit elements are loaded as one `SIMD16<UInt32>`: the even elements are the low
// halves of the lanes and the odd elements the high halves, so widening is a mask or a shift
// and narrowing a shift and an OR, with no lane shuffles (`Float16+ReductionElement.swift`).
//
// The default x86-64 target (SSE2) has no instruction that converts halves (F16C is an
// extension), and a per-element library call would stop the loops from vectorising; these
// functions compile to plain shifts, masks, adds, MINPS/MAXPS and multiplications at any
// target, with the FPU doing the rounding where it can. The rare cases (infinities and NaNs
// among the halves being widened, NaNs among the floats being rounded to bfloat16) are found
// with one compare per register and a mask move per block of thirty-two elements, and only
// blocks that hold one take the slower exact path. Per four elements at the default target:
// half widening 3.5 operations (7 in a block with an infinity or NaN), half rounding 13,
// bfloat16 rounding about 6 (10 in a block with a NaN). The sums of two vectors that the
// two-operand loops call (`_halfSumPair`, `_bfloat16SumPair`, at the end of this file's SIMD
// part) skip some of these steps with the same results.
//
// They are exact where the conversion is exact and round to nearest, ties to even, where it
// is not. Their results are checked against Swift's own `Float16` conversions over all 65,536
// half bit patterns, every tie between adjacent halves and many random floats, in blocks with
// and without the rare cases (Tests/CollectiveKernelsTests/HalfConversionTests.swift).

/// Widens sixteen IEEE 754 binary16 bit patterns, held in the low 16 bits of each lane (the
/// high bits must be zero), to `Float`, exactly: normals, subnormals (which become normal
/// floats), ±0, ±infinity, and NaN (payload kept, quiet bit kept). See
/// ``_halfHighBitsToFloat(_:)``, which this calls.
@inlinable @inline(always)
internal func _halfBitsToFloat(_ h32: SIMD16<UInt32>) -> SIMD16<Float> {
    _halfHighBitsToFloat(h32 &<< 16)
}

/// Widens sixteen binary16 bit patterns held in the HIGH 16 bits of each lane (the low 16 bits
/// must be zero) to `Float`, exactly.
///
/// Seven vector operations, none of them a shuffle: an arithmetic shift right by 3 with bits
/// 30-28 cleared puts the sign at bit 31 and the half's exponent and fraction at binary32's
/// positions, which read as a float is the half's value times 2^-112 (half subnormals land on
/// float subnormals); one multiplication by 2^112 rebiases every finite value exactly.
/// Infinities and NaNs (half exponent 31, which became 2^16 x (1 + fraction)) get all
/// exponent bits OR-ed in, keeping sign and fraction. Like every float subnormal, half
/// subnormals need the CPU's denormals-are-zero mode off (the default).
@inlinable @inline(always)
internal func _halfHighBitsToFloat(_ w: SIMD16<UInt32>) -> SIMD16<Float> {
    let t = unsafeBitCast(unsafeBitCast(w, to: SIMD16<Int32>.self) &>> 3, to: SIMD16<UInt32>.self) & 0x8FFF_FFFF
    let scaled = unsafeBitCast(unsafeBitCast(t, to: SIMD16<Float>.self) * SIMD16<Float>(repeating: 0x1p112),
                               to: SIMD16<UInt32>.self)
    let isSpecial = unsafeBitCast(
        unsafeBitCast(w & 0x7FFF_0000, to: SIMD16<Int32>.self) .> SIMD16<Int32>(repeating: 0x7BFF_FFFF),
        to: SIMD16<UInt32>.self)
    return unsafeBitCast(scaled | (isSpecial & 0x7F80_0000), to: SIMD16<Float>.self)
}

/// Widens thirty-two halves, loaded as one `SIMD16<UInt32>` (even elements in the low halves
/// of the lanes, odd ones in the high halves), to two vectors of floats, exactly, with the
/// method of ``_halfHighBitsToFloat(_:)``. The fix-up for infinities and NaNs runs only for
/// blocks that hold one (one 16-bit compare per eight halves finds them); the other blocks
/// need three operations per four elements: an arithmetic shift, a mask and a multiplication.
@inlinable @inline(always)
internal func _widenHalfPair(_ v: SIMD16<UInt32>) -> _FloatLanePair {
    if _slowPath(_anyHalfInfinityOrNaN(v)) {
        return _FloatLanePair(even: _halfHighBitsToFloat(v &<< 16), odd: _halfHighBitsToFloat(v & 0xFFFF_0000))
    }
    let scale = SIMD16<Float>(repeating: 0x1p112)
    let evenBits = unsafeBitCast(unsafeBitCast(v &<< 16, to: SIMD16<Int32>.self) &>> 3, to: SIMD16<UInt32>.self) & 0x8FFF_FFFF
    // The odd half is already in place; the shift brings 13 bits of the even one below it,
    // which the mask clears.
    let oddBits = unsafeBitCast(unsafeBitCast(v, to: SIMD16<Int32>.self) &>> 3, to: SIMD16<UInt32>.self) & 0x8FFF_E000
    return _FloatLanePair(even: unsafeBitCast(evenBits, to: SIMD16<Float>.self) * scale,
                          odd: unsafeBitCast(oddBits, to: SIMD16<Float>.self) * scale)
}

/// Whether any of the thirty-two halves in `v` is an infinity or a NaN (exponent 31).
@inlinable @inline(always)
internal func _anyHalfInfinityOrNaN(_ v: SIMD16<UInt32>) -> Bool {
    // The mask on 32-bit lanes: 16-bit vector-with-scalar operators compile lane by lane.
    let h = unsafeBitCast(v & 0x7FFF_7FFF, to: SIMD32<Int16>.self)
    return _anyBitSet(unsafeBitCast(h .> SIMD32<Int16>(repeating: 0x7BFF), to: SIMD16<Int32>.self))
}

/// Whether any bit of `m` is set (the registers OR-ed together, one mask move).
@inlinable @inline(always)
internal func _anyBitSet(_ m: SIMD16<Int32>) -> Bool {
    let m8 = m.lowHalf | m.highHalf
    let m4 = m8.lowHalf | m8.highHalf
    return (m4[0] | m4[1] | m4[2] | m4[3]) != 0
}

/// Rounds two vectors of floats to halves and puts them back together: even elements in the
/// low halves of the lanes, odd ones in the high halves (``_floatToHalfHighBits(_:)``).
@inlinable @inline(always)
internal func _narrowHalfPair(_ even: SIMD16<Float>, _ odd: SIMD16<Float>) -> SIMD16<UInt32> {
    (_floatToHalfHighBits(even) &>> 16) | _floatToHalfHighBits(odd)
}

/// Rounds sixteen floats to IEEE 754 binary16 bit patterns (in the low 16 bits of each lane):
/// to nearest, ties to even; values at or beyond 65520 in magnitude become ±infinity; results
/// below 2^-14 become subnormals (or ±0) rounded the same way; NaN stays NaN (quiet, sign and
/// top payload bits kept, as F16C does). See ``_floatToHalfHighBits(_:)``, which this calls.
@inlinable @inline(always)
internal func _floatToHalfBits(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    _floatToHalfHighBits(x) &>> 16
}

/// Rounds sixteen floats to binary16 bit patterns in the HIGH 16 bits of each lane (low 16 bits
/// zero), with the rounding of ``_floatToHalfBits(_:)``.
///
/// Twelve vector operations, no selects: the FPU does the rounding. With a = |x| clamped to
/// 65536 (minps, which lets NaN through) and M = 2^13 x max(2^e, 2^-14), where 2^e is a's
/// binade, a + M rounds a to the half's spacing 2^(e-10) (2^-24 for subnormal halves), to
/// nearest even, and (a + M) - M is that rounded value exactly. Multiplied by 2^-112 it becomes
/// the float whose bits 27-13 are the half's exponent and fraction (half subnormals again land
/// on float subnormals, exactly); values that round to 65536 or more give 0x7C00, infinity. A
/// NaN goes through the additions and the multiplication as itself, quieted, and its shifted
/// pattern, masked to 15 bits, is 0x7E00 plus the top nine payload bits. The sign is OR-ed
/// back last.
@inlinable @inline(always)
internal func _floatToHalfHighBits(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let a = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    let c = _minimumPassingNaN(SIMD16<Float>(repeating: 65536), a)
    let binade = unsafeBitCast(unsafeBitCast(c, to: SIMD16<UInt32>.self) & 0x7F80_0000, to: SIMD16<Float>.self)
    let m = unsafeBitCast(
        unsafeBitCast(_maximumOf(SIMD16<Float>(repeating: 0x1p-14), binade), to: SIMD16<UInt32>.self) &+ (13 << 23),
        to: SIMD16<Float>.self)
    let rounded = (c + m) - m
    let s = unsafeBitCast(rounded * SIMD16<Float>(repeating: 0x1p-112), to: SIMD16<UInt32>.self)
    return ((s &<< 3) & 0x7FFF_0000) | (bits & 0x8000_0000)
}

/// `k < x ? k : x` lane by lane (MINPS with `k` first): a NaN `x` comes through unchanged.
@inlinable @inline(always)
internal func _minimumPassingNaN(_ k: SIMD16<Float>, _ x: SIMD16<Float>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = k[i] < x[i] ? k[i] : x[i] }
    return r
}

/// `k > x ? k : x` lane by lane (MAXPS with `k` first; a NaN `x` comes through unchanged).
@inlinable @inline(always)
internal func _maximumOf(_ k: SIMD16<Float>, _ x: SIMD16<Float>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = k[i] > x[i] ? k[i] : x[i] }
    return r
}

/// Widens sixteen bfloat16 bit patterns, in the low 16 bits of each lane, to `Float` (exact: a
/// bfloat16 is the top half of a float).
@inlinable @inline(always)
internal func _bfloat16BitsToFloat(_ h32: SIMD16<UInt32>) -> SIMD16<Float> {
    unsafeBitCast(h32 &<< 16, to: SIMD16<Float>.self)
}

/// Rounds sixteen floats to bfloat16 bit patterns (in the low 16 bits of each lane), to nearest, ties to even (overflow to
/// ±infinity); NaN stays a quiet NaN with its sign and top payload bits. Same results as
/// ``BFloat16/init(_:)``.
@inlinable @inline(always)
internal func _floatToBFloat16Bits(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    _floatToBFloat16HighBits(x) &>> 16
}

/// Rounds sixteen floats to bfloat16 bit patterns in the HIGH 16 bits of each lane (the low 16
/// bits are not cleared: callers mask or shift them out), with the rounding of
/// ``_floatToBFloat16Bits(_:)``: add 0x7FFF plus the lowest kept bit, except in NaN lanes,
/// which get the quiet bit instead and no rounding carry.
@inlinable @inline(always)
internal func _floatToBFloat16HighBits(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let ordered = unsafeBitCast(x .== x, to: SIMD16<UInt32>.self)
    let bias = (((bits &>> 16) & 1) &+ 0x7FFF) & ordered
    return (bits | (~ordered & 0x0040_0000)) &+ bias
}

/// The same as ``_floatToBFloat16HighBits(_:)`` for lanes that are not NaN (four operations);
/// a NaN lane may come out as any value.
@inlinable @inline(always)
internal func _floatToBFloat16HighBitsNotNaN(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    return bits &+ (((bits &>> 16) & 1) &+ 0x7FFF)
}

/// Whether any lane of `a` or `b` is NaN (one unordered compare per register pair, OR-ed
/// together, one mask move).
@inlinable @inline(always)
internal func _anyNaN(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> Bool {
    _anyBitSet(unsafeBitCast((a .!= a) .| (b .!= b), to: SIMD16<Int32>.self))
}

/// Thirty-two floats (even and odd elements) rounded to bfloat16 and put back together: even
/// elements in the low halves of the lanes, odd ones in the high halves. Blocks without a NaN
/// (the usual case) take the four-operation rounding; a block with a NaN takes the full one.
@inlinable @inline(always)
internal func _narrowBFloat16Pair(_ even: SIMD16<Float>, _ odd: SIMD16<Float>) -> SIMD16<UInt32> {
    if _slowPath(_anyNaN(even, odd)) {
        return (_floatToBFloat16HighBits(even) &>> 16) | (_floatToBFloat16HighBits(odd) & 0xFFFF_0000)
    }
    return (_floatToBFloat16HighBitsNotNaN(even) &>> 16) | (_floatToBFloat16HighBitsNotNaN(odd) & 0xFFFF_0000)
}

// MARK: - Sums of two 16-bit vectors
//
// The two-operand loops (in place, out of place) call these for sums: the same results as
// widening both operands, adding in binary32 and narrowing, with fewer operations.

/// Thirty-two bfloat16 sums `a + b` (both loaded as the kernels load them: even elements in the
/// low halves of the lanes), rounded once to nearest even. The same bits as
/// `_narrowBFloat16Pair` of the widened sums, without its NaN test: both operands have zero low
/// 16 bits, and so does every NaN an addition returns (an operand's NaN, quieted with its
/// payload kept, or the default NaN 0x7FC00000 / 0xFFC00000, as x86 and ARM do), so the
/// rounding increment (0x7FFF or 0x8000) never reaches a NaN's top half, which is already quiet.
@inlinable @inline(always)
internal func _bfloat16SumPair(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<UInt32> {
    let even = unsafeBitCast(a &<< 16, to: SIMD16<Float>.self) + unsafeBitCast(b &<< 16, to: SIMD16<Float>.self)
    let odd = unsafeBitCast(a & 0xFFFF_0000, to: SIMD16<Float>.self) + unsafeBitCast(b & 0xFFFF_0000, to: SIMD16<Float>.self)
    return (_floatToBFloat16HighBitsNotNaN(even) &>> 16) | (_floatToBFloat16HighBitsNotNaN(odd) & 0xFFFF_0000)
}

/// Whether any of the sixty-four halves in `a` and `b` is an infinity or a NaN.
@inlinable @inline(always)
internal func _anyHalfInfinityOrNaN(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> Bool {
    let limit = SIMD32<Int16>(repeating: 0x7BFF)
    let x = unsafeBitCast(a & 0x7FFF_7FFF, to: SIMD32<Int16>.self)
    let y = unsafeBitCast(b & 0x7FFF_7FFF, to: SIMD32<Int16>.self)
    return _anyBitSet(unsafeBitCast((x .> limit) .| (y .> limit), to: SIMD16<Int32>.self))
}

/// Thirty-two half sums `a + b` (both loaded as the kernels load them), rounded once to nearest
/// even: the same bits as `_narrowHalfPair` of the sums of `_widenHalfPair(a)` and
/// `_widenHalfPair(b)`, in about three quarters of the operations when no operand is an
/// infinity or a NaN (blocks that hold one take that exact path).
///
/// The fast path computes in binary32 scaled by 2^-112, where a half's bits shifted into
/// binary32's place already are its value (see ``_halfHighBitsToFloat(_:)``): it drops the
/// widening and narrowing multiplications. The scaled sum is the scaled binary32 sum exactly:
/// above 2^-126 (scaled) both round to 24 bits in binades 112 apart, and below it the exact
/// sum of two halves is a multiple of 2^-24 (scaled 2^-136) under 2^-14, which a binary32
/// subnormal holds exactly. In the scaled domain the bits of |x| are the half's bits shifted
/// left by 13 plus 13 bits to round away, for normal halves (binary32 normals) and subnormal
/// ones (binary32 subnormals) alike, so rounding to a half is an integer round to nearest even
/// at bit 13, whose carry moves into the exponent as it should (up to 0x7C00, infinity, for
/// |x| clamped to 65536 scaled); the sign is OR-ed back. (Needs denormals-are-zero off, the
/// default.)
@inlinable @inline(always)
internal func _halfSumPair(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<UInt32> {
    if _slowPath(_anyHalfInfinityOrNaN(a, b)) { return _halfSumPairExact(a, b) }
    return _halfSumPairFinite(a, b)
}

/// ``_halfSumPair(_:_:)``'s fast path: correct when no half in `a` or `b` is an infinity or a
/// NaN (``_anyHalfInfinityOrNaN(_:_:)``).
@inlinable @inline(always)
internal func _halfSumPairFinite(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<UInt32> {
    // Even halves moved to the high halves of the lanes; the odd ones are there already (the
    // mask clears the 13 bits of the even half that the shift brings below them).
    let even = _halfHighBitsScaled(a &<< 16, mask: 0x8FFF_FFFF) + _halfHighBitsScaled(b &<< 16, mask: 0x8FFF_FFFF)
    let odd = _halfHighBitsScaled(a, mask: 0x8FFF_E000) + _halfHighBitsScaled(b, mask: 0x8FFF_E000)
    let evenBits = unsafeBitCast(even, to: SIMD16<UInt32>.self), oddBits = unsafeBitCast(odd, to: SIMD16<UInt32>.self)
    let signs = ((evenBits & 0x8000_0000) &>> 16) | (oddBits & 0x8000_0000)
    return (_roundedScaledHalfMagnitude(even) &>> 13) | ((_roundedScaledHalfMagnitude(odd) &>> 13) &<< 16) | signs
}

/// ``_halfSumPair(_:_:)`` for blocks with an infinity or a NaN: widened exactly, added, narrowed.
/// Out of line, so that the fast path's registers and instructions stay its own.
@usableFromInline @inline(never)
internal func _halfSumPairExact(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<UInt32> {
    let evenA = _halfHighBitsToFloat(a &<< 16), oddA = _halfHighBitsToFloat(a & 0xFFFF_0000)
    var even = evenA + _halfHighBitsToFloat(b &<< 16)
    var odd = oddA + _halfHighBitsToFloat(b & 0xFFFF_0000)
    // Two NaNs give the first operand's, as x86's ADDPS returns and the AVX2 loops give: chosen
    // here, since the compiler may swap the operands of an addition (the narrowing quiets it).
    even.replace(with: evenA, where: evenA .!= evenA)
    odd.replace(with: oddA, where: oddA .!= oddA)
    return _narrowHalfPair(even, odd)
}

/// `dst = a + b` in halves for `vectors` (1 or 2) consecutive `SIMD16<UInt32>` vectors from
/// byte `offset` (`Float16`'s sums in release builds without F16C). Vector by vector: a block
/// with an infinity or a NaN goes to the exact path, which loads its operands again, so that no
/// vector value flows into that call (when one did, the compiler took lanes of the fast path
/// apart into scalar code). A vector's loads precede its store and the vectors do not overlap,
/// so `dst` may be `a` or `b`.
@inlinable @inline(always)
internal func _halfSumVectors(_ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int) {
    var v = 0
    while v < vectors {
        let at = offset &+ v &* MemoryLayout<SIMD16<UInt32>>.stride
        let x = a.loadUnaligned(fromByteOffset: at, as: SIMD16<UInt32>.self)
        let y = b.loadUnaligned(fromByteOffset: at, as: SIMD16<UInt32>.self)
        if _slowPath(_anyHalfInfinityOrNaN(x, y)) {
            _halfSumExact(into: dst, a, b, atByteOffset: at)
        } else {
            dst.storeBytes(of: _halfSumPairFinite(x, y), toByteOffset: at, as: SIMD16<UInt32>.self)
        }
        v &+= 1
    }
}

/// `dst = a + b` in bfloat16 for `vectors` (1 or 2) consecutive `SIMD16<UInt32>` vectors from
/// byte `offset` (``BFloat16``'s sums in release builds); all loads precede the stores, so
/// `dst` may be `a` or `b`.
@inlinable @inline(always)
internal func _bfloat16SumVectors(_ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int) {
    let step = MemoryLayout<SIMD16<UInt32>>.stride
    if vectors == 2 {
        let a0 = a.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
        let a1 = a.loadUnaligned(fromByteOffset: offset &+ step, as: SIMD16<UInt32>.self)
        let b0 = b.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
        let b1 = b.loadUnaligned(fromByteOffset: offset &+ step, as: SIMD16<UInt32>.self)
        dst.storeBytes(of: _bfloat16SumPair(a0, b0), toByteOffset: offset, as: SIMD16<UInt32>.self)
        dst.storeBytes(of: _bfloat16SumPair(a1, b1), toByteOffset: offset &+ step, as: SIMD16<UInt32>.self)
    } else {
        let x = a.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
        let y = b.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
        dst.storeBytes(of: _bfloat16SumPair(x, y), toByteOffset: offset, as: SIMD16<UInt32>.self)
    }
}

/// The exact half sum of the vectors at byte `offset` of `a` and `b`, stored at the same offset
/// of `dst` (which may be `a` or `b`): the kernels' path for blocks with an infinity or a NaN.
@usableFromInline @inline(never)
internal func _halfSumExact(into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int) {
    let x = a.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
    let y = b.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
    dst.storeBytes(of: _halfSumPairExact(x, y), toByteOffset: offset, as: SIMD16<UInt32>.self)
}

/// Halves in the high 16 bits of the lanes as binary32 values scaled by 2^-112: an arithmetic
/// shift right by 3, and `mask` (0x8FFF_FFFF, or 0x8FFF_E000 to clear what lies below) clears
/// the three copies of the sign. No infinities or NaNs.
@inlinable @inline(always)
internal func _halfHighBitsScaled(_ w: SIMD16<UInt32>, mask: UInt32) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(unsafeBitCast(w, to: SIMD16<Int32>.self) &>> 3, to: SIMD16<UInt32>.self) & mask,
                  to: SIMD16<Float>.self)
}

/// |x| (x finite, scaled by 2^-112) rounded to the nearest half, ties to even, and clamped to
/// 65536 (scaled): binary32 bits whose bits 27-13 are the half's exponent and fraction (bits
/// 12-0 are left over from the rounding; callers shift them out). ``_halfSumPair(_:_:)`` has the
/// method: `bits + 0x0FFF + bit 13`.
@inlinable @inline(always)
internal func _roundedScaledHalfMagnitude(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    let magnitude = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    let c = unsafeBitCast(_minimumPassingNaN(SIMD16<Float>(repeating: 0x1p-96), magnitude), to: SIMD16<UInt32>.self)
    return c &+ (((c &>> 13) & 1) &+ 0x0FFF)
}

/// `Float16(x)`, except that a NaN becomes a quiet NaN with its sign and top nine payload bits,
/// as VCVTPS2PH and ``_floatToHalfBits(_:)`` do. (Without F16C, `Float16(x)` calls a library
/// routine that keeps a signaling NaN signaling, so the scalar tail and the vector body would
/// disagree on a signaling NaN's result.)
@inlinable @inline(__always)
internal func _halfQuietingNaN(_ x: Float) -> Float16 {
    guard x.isNaN else { return Float16(x) }
    let bits = x.bitPattern
    return Float16(bitPattern: UInt16(truncatingIfNeeded: ((bits >> 16) & 0x8000) | 0x7E00 | ((bits >> 13) & 0x01FF)))
}

#if COLLECTIVE_KERNELS_F16C
// A tuned build for a CPU with F16C (Scripts/bench-kernels passes -DCOLLECTIVE_KERNELS_F16C
// together with -target-cpu native when /proc/cpuinfo lists f16c) converts halves with the
// hardware instructions instead: these lane loops compile to VCVTPH2PS/VCVTPS2PH, which round
// the same way (to nearest even; NaN stays a quiet NaN with its sign and top payload bits).
// Without F16C the same loops would call a library routine per element, hence the flag.

/// Hardware widening of sixteen halves (low 16 bits of each lane) to `Float`.
@inlinable @inline(always)
internal func _halfBitsToFloatF16C(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(Float16(bitPattern: UInt16(truncatingIfNeeded: h[i]))) }
    return r
}

/// Hardware rounding of sixteen floats to half bit patterns (low 16 bits of each lane).
@inlinable @inline(always)
internal func _floatToHalfBitsF16C(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
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
internal func _widenHalfPairDebug(_ v: SIMD16<UInt32>) -> _FloatLanePair {
    var even = SIMD16<Float>(), odd = SIMD16<Float>()
    for i in 0..<16 {
        let w = v[i]
        even[i] = Float(Float16(bitPattern: UInt16(truncatingIfNeeded: w)))
        odd[i] = Float(Float16(bitPattern: UInt16(truncatingIfNeeded: w >> 16)))
    }
    return _FloatLanePair(even: even, odd: odd)
}

@inlinable
internal func _narrowHalfPairDebug(_ p: _FloatLanePair) -> SIMD16<UInt32> {
    var r = SIMD16<UInt32>()
    for i in 0..<16 { r[i] = UInt32(_halfQuietingNaN(p.even[i]).bitPattern) | UInt32(_halfQuietingNaN(p.odd[i]).bitPattern) << 16 }
    return r
}

@inlinable
internal func _widenBFloat16PairDebug(_ v: SIMD16<UInt32>) -> _FloatLanePair {
    var even = SIMD16<Float>(), odd = SIMD16<Float>()
    for i in 0..<16 {
        let w = v[i]
        even[i] = Float(bitPattern: w << 16)
        odd[i] = Float(bitPattern: w & 0xFFFF_0000)
    }
    return _FloatLanePair(even: even, odd: odd)
}

@inlinable
internal func _narrowBFloat16PairDebug(_ p: _FloatLanePair) -> SIMD16<UInt32> {
    var r = SIMD16<UInt32>()
    for i in 0..<16 { r[i] = UInt32(BFloat16(p.even[i]).bitPattern) | UInt32(BFloat16(p.odd[i]).bitPattern) << 16 }
    return r
}
#endif
