import Testing
import CollectiveCore
import CollectiveKernels

/// Raw memory holding `count` elements at a chosen byte offset (possibly misaligned for the
/// element type), surrounded by guard bytes that must survive every kernel call.
final class OffsetBuffer<E: TestElement> {
    static var guardByte: UInt8 { 0xA5 }
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    let offset: Int
    let count: Int

    init(_ values: [E], offset: Int) {
        count = values.count
        self.offset = offset
        byteCount = offset + values.count * MemoryLayout<E>.stride + 64
        base = .allocate(byteCount: byteCount, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: Self.guardByte, count: byteCount)
        for (i, v) in values.enumerated() { base.storeBytes(of: v, toByteOffset: offset + i * MemoryLayout<E>.stride, as: E.self) }
    }

    deinit { base.deallocate() }

    var pointer: UnsafeMutableRawPointer { base + offset }

    var values: [E] {
        (0..<count).map { base.loadUnaligned(fromByteOffset: offset + $0 * MemoryLayout<E>.stride, as: E.self) }
    }

    /// Whether every byte outside the elements still holds the guard pattern.
    var guardsIntact: Bool {
        let end = offset + count * MemoryLayout<E>.stride
        for i in 0..<byteCount where i < offset || i >= end {
            if base.load(fromByteOffset: i, as: UInt8.self) != Self.guardByte { return false }
        }
        return true
    }
}

func randomValues<E: TestElement>(_: E.Type, count: Int, seed: UInt64) -> [E] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in E.random(&rng) }
}

/// Compares element by element; records one issue with the first mismatch.
func expectSame<E: TestElement>(_ got: [E], _ expected: [E], _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == expected.count, "\(context): count", sourceLocation: sourceLocation)
    for i in 0..<min(got.count, expected.count) where !E.same(got[i], expected[i]) {
        Issue.record("\(context): element \(i) of \(got.count) is \(got[i]) (bits 0x\(String(got[i].testBits, radix: 16))), expected \(expected[i]) (bits 0x\(String(expected[i].testBits, radix: 16)))",
                     sourceLocation: sourceLocation)
        return
    }
}

enum Form: CustomStringConvertible {
    case inPlace, outOfPlace, fused(Int)
    var description: String {
        switch self {
        case .inPlace: "in place"
        case .outOfPlace: "out of place"
        case .fused(let k): "fused \(k)-way"
        }
    }
}

/// Runs one form of the type-erased `Reducer` on fresh random data at the given byte offsets
/// and checks it against the scalar reference, the guard bytes, and avg's final division.
func checkReducer<E: TestElement>(_: E.Type, op: ReductionOp, form: Form, count: Int, offsets: [Int], seed: UInt64) {
    let reducer = Reducer(dataType: E.dataType, op: op)
    let context = "\(E.dataType.name) \(op) \(form) count \(count) offsets \(offsets)"
    let k: Int
    switch form {
    case .inPlace, .outOfPlace: k = 2
    case .fused(let n): k = n
    }
    let inputs = (0..<k).map { randomValues(E.self, count: count, seed: seed &+ UInt64($0) &* 7919) }
    var expected: [E]
    if k == 2 {
        expected = (0..<count).map { i in E.referenceCombine(inputs[0][i], inputs[1][i], op) }
    } else {
        expected = (0..<count).map { i in E.referenceFold(inputs.map { $0[i] }, op) }
    }
    if op == .avg { expected = expected.map { E.referenceDivide($0, by: k) } }

    switch form {
    case .inPlace:
        let dst = OffsetBuffer(inputs[0], offset: offsets[0])
        let src = OffsetBuffer(inputs[1], offset: offsets[1 % offsets.count])
        reducer.reduceInPlace(into: dst.pointer, from: UnsafeRawPointer(src.pointer), count: count)
        reducer.finalize(dst.pointer, count: count, contributions: k)
        expectSame(dst.values, expected, context)
        expectSame(src.values, inputs[1], context + " (source changed)")
        #expect(dst.guardsIntact, "\(context): wrote outside the destination")
    case .outOfPlace:
        let dst = OffsetBuffer(randomValues(E.self, count: count, seed: seed &+ 12345), offset: offsets[0])
        let a = OffsetBuffer(inputs[0], offset: offsets[1 % offsets.count])
        let b = OffsetBuffer(inputs[1], offset: offsets[2 % offsets.count])
        reducer.reduce(into: dst.pointer, UnsafeRawPointer(a.pointer), UnsafeRawPointer(b.pointer), count: count)
        reducer.finalize(dst.pointer, count: count, contributions: k)
        expectSame(dst.values, expected, context)
        expectSame(a.values, inputs[0], context + " (first operand changed)")
        expectSame(b.values, inputs[1], context + " (second operand changed)")
        #expect(dst.guardsIntact, "\(context): wrote outside the destination")
    case .fused:
        let dst = OffsetBuffer(randomValues(E.self, count: count, seed: seed &+ 12345), offset: offsets[0])
        let sources = inputs.enumerated().map { j, v in OffsetBuffer(v, offset: offsets[(j + 1) % offsets.count]) }
        let pointers = sources.map { UnsafeRawPointer($0.pointer) }
        pointers.withUnsafeBufferPointer { reducer.reduceFused(into: dst.pointer, sources: $0, count: count) }
        reducer.finalize(dst.pointer, count: count, contributions: k)
        expectSame(dst.values, expected, context)
        for (j, s) in sources.enumerated() { expectSame(s.values, inputs[j], context + " (source \(j) changed)") }
        #expect(dst.guardsIntact, "\(context): wrote outside the destination")
    }
}

let shortLengths = [0, 1, 15, 16, 17, 31, 33, 64, 100]
let forms: [Form] = [.inPlace, .outOfPlace, .fused(1), .fused(2), .fused(3), .fused(4), .fused(5)]
/// Byte offsets of (destination, source, source, ...): aligned, and misaligned for every type.
let offsetSets: [[Int]] = [[0, 0, 0], [1, 3, 5], [6, 0, 2]]

@Suite("Reduction kernels against a scalar reference")
struct KernelReferenceTests {
    @Test("every type x op x form, short lengths, aligned and misaligned",
          arguments: DataType.allCases, ReductionOp.allCases)
    func everyCombination(dataType: DataType, op: ReductionOp) {
        withTestElement(dataType) { t in
            func run<E: TestElement>(_: E.Type) {
                var seed: UInt64 = 1
                for form in forms {
                    for count in shortLengths {
                        for offsets in offsetSets {
                            seed &+= 1
                            checkReducer(E.self, op: op, form: form, count: count, offsets: offsets, seed: seed)
                        }
                    }
                }
            }
            run(t)
        }
    }

    /// Every type sees the long length (vector body, unrolled body, single vector and tail all
    /// at once) in one form, with the operator and form rotating over the types so that every
    /// operator and every form also meets it. (Kept to one call per type: the kernels are not
    /// specialised in debug builds.)
    @Test("length 1000003", arguments: DataType.allCases)
    func longLength(dataType: DataType) {
        let index = DataType.allCases.firstIndex(of: dataType)!
        let op = ReductionOp.allCases[index % ReductionOp.allCases.count]
        let form = [Form.inPlace, .outOfPlace, .fused(3)][index % 3]
        withTestElement(dataType) { t in
            func run<E: TestElement>(_: E.Type) {
                checkReducer(E.self, op: op, form: form, count: 1_000_003, offsets: [1, 2, 3], seed: 99)
            }
            run(t)
        }
    }
}
