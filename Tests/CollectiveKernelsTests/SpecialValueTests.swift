import Testing
import CollectiveKernels

/// Every ordered pair of special values (NaN, ±infinity, ±0, subnormals, extremes), laid out so
/// that pairs land both in the vector body and in the scalar tail.
func checkSpecialPairs<E: FloatTestElement>(_: E.Type, op: ReductionOp) {
    let specials = E.specials
    var a: [E] = [], b: [E] = []
    for x in specials { for y in specials { a.append(x); b.append(y) } }
    // Repeat with a one-element shift so every pair is seen at a vector position and in a tail.
    for count in [a.count, a.count - 1, 17, 1] {
        let x = Array(a.suffix(count)), y = Array(b.suffix(count))
        let expected = zip(x, y).map { E.referenceCombine($0, $1, op) }
        var out = [E](repeating: x[0], count: count)
        let reducer = Reducer(dataType: E.dataType, op: op)
        x.withUnsafeBytes { xb in y.withUnsafeBytes { yb in out.withUnsafeMutableBytes { ob in
            reducer.reduce(into: ob.baseAddress!, xb.baseAddress!, yb.baseAddress!, count: count)
        } } }
        expectSame(out, expected, "\(E.dataType.name) \(op) special pairs, count \(count)")
    }
}

@Suite("Special values")
struct SpecialValueTests {
    @Test("NaN, ±Inf, ±0, subnormals: every pair, every floating-point type",
          arguments: [DataType.float16, .bfloat16, .float32, .float64], [ReductionOp.sum, .prod, .min, .max])
    func specialPairs(dataType: DataType, op: ReductionOp) {
        switch dataType {
        case .float16: checkSpecialPairs(Float16.self, op: op)
        case .bfloat16: checkSpecialPairs(BFloat16.self, op: op)
        case .float32: checkSpecialPairs(Float.self, op: op)
        default: checkSpecialPairs(Double.self, op: op)
        }
    }

    /// Spelled-out IEEE 754-2019 facts, in the vector body (index 0) and the tail (index 16).
    @Test("min(-0, +0) = -0, max = +0, NaN wins, infinities order", arguments: [16, 17, 33])
    func spelledOut(count: Int) {
        func run(_ op: ReductionOp, _ x: Float, _ y: Float) -> [Float] {
            let a = [Float](repeating: x, count: count), b = [Float](repeating: y, count: count)
            var out = [Float](repeating: 7, count: count)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in out.withUnsafeMutableBufferPointer { op2 in
                ReductionKernels.reduce(into: op2, ap, bp, op: op)
            } } }
            return out
        }
        for r in [run(.min, -0.0, 0.0), run(.min, 0.0, -0.0)] {
            #expect(r.allSatisfy { $0 == 0 && $0.sign == .minus })
        }
        for r in [run(.max, -0.0, 0.0), run(.max, 0.0, -0.0)] {
            #expect(r.allSatisfy { $0 == 0 && $0.sign == .plus })
        }
        for op in [ReductionOp.min, .max, .sum, .prod] {
            #expect(run(op, .nan, 1).allSatisfy { $0.isNaN })
            #expect(run(op, 1, .nan).allSatisfy { $0.isNaN })
            #expect(run(op, .nan, -.infinity).allSatisfy { $0.isNaN })
        }
        #expect(run(.min, .infinity, -.infinity).allSatisfy { $0 == -.infinity })
        #expect(run(.max, -.infinity, .greatestFiniteMagnitude).allSatisfy { $0 == .greatestFiniteMagnitude })
        #expect(run(.sum, .infinity, -.infinity).allSatisfy { $0.isNaN })
        #expect(run(.prod, .infinity, 0).allSatisfy { $0.isNaN })
        #expect(run(.sum, -0.0, -0.0).allSatisfy { $0 == 0 && $0.sign == .minus })
        #expect(run(.sum, -0.0, 0.0).allSatisfy { $0 == 0 && $0.sign == .plus })
        let tiny = Float.leastNonzeroMagnitude
        #expect(run(.sum, tiny, tiny).allSatisfy { $0 == 2 * tiny })
        #expect(run(.min, tiny, -0.0).allSatisfy { $0 == 0 && $0.sign == .minus })
        #expect(run(.sum, .greatestFiniteMagnitude, .greatestFiniteMagnitude).allSatisfy { $0 == .infinity })
    }
}

@Suite("Integer wrap-around")
struct IntegerWrapTests {
    /// 33 elements: 32 in the vector body of an 8-bit type, one in the tail; Open MPI's AVX path
    /// would saturate the first 32 and wrap the last.
    @Test("8-bit sums and products wrap in the vector body and in the tail", arguments: [33, 65, 70])
    func eightBit(count: Int) {
        func run<E: ReductionElement>(_ op: ReductionOp, _ x: E, _ y: E) -> [E] {
            var a = [E](repeating: x, count: count)
            let b = [E](repeating: y, count: count)
            a.withUnsafeMutableBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                ReductionKernels.reduceInPlace(ap, bp, op: op)
            } }
            return a
        }
        #expect(run(.sum, Int8(100), Int8(100)) == [Int8](repeating: -56, count: count))
        #expect(run(.sum, Int8(-128), Int8(-1)) == [Int8](repeating: 127, count: count))
        #expect(run(.sum, UInt8(200), UInt8(100)) == [UInt8](repeating: 44, count: count))
        #expect(run(.prod, Int8(16), Int8(16)) == [Int8](repeating: 0, count: count))
        #expect(run(.prod, UInt8(15), UInt8(18)) == [UInt8](repeating: 14, count: count))  // 270 mod 256
        #expect(run(.sum, Int32.max, Int32(1)) == [Int32](repeating: .min, count: count))
        #expect(run(.sum, UInt32.max, UInt32(2)) == [UInt32](repeating: 1, count: count))
        #expect(run(.prod, Int32(65_536), Int32(65_536)) == [Int32](repeating: 0, count: count))
        #expect(run(.sum, Int64.max, Int64(1)) == [Int64](repeating: .min, count: count))
        #expect(run(.prod, UInt64(1) << 32, UInt64(1) << 33) == [UInt64](repeating: 0, count: count))
        #expect(run(.min, Int8.min, Int8.max) == [Int8](repeating: .min, count: count))
        #expect(run(.max, UInt64.max, 0) == [UInt64](repeating: .max, count: count))
    }

    @Test("integer avg truncates toward zero, for any number of contributions")
    func integerAverage() {
        var x: [Int8] = [-128, -7, 7, 127, -128]
        x.withUnsafeMutableBufferPointer { ReductionKernels.finalize($0, op: .avg, contributions: 2) }
        #expect(x == [-64, -3, 3, 63, -64])
        var y: [Int8] = [-128, 127]
        y.withUnsafeMutableBufferPointer { ReductionKernels.finalize($0, op: .avg, contributions: 128) }
        #expect(y == [-1, 0])
        var z: [UInt64] = [.max]
        z.withUnsafeMutableBufferPointer { ReductionKernels.finalize($0, op: .avg, contributions: 3) }
        #expect(z == [UInt64.max / 3])
        var w: [Int32] = [10]
        w.withUnsafeMutableBufferPointer { ReductionKernels.finalize($0, op: .sum, contributions: 3) }
        #expect(w == [10])
    }
}

@Suite("Aliasing and the typed API")
struct AliasingTests {
    @Test("in place with itself, out of place onto an operand, fused onto a source", arguments: DataType.allCases)
    func aliasing(dataType: DataType) {
        withTestElement(dataType) { t in
            func run<E: TestElement>(_: E.Type) {
                for count in [0, 1, 33, 100] {
                    let x = randomValues(E.self, count: count, seed: 5)
                    let y = randomValues(E.self, count: count, seed: 6)
                    for op in ReductionOp.allCases where op != .avg {
                        let twice = x.map { E.referenceCombine($0, $0, op) }
                        var a = x
                        a.withUnsafeMutableBytes { p in
                            Reducer(dataType: E.dataType, op: op).reduceInPlace(into: p.baseAddress!, from: UnsafeRawPointer(p.baseAddress!), count: count)
                        }
                        expectSame(a, twice, "\(E.dataType.name) \(op) x op= x, count \(count)")

                        var b = x
                        b.withUnsafeMutableBytes { p in y.withUnsafeBytes { q in
                            Reducer(dataType: E.dataType, op: op).reduce(into: p.baseAddress!, UnsafeRawPointer(p.baseAddress!), q.baseAddress!, count: count)
                        } }
                        expectSame(b, zip(x, y).map { E.referenceCombine($0, $1, op) }, "\(E.dataType.name) \(op) x = x op y, count \(count)")

                        var c = x
                        c.withUnsafeMutableBytes { p in y.withUnsafeBytes { q in
                            let sources = [UnsafeRawPointer(p.baseAddress!), q.baseAddress!, UnsafeRawPointer(p.baseAddress!)]
                            sources.withUnsafeBufferPointer {
                                Reducer(dataType: E.dataType, op: op).reduceFused(into: p.baseAddress!, sources: $0, count: count)
                            }
                        } }
                        expectSame(c, zip(x, y).map { E.referenceFold([$0, $1, $0], op) }, "\(E.dataType.name) \(op) x = fused(x, y, x), count \(count)")
                    }
                }
            }
            run(t)
        }
    }


    /// The whole-reduction form averages by itself: avg is the mean of the three sources.
    @Test("typed entry points agree with the type-erased Reducer")
    func typedAPI() {
        let a: [Float16] = randomValues(Float16.self, count: 70, seed: 11)
        let b: [Float16] = randomValues(Float16.self, count: 70, seed: 12)
        let c: [Float16] = randomValues(Float16.self, count: 70, seed: 13)
        for op in ReductionOp.allCases {
            var typed = [Float16](repeating: 0, count: 70)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeBufferPointer { cp in
                typed.withUnsafeMutableBufferPointer {
                    ReductionKernels.reduce(into: $0, sources: [ap, bp, cp], op: op)
                }
            } } }
            let expected = (0..<70).map { i -> Float16 in
                let r = Float16.referenceFold([a[i], b[i], c[i]], op)
                return op == .avg ? Float16.referenceDivide(r, by: 3) : r
            }
            expectSame(typed, expected, "Float16 \(op) typed fused")
        }
    }

    /// The documented messages reach standard error (`precondition` would drop them in a
    /// release build; the kernels stop with `fatalError`, which keeps them).
    @Test("mismatched lengths stop the process with the documented message")
    func mismatchedLengths() async throws {
        let inPlace = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var a = [Float](repeating: 1, count: 4)
            let b = [Float](repeating: 1, count: 5)
            a.withUnsafeMutableBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                ReductionKernels.reduceInPlace(ap, bp, op: .sum)
            } }
        }
        #expect(String(decoding: try #require(inPlace).standardErrorContent, as: UTF8.self)
            .contains("ReductionKernels.reduceInPlace: destination has 4 elements but source has 5"))
        let outOfPlace = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var d = [Int32](repeating: 1, count: 4)
            let a = [Int32](repeating: 1, count: 4)
            let b = [Int32](repeating: 1, count: 3)
            d.withUnsafeMutableBufferPointer { dp in a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                ReductionKernels.reduce(into: dp, ap, bp, op: .max)
            } } }
        }
        #expect(String(decoding: try #require(outOfPlace).standardErrorContent, as: UTF8.self)
            .contains("ReductionKernels.reduce: destination has 4 elements but the operands have 4 and 3"))
        let fused = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var d = [UInt8](repeating: 1, count: 4)
            d.withUnsafeMutableBufferPointer { ReductionKernels.reduceFused(into: $0, sources: [], op: .sum) }
        }
        #expect(String(decoding: try #require(fused).standardErrorContent, as: UTF8.self)
            .contains("ReductionKernels.reduceFused: a fused reduction needs at least one source"))
    }

    /// A one-step form cannot know how many contributions avg's mean is over: given `.avg` it
    /// stops and names the calls to use instead, rather than returning the sum.
    @Test("avg in a one-step form stops with a message naming the whole-reduction form",
          arguments: ["reduceInPlace(_:_:op:)", "reduce(into:_:_:op:)", "reduceFused(into:sources:op:)"])
    func averageStepIsRejected(form: String) async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [form] in
            var d = [Float](repeating: 1, count: 8)
            let a = [Float](repeating: 2, count: 8)
            d.withUnsafeMutableBufferPointer { dp in a.withUnsafeBufferPointer { ap in
                switch form {
                case "reduceInPlace(_:_:op:)": ReductionKernels.reduceInPlace(dp, ap, op: .avg)
                case "reduce(into:_:_:op:)": ReductionKernels.reduce(into: dp, ap, ap, op: .avg)
                default: ReductionKernels.reduceFused(into: dp, sources: [ap, ap], op: .avg)
                }
            } }
        }
        let text = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(text.contains("ReductionKernels.\(form): avg needs the number of contributions: reduce them all with reduce(into:sources:op:), or combine with .sum and divide with finalize(_:op:contributions:)"))
    }

    /// The whole-reduction forms divide: avg of 1, 2 and 6 is 3, for the typed and the
    /// type-erased entry points, with the destination one of the sources.
    @Test("reduce(into:sources:) averages without a separate finalize")
    func wholeReductionAverages() {
        func run<E: TestElement>(_ one: E, _ two: E, _ six: E, mean three: E) {
            let b = [E](repeating: two, count: 37), c = [E](repeating: six, count: 37)
            var typed = [E](repeating: one, count: 37)
            typed.withUnsafeMutableBufferPointer { d in b.withUnsafeBufferPointer { bp in c.withUnsafeBufferPointer { cp in
                ReductionKernels.reduce(into: d, sources: [UnsafeBufferPointer(d), bp, cp], op: .avg)
            } } }
            expectSame(typed, [E](repeating: three, count: 37), "\(E.dataType.name) typed avg")
            var erased = [E](repeating: one, count: 37)
            erased.withUnsafeMutableBytes { d in b.withUnsafeBytes { bp in c.withUnsafeBytes { cp in
                [UnsafeRawPointer(d.baseAddress!), bp.baseAddress!, cp.baseAddress!].withUnsafeBufferPointer {
                    Reducer(dataType: E.dataType, op: .avg).reduce(into: d.baseAddress!, sources: $0, count: 37)
                }
            } } }
            expectSame(erased, typed, "\(E.dataType.name) type-erased avg")
        }
        run(Int32(1), 2, 6, mean: 3)
        run(Float(1), 2, 6, mean: 3)
        run(Float16(1), 2, 6, mean: 3)
    }
}

@Suite("NaN bits")
struct NaNBitsTests {
    /// Bit patterns of one floating-point type: NaNs (quiet and signaling, both signs, with
    /// payloads) and the values they meet.
    static func patterns(_ dataType: DataType) -> (nans: [UInt64], others: [UInt64], quietBit: UInt64) {
        switch dataType {
        case .float16: ([0x7E00, 0xFE00, 0x7C01, 0xFC01, 0x7D55], [0x3C00, 0xBC00, 0x0000, 0x8000, 0x7C00, 0x7E00, 0x3E00], 0x0200)
        case .bfloat16: ([0x7FC0, 0xFFC0, 0x7F81, 0xFF81, 0x7FAA], [0x3F80, 0xBF80, 0x0000, 0x8000, 0x7F80, 0x7FC0, 0x3FC0], 0x0040)
        case .float32: ([0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFFA0_0000], [0x3F80_0000, 0xBF80_0000, 0, 0x8000_0000, 0x7F80_0000, 0x3FC0_0000], 0x0040_0000)
        default: ([0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0xFFF4_0000_0000_0000],
                  [0x3FF0_0000_0000_0000, 0xBFF0_0000_0000_0000, 0, 0x8000_0000_0000_0000, 0x7FF0_0000_0000_0000], 0x0008_0000_0000_0000)
        }
    }

    /// 33 copies of one pair: 32 in the vector body of every type's loop, one in the scalar tail.
    /// Every copy must come out with the same bits, on every instruction set this CPU runs; half
    /// and bfloat16 results must be quiet NaNs (float and double pass NaN bits through).
    @Test("min and max of a NaN: the same bits in the vector body and the tail, quiet in half and bfloat16",
          arguments: [DataType.float16, .bfloat16, .float32, .float64], [ReductionOp.min, .max])
    func sameBitsEverywhere(dataType: DataType, op: ReductionOp) {
        let (nans, others, quietBit) = Self.patterns(dataType)
        let width = dataType.sizeInBytes
        let count = 33
        func bytes(_ bits: UInt64) -> [UInt8] {
            (0..<count).flatMap { _ in (0..<width).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) } }
        }
        func element(_ out: [UInt8], _ i: Int) -> UInt64 {
            (0..<width).reduce(0) { $0 | UInt64(out[i * width + $1]) << (8 * $1) }
        }
        let pairs = nans.flatMap { n in others.flatMap { o in [(n, o), (o, n)] } } + nans.flatMap { n in nans.map { (n, $0) } }
        for (x, y) in pairs {
            var results: [KernelInstructionSet: UInt64] = [:]
            for set in KernelInstructionSet.supported {
                let a = bytes(x), b = bytes(y)
                var out = [UInt8](repeating: 0, count: a.count)
                let reducer = Reducer(dataType: dataType, op: op, instructionSet: set)
                a.withUnsafeBytes { ap in b.withUnsafeBytes { bp in out.withUnsafeMutableBytes { op in
                    reducer.reduce(into: op.baseAddress!, ap.baseAddress!, bp.baseAddress!, count: count)
                } } }
                let first = element(out, 0)
                let tail = element(out, count - 1)
                #expect((0..<count).allSatisfy { element(out, $0) == first },
                        "\(dataType.name) \(op) of 0x\(String(x, radix: 16)) and 0x\(String(y, radix: 16)) on \(set): vector body 0x\(String(first, radix: 16)), tail 0x\(String(tail, radix: 16))")
                if dataType.sizeInBytes == 2 {
                    #expect(first & quietBit != 0, "\(dataType.name) \(op) of 0x\(String(x, radix: 16)) and 0x\(String(y, radix: 16)) on \(set): 0x\(String(first, radix: 16)) is not a quiet NaN")
                }
                results[set] = first
            }
            #expect(Set(results.values).count == 1, "\(dataType.name) \(op) of 0x\(String(x, radix: 16)) and 0x\(String(y, radix: 16)): instruction sets disagree: \(results)")
        }
    }
}

@Suite("Span entry points")
struct SpanTests {
    /// The span forms run the same loops as the buffer forms: same results for every type and
    /// operator (avg finalized), in place and out of place, at a length with a vector body and
    /// a tail.
    @Test("Span / MutableSpan forms agree with the buffer forms", arguments: DataType.allCases, ReductionOp.allCases)
    func spansMatchBuffers(dataType: DataType, op: ReductionOp) {
        withTestElement(dataType) { t in
            func run<E: TestElement>(_: E.Type) {
                let a = randomValues(E.self, count: 77, seed: 5), b = randomValues(E.self, count: 77, seed: 6)
                var viaBuffers = a
                // One step combines avg as sum; finalize divides.
                let step = op.combiningOp
                viaBuffers.withUnsafeMutableBufferPointer { d in b.withUnsafeBufferPointer { ReductionKernels.reduceInPlace(d, $0, op: step) } }
                viaBuffers.withUnsafeMutableBufferPointer { ReductionKernels.finalize($0, op: op, contributions: 2) }
                var inPlace = a
                var inPlaceSpan = inPlace.mutableSpan
                ReductionKernels.reduceInPlace(&inPlaceSpan, b.span, op: step)
                ReductionKernels.finalize(&inPlaceSpan, op: op, contributions: 2)
                expectSame(inPlace, viaBuffers, "\(dataType.name) \(op) in place over spans")
                var out = [E](repeating: a[0], count: a.count)
                var outSpan = out.mutableSpan
                ReductionKernels.reduce(into: &outSpan, a.span, b.span, op: step)
                ReductionKernels.finalize(&outSpan, op: op, contributions: 2)
                expectSame(out, viaBuffers, "\(dataType.name) \(op) out of place over spans")
            }
            run(t)
        }
    }
}
