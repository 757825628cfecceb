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

/// Lengths around every block size of both loops (8 and 16 lanes in C, 16 and 32 in Swift)
/// and one long enough for many blocks plus a tail.
let instructionSetLengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 4099]

@Suite("Instruction sets: every path gives the same bits")
struct InstructionSetTests {
    @Test("the default set is supported, and it is the best one unless the environment forces portable")
    func defaultSet() {
        let supported = KernelInstructionSet.supported
        #expect(supported.first == .portable)
        #expect(supported.contains(KernelInstructionSet.default))
        if let forced = Environment.instructionSet, forced == "portable" {
            #expect(KernelInstructionSet.default == .portable)
        } else {
            #expect(KernelInstructionSet.default == supported.last)
        }
        #expect(KernelInstructionSet(name: "AVX2") == .avx2)
        #expect(KernelInstructionSet(name: "sse2") == nil)
    }

    /// Random bit patterns (NaNs with payloads, signaling NaNs, subnormals, infinities, both
    /// zeros) and ordinary values, through every operator, in place and out of place: the
    /// AVX2 loops must give the portable loops' bytes exactly.
    @Test("avx2 against portable, bit for bit",
          .enabled(if: KernelInstructionSet.avx2.isSupported, "this CPU has no AVX2 and F16C"),
          arguments: [DataType.float16, .bfloat16, .float32, .float64, .int32], ReductionOp.allCases)
    func avx2MatchesPortable(dataType: DataType, op: ReductionOp) {
        withTestElement(dataType) { t in
            func run<E: TestElement>(_: E.Type) {
                var seed: UInt64 = 17
                for count in instructionSetLengths {
                    for inPlace in [true, false] {
                        seed &+= 1
                        let a = randomValues(E.self, count: count, seed: seed)
                        let b = randomValues(E.self, count: count, seed: seed &* 31)
                        let portable = runTwoOperand(E.self, op: op, inPlace: inPlace, a: a, b: b, instructionSet: .portable)
                        let avx2 = runTwoOperand(E.self, op: op, inPlace: inPlace, a: a, b: b, instructionSet: .avx2)
                        if portable != avx2 {
                            let stride = MemoryLayout<E>.stride
                            let first = (0..<count).first { portable[$0 * stride ..< ($0 + 1) * stride] != avx2[$0 * stride ..< ($0 + 1) * stride] }!
                            Issue.record("\(dataType.name) \(op) \(inPlace ? "in place" : "out of place") count \(count): element \(first) of \(a[first]) and \(b[first]) differs: portable \(portable[first * stride ..< (first + 1) * stride].map { $0 }), avx2 \(avx2[first * stride ..< (first + 1) * stride].map { $0 })")
                        }
                    }
                }
            }
            run(t)
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
