import CollectiveKernels
import Testing

@Suite("The kernel benchmark and sample statistics")
struct KernelBenchmarkTests {
    /// Our portable loops, as another library's `inout = in op inout`.
    static var portable: KernelBenchmark.Reference { KernelBenchmark.Reference(name: "portable") { input, inputOutput, count, dataType, op in
        Reducer(dataType: dataType, op: op, instructionSet: .portable).reduceInPlace(into: inputOutput, from: input, count: count)
    } }

    @Test("a reference that computes the same reduction agrees; one that does not is caught")
    func agreement() {
        let bench = KernelBenchmark(maxBytes: 4096, repetitions: 1, minSeconds: 0)
        defer { bench.deallocate() }
        for type in [DataType.float32, .float64, .int32] {
            #expect(bench.agrees(type, .sum, with: Self.portable))
            #expect(bench.agrees(type, .max, with: Self.portable))
        }
        let wrong = KernelBenchmark.Reference(name: "wrong") { input, inputOutput, count, dataType, _ in
            Reducer(dataType: dataType, op: .max, instructionSet: .portable).reduceInPlace(into: inputOutput, from: input, count: count)
        }
        #expect(!bench.agrees(.float32, .sum, with: wrong))
    }

    @Test("every row is measured at the size, beside its reference or memcpy, with a figure per repetition")
    func measure() {
        let bench = KernelBenchmark(maxBytes: 8192, repetitions: 3, minSeconds: 0)
        defer { bench.deallocate() }
        let rows = [
            KernelBenchmark.Row(dataType: .float32, op: .sum, sources: 1, usesReference: true),
            KernelBenchmark.Row(dataType: .float16, op: .sum, sources: 1, usesReference: false),
            KernelBenchmark.Row(dataType: .float32, op: .sum, sources: 4, usesReference: false),
        ]
        let results = bench.measure(rows, bytes: 8192, reference: Self.portable)
        #expect(results.map(\.rowIndex) == [0, 1, 2])
        #expect(results.map(\.reference) == ["portable", "memcpy", "memcpy"])
        #expect(results.map(\.form) == ["in-place", "in-place", "fused-4"])
        for r in results {
            #expect(r.bytes == 8192 && r.oursGBps > 0 && r.referenceGBps > 0 && r.ratio > 0)
            #expect(r.oursGBpsPerRepetition.count == 3)
            #expect(r.oursGBps == SampleStatistics.median(r.oursGBpsPerRepetition))
        }
        // Without a reference, every row is beside memcpy.
        #expect(bench.measure(Array(rows.prefix(1)), bytes: 4096, reference: nil).map(\.reference) == ["memcpy"])
    }

    @Test("median: the middle value, the mean of the middle two, nan for none")
    func median() {
        #expect(SampleStatistics.median([3, 1, 2]) == 2)
        #expect(SampleStatistics.median([4, 1, 3, 2]) == 2.5)
        #expect(SampleStatistics.median([7]) == 7)
        #expect(SampleStatistics.median([]).isNaN)
    }
}
