import Testing
import CollectiveKernels

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
