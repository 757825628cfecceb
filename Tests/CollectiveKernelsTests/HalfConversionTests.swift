import Testing
import CollectiveCore
@testable import CollectiveKernels

/// Runs the SIMD half/bfloat16 conversions on arrays, sixteen lanes at a time.
func simdWidenHalf(_ bits: [UInt16]) -> [UInt32] {
    var out: [UInt32] = []
    for start in stride(from: 0, to: bits.count, by: 16) {
        var v = SIMD16<UInt32>()
        for i in 0..<16 where start + i < bits.count { v[i] = UInt32(bits[start + i]) }
        let f = _halfBitsToFloat(v)
        for i in 0..<16 where start + i < bits.count { out.append(f[i].bitPattern) }
    }
    return out
}

func simdNarrow(_ values: [Float], _ convert: (SIMD16<Float>) -> SIMD16<UInt32>) -> [UInt16] {
    var out: [UInt16] = []
    for start in stride(from: 0, to: values.count, by: 16) {
        var v = SIMD16<Float>()
        for i in 0..<16 where start + i < values.count { v[i] = values[start + i] }
        let h = convert(v)
        for i in 0..<16 where start + i < values.count {
            #expect(h[i] >> 16 == 0, "high bits of a narrowed lane must be zero")
            out.append(UInt16(truncatingIfNeeded: h[i]))
        }
    }
    return out
}

/// Half values compared as Swift's conversions give them: exact bits, or NaN for NaN with the
/// same sign and (for narrowing) quiet NaN with the top payload bits (F16C's rule).
func halfMatches(_ got: UInt16, _ expected: Float16, from x: Float) -> Bool {
    if expected.isNaN {
        let b = UInt32(x.bitPattern)
        return got == UInt16(((b >> 16) & 0x8000) | 0x7E00 | ((b >> 13) & 0x01FF))
    }
    return got == expected.bitPattern
}

/// An independent round-to-nearest-even to bfloat16: compare the distances to the two
/// candidates in Double.
func referenceBFloat16(_ x: Float) -> UInt16 {
    if x.isNaN { return UInt16(x.bitPattern >> 16) | 0x40 }
    let lo = UInt16(x.bitPattern >> 16)
    let hi = lo &+ 1
    let dl = abs(Double(x) - Double(Float(bitPattern: UInt32(lo) << 16)))
    let hiValue = Float(bitPattern: UInt32(hi) << 16)
    // Past the largest finite bfloat16 the next value up is 2^128 with unbounded exponent
    // (IEEE 754's overflow rule): ties and larger values round to infinity.
    let hiDouble = hiValue.isInfinite ? (x.sign == .minus ? -0x1p128 : 0x1p128) : Double(hiValue)
    let dh = abs(Double(x) - hiDouble)
    if dl < dh { return lo }
    if dh < dl { return hi }
    return lo & 1 == 0 ? lo : hi
}

@Suite("Half and bfloat16 conversions")
struct HalfConversionTests {
    @Test("half -> float: all 65,536 bit patterns, exact")
    func widenAll() {
        let all = (0...UInt16.max).map { $0 }
        let got = simdWidenHalf(all)
        for h in all {
            let expected = Float(Float16(bitPattern: h))
            let g = Float(bitPattern: got[Int(h)])
            if expected.isNaN {
                #expect(g.isNaN && g.bitPattern == (UInt32(h & 0x8000) << 16 | 0x7F80_0000 | UInt32(h & 0x3FF) << 13), "half 0x\(String(h, radix: 16))")
            } else if g.bitPattern != expected.bitPattern {
                Issue.record("half 0x\(String(h, radix: 16)): got \(g), expected \(expected)")
                return
            }
        }
    }

    @Test("float -> half: every half round-trips, every tie rounds to even, neighbours of ties")
    func narrowTiesAndRoundTrip() {
        var inputs: [Float] = []
        for h in (0...UInt16.max) {
            let v = Float16(bitPattern: h)
            inputs.append(Float(v))
            // The midpoint to the next half up in magnitude (exact in binary32), and its neighbours.
            if v.isFinite {
                let next = Float16(bitPattern: h &+ 1)
                let nextValue: Float = next.isFinite ? Float(next) : (h & 0x8000 == 0 ? 65536 : -65536)
                let mid = (Float(v) + nextValue) / 2
                inputs.append(mid)
                inputs.append(mid.nextUp)
                inputs.append(mid.nextDown)
            }
        }
        let got = simdNarrow(inputs, _floatToHalfBits)
        var failures = 0
        for (i, x) in inputs.enumerated() where !halfMatches(got[i], Float16(x), from: x) {
            failures += 1
            if failures <= 3 { Issue.record("float \(x) (0x\(String(x.bitPattern, radix: 16))): got 0x\(String(got[i], radix: 16)), expected 0x\(String(Float16(x).bitPattern, radix: 16))") }
        }
        #expect(failures == 0)
        // Spot checks: 1 + 2^-11 is a tie between 1 and 1 + 2^-10: even is 1.
        #expect(simdNarrow([1 + 0x1p-11, 1 + 3 * 0x1p-11, 65519, 65520, 0x1p-25, 0x1.8p-24, -0.0], _floatToHalfBits)
                == [0x3C00, 0x3C02, 0x7BFF, 0x7C00, 0x0000, 0x0002, 0x8000])
    }

    @Test("float -> half: 2,000,000 random floats against Swift's Float16(Float)")
    func narrowRandom() {
        var rng = SplitMix64(seed: 2024)
        var inputs: [Float] = []
        for n in 0..<2_000_000 {
            let r = rng.next()
            if n % 2 == 0 {
                inputs.append(Float(bitPattern: UInt32(truncatingIfNeeded: r)))
            } else {
                // Concentrated on the half range, including its subnormals and overflow edge.
                let exponent = UInt32(127 - 26 + Int(r % 44)) << 23
                inputs.append(Float(bitPattern: exponent | UInt32(truncatingIfNeeded: r >> 8) & 0x807F_FFFF))
            }
        }
        let got = simdNarrow(inputs, _floatToHalfBits)
        var failures = 0
        for (i, x) in inputs.enumerated() where !halfMatches(got[i], Float16(x), from: x) {
            failures += 1
            if failures <= 3 { Issue.record("float \(x) (0x\(String(x.bitPattern, radix: 16))): got 0x\(String(got[i], radix: 16))") }
        }
        #expect(failures == 0)
    }

    @Test("float -> bfloat16: ties, neighbours and random floats, SIMD and scalar, against an independent rounding")
    func bfloat16Rounding() {
        var inputs: [Float] = [.nan, -.nan, .infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude,
                               .leastNonzeroMagnitude, Float(bitPattern: 0x7F7F_8000), Float(bitPattern: 0x7F7F_7FFF)]
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200_000 {
            let hi = UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF_0000
            // Exact ties (low half 0x8000) for even and odd kept bits, their neighbours, and random low halves.
            for low: UInt32 in [0x8000, 0x7FFF, 0x8001, UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF] {
                inputs.append(Float(bitPattern: hi | low))
            }
        }
        let simd = simdNarrow(inputs, _floatToBFloat16Bits)
        var failures = 0
        for (i, x) in inputs.enumerated() {
            let expected = referenceBFloat16(x)
            let scalar = BFloat16(x).bitPattern
            if simd[i] != expected || scalar != expected {
                failures += 1
                if failures <= 3 { Issue.record("float 0x\(String(x.bitPattern, radix: 16)): SIMD 0x\(String(simd[i], radix: 16)), scalar 0x\(String(scalar, radix: 16)), expected 0x\(String(expected, radix: 16))") }
            }
        }
        #expect(failures == 0)
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even is 1. 1 + 3 x 2^-8 rounds up to 1 + 2^-6.
        #expect(BFloat16(1 + 0x1p-8).bitPattern == 0x3F80)
        #expect(BFloat16(1 + 3 * 0x1p-8).bitPattern == 0x3F82)
        #expect(BFloat16(Float.nan).floatValue.isNaN)
    }

    @Test("bfloat16 -> float is exact for all 65,536 bit patterns")
    func bfloat16Widen() {
        for h in 0...UInt16.max {
            var v = SIMD16<UInt32>()
            v[3] = UInt32(h)
            let f = _bfloat16BitsToFloat(v)[3]
            #expect(f.bitPattern == UInt32(h) << 16)
            if f.bitPattern != UInt32(h) << 16 { return }
        }
    }

    @Test("half and bfloat16 sums round once, to nearest even, at exact ties")
    func kernelTies() {
        // Float16: 2048 + 1 is a tie between 2048 and 2050 (spacing 2): even is 2048;
        // 2050 + 1 is a tie between 2050 and 2052: even is 2052. In the body and in the tail.
        for count in [1, 16, 17, 33] {
            var a = [Float16](repeating: 2048, count: count)
            var b = [Float16](repeating: 2050, count: count)
            let one = [Float16](repeating: 1, count: count)
            a.withUnsafeMutableBufferPointer { ap in one.withUnsafeBufferPointer { ReductionKernels.reduceInPlace(ap, $0, op: .sum) } }
            b.withUnsafeMutableBufferPointer { bp in one.withUnsafeBufferPointer { ReductionKernels.reduceInPlace(bp, $0, op: .sum) } }
            #expect(a.allSatisfy { $0 == 2048 }, "count \(count)")
            #expect(b.allSatisfy { $0 == 2052 }, "count \(count)")

            // Fused: 2048 + 1 + 1 rounds once (2050), where two half additions would give 2048.
            var f = [Float16](repeating: 0, count: count)
            let big = [Float16](repeating: 2048, count: count)
            big.withUnsafeBufferPointer { bp in one.withUnsafeBufferPointer { op in
                f.withUnsafeMutableBufferPointer { ReductionKernels.reduceFused(into: $0, sources: [bp, op, op], op: .sum) }
            } }
            #expect(f.allSatisfy { $0 == 2050 }, "count \(count)")

            // bfloat16: 256 + 1 is a tie between 256 and 258: even is 256; 258 + 1 -> 260.
            var c = [BFloat16](repeating: BFloat16(256), count: count)
            var d = [BFloat16](repeating: BFloat16(258), count: count)
            let bOne = [BFloat16](repeating: BFloat16(1), count: count)
            c.withUnsafeMutableBufferPointer { cp in bOne.withUnsafeBufferPointer { ReductionKernels.reduceInPlace(cp, $0, op: .sum) } }
            d.withUnsafeMutableBufferPointer { dp in bOne.withUnsafeBufferPointer { ReductionKernels.reduceInPlace(dp, $0, op: .sum) } }
            #expect(c.allSatisfy { $0.floatValue == 256 }, "count \(count)")
            #expect(d.allSatisfy { $0.floatValue == 260 }, "count \(count)")
        }
    }
}

/// The pair conversions the release kernels run (thirty-two 16-bit elements per
/// `SIMD16<UInt32>`, even elements in the low halves), including their fast paths for blocks
/// without infinities or NaNs, against Swift's scalar conversions.
@Suite("Half and bfloat16 pair conversions (kernel paths)")
struct HalfPairConversionTests {
    /// Packs 32 16-bit patterns as the kernels load them.
    static func pack(_ bits: ArraySlice<UInt16>) -> SIMD16<UInt32> {
        var v = SIMD16<UInt32>()
        for (i, b) in bits.enumerated() {
            if i % 2 == 0 { v[i / 2] |= UInt32(b) } else { v[i / 2] |= UInt32(b) << 16 }
        }
        return v
    }

    @Test("half pairs -> float: all 65,536 patterns, in blocks with and without infinities or NaNs")
    func widenPairs() {
        // Finite halves in order (blocks with no exponent-31 pattern: fast path), then blocks
        // that mix every exponent-31 pattern with finite ones (slow path).
        let finite = (0...UInt16.max).filter { $0 & 0x7C00 != 0x7C00 }
        let special = (0...UInt16.max).filter { $0 & 0x7C00 == 0x7C00 }
        var order = finite
        for (i, s) in special.enumerated() { order.append(s); order.append(finite[i * 7 % finite.count]) }
        while order.count % 32 != 0 { order.append(0x3C00) }
        var failures = 0
        for start in stride(from: 0, to: order.count, by: 32) {
            let block = order[start..<start + 32]
            let p = _widenHalfPair(Self.pack(block))
            for (i, h) in block.enumerated() {
                let got = i % 2 == 0 ? p.even[i / 2] : p.odd[i / 2]
                let expected = Float(Float16(bitPattern: h))
                let ok = expected.isNaN
                    ? got.bitPattern == (UInt32(h & 0x8000) << 16 | 0x7F80_0000 | UInt32(h & 0x3FF) << 13)
                    : got.bitPattern == expected.bitPattern
                if !ok {
                    failures += 1
                    if failures <= 3 { Issue.record("half 0x\(String(h, radix: 16)): got \(got)") }
                }
            }
        }
        #expect(failures == 0)
    }

    static func unpack(_ v: SIMD16<UInt32>) -> [UInt16] {
        (0..<32).map { i in UInt16(truncatingIfNeeded: i % 2 == 0 ? v[i / 2] : v[i / 2] >> 16) }
    }

    @Test("float pairs -> half and bfloat16: ties, neighbours, specials, blocks with and without NaN")
    func narrowPairs() {
        var inputs: [Float] = []
        var rng = SplitMix64(seed: 99)
        for h in stride(from: UInt16(0), through: 0x7BFF, by: 3) {
            let v = Float(Float16(bitPattern: h)), next = Float(Float16(bitPattern: h + 1))
            let mid = (v + next) / 2
            for x in [v, mid, mid.nextUp, mid.nextDown] { inputs.append(x); inputs.append(-x) }
        }
        for _ in 0..<40_000 {
            let hi = UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF_0000
            for low: UInt32 in [0x8000, 0x7FFF, 0x8001, UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF] {
                let x = Float(bitPattern: hi | low)
                if !x.isNaN { inputs.append(x) }
            }
        }
        let specials: [Float] = [.nan, -.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFBF_FFFF),
                                 Float(bitPattern: 0x7FFF_FFFF), .infinity, -.infinity, 65520, -65520, 1e30, -0.0]
        // Blocks of 32 without NaN first, then the same values with a special every few lanes.
        var blocks: [[Float]] = stride(from: 0, to: inputs.count - 32, by: 32).map { Array(inputs[$0..<$0 + 32]) }
        for (k, b) in blocks.prefix(2_000).enumerated() {
            var c = b
            c[k % 32] = specials[k % specials.count]
            c[(k * 7 + 3) % 32] = specials[(k + 5) % specials.count]
            blocks.append(c)
        }
        var failures = 0
        for b in blocks {
            var even = SIMD16<Float>(), odd = SIMD16<Float>()
            for i in 0..<16 { even[i] = b[2 * i]; odd[i] = b[2 * i + 1] }
            let half = Self.unpack(_narrowHalfPair(even, odd))
            let bf = Self.unpack(_narrowBFloat16Pair(even, odd))
            for (i, x) in b.enumerated() {
                if !halfMatches(half[i], Float16(x), from: x) || bf[i] != referenceBFloat16(x) || bf[i] != BFloat16(x).bitPattern {
                    failures += 1
                    if failures <= 3 { Issue.record("float 0x\(String(x.bitPattern, radix: 16)): half 0x\(String(half[i], radix: 16)), bfloat16 0x\(String(bf[i], radix: 16))") }
                }
            }
        }
        #expect(failures == 0)
    }
}

/// The sums of two 16-bit vectors that the release two-operand loops run
/// (`_halfSumPair`, `_bfloat16SumPair`): every 16-bit pattern as the first operand, against
/// itself, its negation, the smallest subnormal, its neighbour's negation, the partners that make exact ties (half the spacing at its exponent,
/// both signs), and random partners; in blocks without infinities or NaNs (the fast path) and,
/// for half, blocks with one (the exact path). Each lane must equal the scalar conversion of the
/// binary32 sum (Swift's `Float16(Float)`, `BFloat16(Float)` and an independent rounding) and
/// the widen-add-narrow pair path bit for bit; a NaN sum must be a quiet NaN from an operand
/// (or the default NaN).
@Suite("Half and bfloat16 sums of two vectors (kernel paths)")
struct HalfPairSumTests {
    /// Half the spacing between adjacent values at `bits`' exponent, as a 16-bit pattern with
    /// the given sign, or nil where no such value exists in the format. `fractionBits`: 10 for
    /// half, 7 for bfloat16.
    static func tiePartner(_ bits: UInt16, exponentBits: Int, fractionBits: Int, negative: Bool) -> UInt16? {
        let exponentMask = UInt16((1 << exponentBits) - 1)
        let e = Int((bits >> UInt16(fractionBits)) & exponentMask)
        guard e >= 2, e < Int(exponentMask) else { return nil }
        // Spacing 2^(e - bias - f); half of it is 2^(e - bias - f - 1): biased exponent e - f - 1
        // when normal, else the subnormal with the single bit (e - 2).
        let tieExponent = e - fractionBits - 1
        let magnitude = tieExponent >= 1 ? UInt16(tieExponent) << UInt16(fractionBits) : UInt16(1) << UInt16(e - 2)
        return negative ? magnitude | 0x8000 : magnitude
    }

    static func pairs(exponentBits: Int, fractionBits: Int, seed: UInt64) -> [(UInt16, UInt16)] {
        var rng = SplitMix64(seed: seed)
        var out: [(UInt16, UInt16)] = []
        for a in 0...UInt16.max {
            out.append((a, a))
            out.append((a, a ^ 0x8000))
            // The smallest subnormal, and the neighbour's negation (a difference of one unit
            // in the last place: odd multiples of the smallest spacing near zero).
            out.append((a, 0x0001))
            out.append((a, (a ^ 1) ^ 0x8000))
            for negative in [false, true] {
                if let t = tiePartner(a, exponentBits: exponentBits, fractionBits: fractionBits, negative: negative != (a & 0x8000 != 0)) {
                    out.append((a, t))
                }
            }
            out.append((a, UInt16(truncatingIfNeeded: rng.next())))
        }
        return out
    }

    /// Whether `got` is a NaN that an addition may return for operands `p` and `q`: either
    /// NaN operand, quieted with its sign and payload (which of two NaNs is unspecified, and
    /// the optimiser may swap the operands of an addition), or the default NaN of either sign
    /// (infinity minus infinity).
    static func isPropagatedNaN(_ got: UInt16, _ p: UInt16, _ q: UInt16, infinity: UInt16, quietBit: UInt16) -> Bool {
        func isNaN(_ h: UInt16) -> Bool { h & infinity == infinity && h & 0x7FFF != infinity }
        var allowed: Set<UInt16> = [infinity | quietBit, 0x8000 | infinity | quietBit]
        if isNaN(p) { allowed.insert(p | quietBit) }
        if isNaN(q) { allowed.insert(q | quietBit) }
        return allowed.contains(got)
    }

    static func pack(_ pairs: ArraySlice<(UInt16, UInt16)>) -> (SIMD16<UInt32>, SIMD16<UInt32>) {
        (HalfPairConversionTests.pack(pairs.map { $0.0 }[...]), HalfPairConversionTests.pack(pairs.map { $0.1 }[...]))
    }

    @Test("half: a + b rounded once, fast and exact paths")
    func halfSums() {
        let isSpecial = { (h: UInt16) in h & 0x7C00 == 0x7C00 }
        let all = Self.pairs(exponentBits: 5, fractionBits: 10, seed: 11)
        // Fast-path blocks: both operands finite. Exact-path blocks: the pairs with a special,
        // and finite pairs with one special partner put in.
        var finite = all.filter { !isSpecial($0.0) && !isSpecial($0.1) }
        let special = all.filter { isSpecial($0.0) || isSpecial($0.1) }
        while finite.count % 32 != 0 { finite.append((0x3C00, 0x3C00)) }
        var blocks = stride(from: 0, to: finite.count, by: 32).map { Array(finite[$0..<$0 + 32]) }
        #expect(blocks.count > 5_000)
        var mixed = Array(finite.prefix(special.count * 7))
        for (i, s) in special.enumerated() { mixed[i * 7] = s }
        while mixed.count % 32 != 0 { mixed.append((0x7C00, 0xFC00)) }
        blocks += stride(from: 0, to: mixed.count, by: 32).map { Array(mixed[$0..<$0 + 32]) }

        var failures = 0
        for block in blocks {
            let (a, b) = Self.pack(block[...])
            let got = HalfPairConversionTests.unpack(_halfSumPair(a, b))
            let x = _widenHalfPair(a), y = _widenHalfPair(b)
            let pairPath = HalfPairConversionTests.unpack(_narrowHalfPair(x.even + y.even, x.odd + y.odd))
            for (i, (p, q)) in block.enumerated() {
                let sum = Float(Float16(bitPattern: p)) + Float(Float16(bitPattern: q))
                let ok = sum.isNaN
                    ? Self.isPropagatedNaN(got[i], p, q, infinity: 0x7C00, quietBit: 0x0200)
                    : got[i] == pairPath[i] && got[i] == Float16(sum).bitPattern
                if !ok {
                    failures += 1
                    if failures <= 3 {
                        Issue.record("half 0x\(String(p, radix: 16)) + 0x\(String(q, radix: 16)): got 0x\(String(got[i], radix: 16)), pair path 0x\(String(pairPath[i], radix: 16)), Float16 0x\(String(Float16(sum).bitPattern, radix: 16))")
                    }
                }
            }
        }
        #expect(failures == 0)
        // Spot checks: 2048 + 1 is a tie (even: 2048), 2050 + 1 too (even: 2052); 65504 + 16
        // rounds to infinity; a subnormal plus its negation is +0.
        let (a, b) = Self.pack([(0x6800, 0x3C00), (0x6801, 0x3C00), (0x7BFF, 0x4C00), (0x0001, 0x8001)][...])
        #expect(Array(HalfPairConversionTests.unpack(_halfSumPair(a, b)).prefix(4)) == [0x6800, 0x6802, 0x7C00, 0x0000])
    }

    @Test("bfloat16: a + b rounded once, NaN stays a quiet NaN")
    func bfloat16Sums() {
        var all = Self.pairs(exponentBits: 8, fractionBits: 7, seed: 12)
        // Signaling and quiet NaNs of both signs against finite values and each other.
        for n: UInt16 in [0x7F81, 0xFF81, 0x7FC0, 0xFFFF, 0x7FBF] {
            for q: UInt16 in [0x3F80, 0x0001, 0x7F80, 0xFF80, 0x7F81, 0xFFC1] { all.append((n, q)); all.append((q, n)) }
        }
        while all.count % 32 != 0 { all.append((0x3F80, 0x3F80)) }
        var failures = 0
        for start in stride(from: 0, to: all.count, by: 32) {
            let block = all[start..<start + 32]
            let (a, b) = Self.pack(block)
            let got = HalfPairConversionTests.unpack(_bfloat16SumPair(a, b))
            let even = _bfloat16BitsToFloat(a & 0xFFFF) + _bfloat16BitsToFloat(b & 0xFFFF)
            let odd = _bfloat16BitsToFloat(a &>> 16) + _bfloat16BitsToFloat(b &>> 16)
            let pairPath = HalfPairConversionTests.unpack(_narrowBFloat16Pair(even, odd))
            for (i, (p, q)) in block.enumerated() {
                let sum = BFloat16(bitPattern: p).floatValue + BFloat16(bitPattern: q).floatValue
                let expected = BFloat16(sum).bitPattern
                let ok = sum.isNaN
                    ? Self.isPropagatedNaN(got[i], p, q, infinity: 0x7F80, quietBit: 0x0040)
                    : got[i] == expected && got[i] == pairPath[i] && got[i] == referenceBFloat16(sum)
                if !ok {
                    failures += 1
                    if failures <= 3 {
                        Issue.record("bfloat16 0x\(String(p, radix: 16)) + 0x\(String(q, radix: 16)): got 0x\(String(got[i], radix: 16)), expected 0x\(String(expected, radix: 16)), pair path 0x\(String(pairPath[i], radix: 16))")
                    }
                }
            }
        }
        #expect(failures == 0)
        // 256 + 1 is a tie (even: 256); 258 + 1 -> 260.
        let (a, b) = Self.pack([(0x4380, 0x3F80), (0x4381, 0x3F80)][...])
        #expect(Array(HalfPairConversionTests.unpack(_bfloat16SumPair(a, b)).prefix(2)) == [0x4380, 0x4382])
    }

    /// The release loops' entry points (`_halfSumVectors`, `_bfloat16SumVectors`): one and two
    /// vectors, in place (destination = first or second operand) and out of place, with and
    /// without an infinity or a NaN in either vector, against the pair functions vector by vector.
    @Test("sums of one and two vectors from memory, in place and out of place")
    func sumVectorsFromMemory() {
        var rng = SplitMix64(seed: 31)
        func randomHalfBits(special: Bool) -> [UInt16] {
            var v = (0..<32).map { _ in UInt16(truncatingIfNeeded: rng.next()) & 0xBBFF }
            if special { v[Int(rng.next() % 32)] = [0x7C00, 0xFC00, 0x7C01, 0xFE00][Int(rng.next() % 4)] }
            return v
        }
        func randomBFloat16Bits() -> [UInt16] { (0..<32).map { _ in UInt16(truncatingIfNeeded: rng.next()) } }
        for trial in 0..<48 {
            let vectors = trial % 2 + 1
            let special = (trial / 2) % 3  // 0: none, 1: in the first vector, 2: in the last
            let halfA = (0..<vectors).flatMap { randomHalfBits(special: special == 1 && $0 == 0) }
            let halfB = (0..<vectors).flatMap { randomHalfBits(special: special == 2 && $0 == vectors - 1) }
            let bfA = (0..<vectors).flatMap { _ in randomBFloat16Bits() }
            let bfB = (0..<vectors).flatMap { _ in randomBFloat16Bits() }
            for (a, b, isHalf) in [(halfA, halfB, true), (bfA, bfB, false)] {
                var expected: [UInt16] = []
                for v in 0..<vectors {
                    let x = HalfPairConversionTests.pack(a[(v * 32)..<(v * 32 + 32)])
                    let y = HalfPairConversionTests.pack(b[(v * 32)..<(v * 32 + 32)])
                    expected += HalfPairConversionTests.unpack(isHalf ? _halfSumPair(x, y) : _bfloat16SumPair(x, y))
                }
                // Out of place at an odd byte offset, then in place into a and into b.
                for form in 0..<3 {
                    let offset = 6
                    let bytes = offset + vectors * 64
                    let pa = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                    let pb = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                    let pd = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                    defer { pa.deallocate(); pb.deallocate(); pd.deallocate() }
                    for i in 0..<(vectors * 32) {
                        pa.storeBytes(of: a[i], toByteOffset: offset + 2 * i, as: UInt16.self)
                        pb.storeBytes(of: b[i], toByteOffset: offset + 2 * i, as: UInt16.self)
                    }
                    let dst = [pd, pa, pb][form]
                    if isHalf {
                        _halfSumVectors(vectors, into: dst, UnsafeRawPointer(pa), UnsafeRawPointer(pb), atByteOffset: offset)
                    } else {
                        _bfloat16SumVectors(vectors, into: dst, UnsafeRawPointer(pa), UnsafeRawPointer(pb), atByteOffset: offset)
                    }
                    let got = (0..<(vectors * 32)).map { dst.loadUnaligned(fromByteOffset: offset + 2 * $0, as: UInt16.self) }
                    #expect(got == expected, "\(isHalf ? "half" : "bfloat16"), \(vectors) vector(s), specials \(special), form \(form)")
                }
            }
        }
    }
}
