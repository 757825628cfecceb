#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The buffers and timing loop of `allreduce bench-kernels`: our reductions beside a reference
/// (another library's local reduction, such as Open MPI's `MPI_Reduce_local`, or a `memcpy` of
/// the destination's bytes) on the same buffers, in the same thread. Buffers are allocated once
/// at the largest size, page-aligned, and touched before any timing.
///
/// GB/s counts bytes read plus bytes written per second (1e9 bytes/s): an in-place reduction of
/// S bytes moves 3S (read both, write one), a fused k-way reduction (k + 1)S, a memcpy 2S. Each
/// figure is the median over the repetitions, timed in thread CPU time.
public struct KernelBenchmark {
    /// Another library's `inout = in op inout` (the form of `MPI_Reduce_local`), named in the rows.
    public struct Reference {
        public var name: String
        public var reduceLocal: (_ input: UnsafeRawPointer, _ inputOutput: UnsafeMutableRawPointer, _ count: Int, DataType, ReductionOp) -> Void

        public init(name: String, reduceLocal: @escaping (UnsafeRawPointer, UnsafeMutableRawPointer, Int, DataType, ReductionOp) -> Void) {
            self.name = name
            self.reduceLocal = reduceLocal
        }
    }

    public struct Result {
        public var rowIndex: Int
        public var bytes: Int
        public var dataType: DataType
        public var op: ReductionOp
        public var form: String
        public var oursGBps: Double
        /// The reference's name, or `memcpy`.
        public var reference: String
        public var referenceGBps: Double
        /// Median over the repetitions of (ours GB/s / reference GB/s) measured back to back in
        /// the same repetition: robust to the slow phases of a shared machine, which shift both.
        public var ratio: Double
        /// Our GB/s in each repetition (for paired comparisons between rows).
        public var oursGBpsPerRepetition: [Double]
    }

    public let maxBytes: Int
    public let repetitions: Int
    public let minSeconds: Double
    public let instructionSet: KernelInstructionSet
    /// dst, then the sources of the fused reduction (the first one doubles as the in-place source).
    var buffers: [UnsafeMutableRawPointer]

    /// `minSeconds`: about how long each side runs per repetition and row.
    public init(maxBytes: Int, repetitions: Int, minSeconds: Double, instructionSet: KernelInstructionSet = .default) {
        self.maxBytes = maxBytes
        self.repetitions = repetitions
        self.minSeconds = minSeconds
        self.instructionSet = instructionSet
        // Byte patterns that are ordinary normal numbers in every measured type (0x3C3C as a half
        // is 1.06, 0x3C3C3C3C as a float 0.0115, as a double 1.5e-18; 0x38.. are smaller), so no
        // row meets NaN or subnormal slow paths, and all rows can share the same buffers. The
        // destination grows under repeated sums and the half one saturates to infinity, which
        // costs no SIMD instruction any extra time.
        buffers = (0..<5).map { b in
            let p = UnsafeMutableRawPointer.allocate(byteCount: maxBytes, alignment: 4096)
            memset(p, b == 0 ? 0x3C : 0x38, maxBytes)
            return p
        }
    }

    public func deallocate() { for b in buffers { b.deallocate() } }

    var dst: UnsafeMutableRawPointer { buffers[0] }
    var src: UnsafeMutableRawPointer { buffers[1] }

    /// One line of the table at every size: ours (in place, or fused over `sources` inputs) and
    /// its reference.
    public struct Row {
        public var dataType: DataType
        public var op: ReductionOp
        /// 1: in place; k > 1: fused over k inputs.
        public var sources: Int
        /// Beside the ``Reference`` (when one is given) rather than memcpy.
        public var usesReference: Bool
        public var form: String { sources == 1 ? "in-place" : "fused-\(sources)" }

        public init(dataType: DataType, op: ReductionOp, sources: Int, usesReference: Bool) {
            self.dataType = dataType
            self.op = op
            self.sources = sources
            self.usesReference = usesReference
        }
    }

    /// Measures every row at one size. The rows are interleaved: each repetition runs every
    /// row's kernel and reference in turn, so slow phases of a shared machine hit all rows alike.
    /// Within a row, a repetition is `rounds` short batches of each side in the order
    /// ours, reference, reference, ours, ... (ABBA): a batch lasts about `--min-time-ms` / rounds,
    /// so the two sides of a pair are never more than a millisecond or so apart, and a drift of
    /// the machine's speed during the repetition falls on both sides equally. The ratio of a
    /// repetition is that of the two sides' summed times.
    public func measure(_ rows: [Row], bytes: Int, reference external: Reference?) -> [Result] {
        struct Plan {
            var ours: () -> Void
            var reference: () -> Void
            var iterations: Int
            var rounds: Int
            var oursBytes: Double
            var referenceBytes: Double
            var oursSeconds: [Double] = []
            var referenceSeconds: [Double] = []
        }
        let sourcePointers = buffers[1...].map { UnsafeRawPointer($0) }
        /// Batches per side and repetition when a call is short enough.
        let maxRounds = 4
        var plans: [Plan] = rows.map { row in
            let count = bytes / row.dataType.sizeInBytes
            let payload = count * row.dataType.sizeInBytes
            let reducer = Reducer(dataType: row.dataType, op: row.op, instructionSet: instructionSet)
            let (d, s) = (dst, UnsafeRawPointer(src))
            let ours: () -> Void
            if row.sources == 1 {
                ours = { reducer.reduceInPlace(into: d, from: s, count: count) }
            } else {
                let k = row.sources
                ours = {
                    sourcePointers.withUnsafeBufferPointer { sp in
                        reducer.reduceFused(into: d, sources: UnsafeBufferPointer(rebasing: sp[0..<k]), count: count)
                    }
                }
            }
            let reference: () -> Void
            let referenceBytes: Double
            if row.usesReference, let external {
                reference = { external.reduceLocal(s, d, count, row.dataType, row.op) }
                referenceBytes = Double(3 * payload)
            } else {
                reference = { _ = memcpy(d, s, payload) }
                referenceBytes = Double(2 * payload)
            }
            // Warm caches and page tables, then size the batches from one timed call: about
            // minSeconds per side and repetition, in up to maxRounds batches (always an even
            // number, so that each side runs first equally often).
            ours(); reference()
            let t0 = Self.threadCPUSeconds()
            ours()
            let once = max(Self.threadCPUSeconds() - t0, 1e-9)
            let callsPerRepetition = max(1, Int((minSeconds / once).rounded(.up)))
            let rounds = max(2, min(maxRounds, callsPerRepetition) & ~1)
            let iterations = max(1, min(1 << 22, (callsPerRepetition + rounds - 1) / rounds))
            // In place reads both buffers and writes one; fused reads k and writes one.
            let moved = row.sources == 1 ? 3 * payload : (row.sources + 1) * payload
            return Plan(ours: ours, reference: reference, iterations: iterations, rounds: rounds,
                        oursBytes: Double(moved), referenceBytes: referenceBytes)
        }
        for rep in 0..<repetitions {
            for i in plans.indices {
                let n = plans[i].iterations
                func timed(_ body: () -> Void) -> Double {
                    let a = Self.threadCPUSeconds()
                    for _ in 0..<n { body() }
                    return Self.threadCPUSeconds() - a
                }
                // One untimed call first, so that the first batch does not pay for the cache
                // state the previous row left (otherwise whichever side runs first pays for the
                // cold cache, and the paired ratios split in two). Later batches start where
                // the other side's batch left the same buffers, walked in the same order.
                if rep % 2 == 0 { plans[i].ours() } else { plans[i].reference() }
                var (ours, theirs) = (0.0, 0.0)
                // ABBA over the rounds; odd repetitions start with the reference.
                for round in 0..<plans[i].rounds {
                    if (round + rep) % 2 == 0 {
                        ours += timed(plans[i].ours)
                        theirs += timed(plans[i].reference)
                    } else {
                        theirs += timed(plans[i].reference)
                        ours += timed(plans[i].ours)
                    }
                }
                let calls = Double(n * plans[i].rounds)
                plans[i].oursSeconds.append(ours / calls)
                plans[i].referenceSeconds.append(theirs / calls)
            }
        }
        return rows.indices.map { i in
            let p = plans[i]
            let ours = p.oursSeconds.map { p.oursBytes / $0 / 1e9 }
            let theirs = p.referenceSeconds.map { p.referenceBytes / $0 / 1e9 }
            return Result(rowIndex: i, bytes: bytes, dataType: rows[i].dataType, op: rows[i].op, form: rows[i].form,
                          oursGBps: SampleStatistics.median(ours),
                          reference: rows[i].usesReference ? external?.name ?? "memcpy" : "memcpy",
                          referenceGBps: SampleStatistics.median(theirs),
                          ratio: SampleStatistics.median(zip(ours, theirs).map { $0 / $1 }),
                          oursGBpsPerRepetition: ours)
        }
    }

    /// Whether ours and `reference` give the same bytes on the same small input, so that the
    /// bench is known to time the same operation (``agree(_:_:instructionSet:reference:)``).
    public func agrees(_ dataType: DataType, _ op: ReductionOp, with reference: Reference) -> Bool {
        Self.agree(dataType, op, instructionSet: instructionSet, reference: { reference.reduceLocal($0, $1, $2, dataType, op) })
    }

    /// Elements of the agreement check: odd, so every kernel's tail runs.
    public static let agreementCount = 4099

    /// Whether our in-place reduction and `reference(src, dst, count)` give the same bytes on
    /// ``agreementCount`` elements of the bench's byte patterns. The inputs are its own, whatever
    /// `--max-bytes` is (the bench's buffers may be smaller than the check).
    public static func agree(_ dataType: DataType, _ op: ReductionOp, instructionSet: KernelInstructionSet = .default,
                      reference: (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void) -> Bool {
        let count = agreementCount
        let bytes = count * dataType.sizeInBytes
        let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let a = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let b = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { src.deallocate(); a.deallocate(); b.deallocate() }
        memset(src, 0x38, bytes)
        memset(a, 0x3C, bytes)
        memset(b, 0x3C, bytes)
        Reducer(dataType: dataType, op: op, instructionSet: instructionSet).reduceInPlace(into: a, from: src, count: count)
        reference(src, b, count)
        return memcmp(a, b, bytes) == 0
    }

    /// This thread's CPU time in seconds. The bench times with it rather than the wall clock, so
    /// that time the process spends descheduled on a busy machine (other builds and tests sharing
    /// the cores) is not counted against either side; memory-bandwidth contention still is.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
