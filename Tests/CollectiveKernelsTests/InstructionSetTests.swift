import Testing
import CollectiveKernels

/// Runs the two-operand forms of `Reducer` on the loops of `instructionSet` and returns the
/// destination's bytes. Byte offsets 1 and 3 make every load and store misaligned.
func runTwoOperand<E: TestElement>(
    _: E.Type, op: ReductionOp, inPlace: Bool, a: [E], b: [E], instructionSet: KernelInstructionSet
) -> [UInt8] {
    let count = a.count
    let reducer = Reducer(dataType: E.dataType, op: op, instructionSet: instructionSet)
    let dst = OffsetBuffer(a, offset: 1)
    let x = OffsetBuffer(a, offset: 3)
    let y = OffsetBuffer(b, offset: inPlace ? 3 : 1)
    if inPlace {
        reducer.reduceInPlace(into: dst.pointer, from: UnsafeRawPointer(y.pointer), count: count)
    } else {
        reducer.reduce(into: dst.pointer, UnsafeRawPointer(x.pointer), UnsafeRawPointer(y.pointer), count: count)
    }
    #expect(dst.guardsIntact, "\(E.dataType.name) \(op) on \(instructionSet): wrote outside the destination")
    return dst.values.withUnsafeBytes { Array($0) }
}

/// Lengths around every block size of the loops (8, 16 and 32 lanes in C, 16 and 32 in
/// Swift) and one long enough for many blocks plus a tail.
let instructionSetLengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 96, 100, 160, 4099]

@Suite("Instruction sets: every path gives the same bits")
struct InstructionSetTests {
    @Test("the default set is supported, and it is the best one unless the environment names a lower one")
    func defaultSet() {
        let supported = KernelInstructionSet.supported
        #expect(supported.first == .portable)
        #expect(supported.contains(KernelInstructionSet.default))
        let order = KernelInstructionSet.allCases
        if let name = Environment.instructionSet, let forced = KernelInstructionSet(name: name),
           let best = supported.last, order.firstIndex(of: forced)! < order.firstIndex(of: best)! {
            // A lower set named in the environment lowers the default to it.
            #expect(KernelInstructionSet.default == forced)
        } else {
            #expect(KernelInstructionSet.default == supported.last)
        }
        #expect(KernelInstructionSet(name: "AVX2") == .avx2)
        #expect(KernelInstructionSet(name: "AVX512BF16") == .avx512bf16)
        #expect(KernelInstructionSet(name: "sse2") == nil)
        // Each set needs the ones below it.
        for (lower, higher) in zip(KernelInstructionSet.allCases, KernelInstructionSet.allCases.dropFirst()) where higher.isSupported {
            #expect(lower.isSupported, "\(higher) is supported but \(lower) is not")
        }
    }

    /// Random bit patterns (NaNs with payloads, signaling NaNs, subnormals, infinities, both
    /// zeros) and ordinary values, through every operator, in place and out of place: each
    /// set of C loops this CPU runs must give the portable loops' bytes exactly.
    @Test("every supported set against portable, bit for bit",
          .enabled(if: KernelInstructionSet.avx2.isSupported, "this CPU has no AVX2 and F16C"),
          arguments: [DataType.float16, .bfloat16, .float32, .float64, .int32], ReductionOp.allCases)
    func setsMatchPortable(dataType: DataType, op: ReductionOp) {
        withTestElement(dataType) { t in
            func run<E: TestElement>(_: E.Type) {
                var seed: UInt64 = 17
                for count in instructionSetLengths {
                    for inPlace in [true, false] {
                        seed &+= 1
                        let a = randomValues(E.self, count: count, seed: seed)
                        let b = randomValues(E.self, count: count, seed: seed &* 31)
                        let portable = runTwoOperand(E.self, op: op, inPlace: inPlace, a: a, b: b, instructionSet: .portable)
                        for set in KernelInstructionSet.supported.dropFirst() {
                            let fast = runTwoOperand(E.self, op: op, inPlace: inPlace, a: a, b: b, instructionSet: set)
                            if portable != fast {
                                let stride = MemoryLayout<E>.stride
                                let first = (0..<count).first { portable[$0 * stride ..< ($0 + 1) * stride] != fast[$0 * stride ..< ($0 + 1) * stride] }!
                                Issue.record("\(dataType.name) \(op) \(inPlace ? "in place" : "out of place") count \(count): element \(first) of \(a[first]) and \(b[first]) differs: portable \(portable[first * stride ..< (first + 1) * stride].map { $0 }), \(set) \(fast[first * stride ..< (first + 1) * stride].map { $0 })")
                            }
                        }
                    }
                }
            }
            run(t)
        }
    }

    /// The bfloat16 sum of `avx512bf16` rounds with VCVTNE2PS2BF16, which flushes a subnormal
    /// binary32 to zero; a block holding a subnormal sum must take the integer rounding. Blocks
    /// of ties (round to even, up and down), values that round up to infinity, inf + -inf,
    /// NaNs, and one subnormal sum placed at each position of a 64-element buffer in turn.
    @Test("bfloat16 sums at the edges of VCVTNE2PS2BF16, every supported set against portable",
          .enabled(if: KernelInstructionSet.avx2.isSupported, "this CPU has no AVX2 and F16C"))
    func bfloat16SumEdges() {
        func bf(_ bits: UInt16) -> BFloat16 { BFloat16(bitPattern: bits) }
        // Pairs whose binary32 sum is a tie or just off one, an overflow, a NaN, or a zero.
        let pairs: [(UInt16, UInt16)] = [
            (0x3F80, 0x3B80), (0x3F81, 0x3B80), (0x3F80, 0x3B81), (0xBF81, 0xBB80),  // 1 + 2^-8 ties
            (0x7F7F, 0x7F7F), (0x7F7F, 0x7380), (0xFF7F, 0xF380),                    // to infinity
            (0x7F80, 0xFF80), (0x7FC1, 0x3F80), (0xFF81, 0x3F80), (0x7F80, 0x7F80),  // NaN, inf
            (0x0000, 0x8000), (0x8000, 0x8000), (0x0080, 0x8080), (0x3F80, 0xBF80),  // zeros
            (0x0081, 0x8080), (0x0100, 0x8081),                                      // normal - normal = subnormal
            (0x0001, 0x0001), (0x807F, 0x0040), (0x0040, 0x0040),                    // subnormal sums
        ]
        for (index, pair) in pairs.enumerated() {
            for position in 0..<64 {
                // Every other element an ordinary sum, so only this pair decides the block.
                var a = (0..<64).map { bf(UInt16(0x3F80 + $0)) }
                var b = (0..<64).map { bf(UInt16(0x4000 + 3 * $0)) }
                a[position] = bf(pair.0)
                b[position] = bf(pair.1)
                for inPlace in [true, false] {
                    let portable = runTwoOperand(BFloat16.self, op: .sum, inPlace: inPlace, a: a, b: b, instructionSet: .portable)
                    for set in KernelInstructionSet.supported.dropFirst() {
                        let fast = runTwoOperand(BFloat16.self, op: .sum, inPlace: inPlace, a: a, b: b, instructionSet: set)
                        #expect(portable == fast, "pair \(index) (\(String(pair.0, radix: 16)) + \(String(pair.1, radix: 16))) at \(position), \(inPlace ? "in place" : "out of place"): \(set) differs from portable")
                    }
                }
            }
        }
    }
}

enum Environment {
    /// COLLECTIVE_KERNELS_INSTRUCTION_SET, when set.
    static var instructionSet: String? {
        guard let p = getenv("COLLECTIVE_KERNELS_INSTRUCTION_SET") else { return nil }
        return String(cString: p)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
