import ArgumentParser
import CollectiveKernels

#if MPI
import CMPI
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `allreduce bench-kernels`: our reduction kernels side by side with their anchors, in one
/// process and on the same buffers.
///
/// - In-place sum and max for float, double and int32 beside Open MPI's `MPI_Reduce_local`
///   (which reaches Open MPI's `op/avx` component), when built with `--traits MPI`.
/// - In-place half and bfloat16 sums, and a fused 4-way float sum, beside a `memcpy` of the
///   destination's bytes.
///
/// GB/s counts bytes read plus bytes written per second (1e9 bytes/s): an in-place reduction of
/// S bytes moves 3S (read both, write one), a fused 4-way reduction 5S, a memcpy 2S. Each
/// figure is the median over `--repetitions` timed runs; ours and the reference alternate within
/// each repetition (in short batches, ABBA) so that both see the same machine state.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "Measure the reduction kernels beside Open MPI and memcpy.",
        discussion: """
            Sizes are the bytes of one buffer, from --min-bytes to --max-bytes in steps of \
            --step-factor. GB/s = (bytes read + bytes written) / time / 1e9; ratio = ours / reference, the \
            median of the per-repetition ratios, where each repetition runs ours and the reference in \
            alternating short batches (ours, reference, reference, ours). \
            The Open MPI rows need a build with `--traits MPI` (Scripts/bench-kernels does this when \
            pkg-config finds ompi-c); without it they are measured against memcpy and a note says so. \
            Running as root, MPI_Init needs OMPI_ALLOW_RUN_AS_ROOT=1 and \
            OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, which this command sets when they are unset.
            """
    )

    @Option(name: .customLong("min-bytes"), help: "Smallest buffer size (1024-based suffixes: 4K, 1M).")
    var minBytesText: String = "4K"

    @Option(name: .customLong("max-bytes"), help: "Largest buffer size.")
    var maxBytesText: String = "256M"

    @Option(name: .customLong("step-factor"), help: "Multiplicative step between sizes.")
    var stepFactor: Int = 4

    @Option(name: [.customShort("n"), .customLong("repetitions")], help: "Timed repetitions per figure (the median is reported).")
    var repetitions: Int = 15

    @Option(name: .customLong("min-time-ms"), help: "Each side of a repetition runs the operation for at least this long (milliseconds), in up to four alternating batches.")
    var minTimeMilliseconds: Double = 4

    @Flag(name: .customLong("no-openmpi"), help: "Measure against memcpy only, even when Open MPI is built in.")
    var noOpenMPI = false

    @Option(name: .customLong("instruction-set"), help: "The kernels' loops: portable or avx2 (default: the best this CPU supports).")
    var instructionSetName: String?

    /// The parsed --instruction-set, or the kernels' default.
    func instructionSet() throws -> KernelInstructionSet {
        guard let name = instructionSetName else { return .default }
        guard let set = KernelInstructionSet(name: name) else {
            throw ValidationError("--instruction-set: unknown instruction set '\(name)'; valid: \(KernelInstructionSet.allCases.map(\.rawValue).joined(separator: " "))")
        }
        guard set.isSupported else {
            throw ValidationError("--instruction-set: this CPU does not support \(name); supported: \(KernelInstructionSet.supported.map(\.rawValue).joined(separator: " "))")
        }
        return set
    }

    @OptionGroup var output: FormatOptions

    func validate() throws {
        let minBytes = try parseBytes(minBytesText, option: "--min-bytes")
        let maxBytes = try parseBytes(maxBytesText, option: "--max-bytes")
        guard minBytes >= 64 else { throw ValidationError("--min-bytes: must be at least 64 bytes, got \(minBytes)") }
        guard maxBytes >= minBytes else { throw ValidationError("--max-bytes (\(maxBytes)) must not be below --min-bytes (\(minBytes))") }
        guard maxBytes <= 1 << 30 else { throw ValidationError("--max-bytes: at most 1G (the bench allocates five buffers of that size)") }
        guard stepFactor >= 2 else { throw ValidationError("--step-factor: must be at least 2, got \(stepFactor)") }
        guard (1...1000).contains(repetitions) else { throw ValidationError("--repetitions: must be between 1 and 1000, got \(repetitions)") }
        guard minTimeMilliseconds >= 0 && minTimeMilliseconds <= 10_000 else {
            throw ValidationError("--min-time-ms: must be between 0 and 10000, got \(minTimeMilliseconds)")
        }
        _ = try instructionSet()
    }

    func run() throws {
        let minBytes = try parseBytes(minBytesText, option: "--min-bytes")
        let maxBytes = try parseBytes(maxBytesText, option: "--max-bytes")
        var sizes: [Int] = []
        var s = minBytes
        while s <= maxBytes {
            sizes.append(s)
            let (next, overflow) = s.multipliedReportingOverflow(by: stepFactor)
            if overflow { break }
            s = next
        }

        let bench = KernelBench(maxBytes: maxBytes, repetitions: repetitions, minSeconds: minTimeMilliseconds / 1000,
                                instructionSet: try instructionSet())
        defer { bench.deallocate() }

        let mpi = noOpenMPI ? nil : OpenMPIReference.start()
        defer { mpi?.finish() }

        var report = Report(columns: [
            ReportColumn(key: "bytes", title: "size", unit: "(B)", kind: .integer),
            ReportColumn(key: "type", title: "type", kind: .text),
            ReportColumn(key: "op", title: "redop", kind: .text),
            ReportColumn(key: "form", title: "form", kind: .text),
            ReportColumn(key: "ours_GBps", title: "ours", unit: "(GB/s)", kind: .number(decimals: 2)),
            ReportColumn(key: "reference", title: "reference", kind: .text),
            ReportColumn(key: "reference_GBps", title: "reference", unit: "(GB/s)", kind: .number(decimals: 2)),
            ReportColumn(key: "ratio", title: "ratio", unit: "ours/ref", kind: .number(decimals: 3)),
        ])
        // Ours in place beside Open MPI's MPI_Reduce_local (or memcpy when it is absent); half and
        // bfloat16 in place and the fused 4-way float sum beside memcpy.
        var rows: [KernelBench.Row] = []
        for dataType in [DataType.float32, .float64, .int32] {
            for op in [ReductionOp.sum, .max] {
                if let mpi { try bench.checkAgreement(dataType, op, mpi) }
                rows.append(.init(dataType: dataType, op: op, sources: 1, openMPI: mpi != nil))
            }
        }
        rows.append(.init(dataType: .float16, op: .sum, sources: 1, openMPI: false))
        rows.append(.init(dataType: .bfloat16, op: .sum, sources: 1, openMPI: false))
        rows.append(.init(dataType: .float32, op: .sum, sources: 4, openMPI: false))

        var results: [KernelBench.Result] = []
        for size in sizes {
            results += bench.measure(rows, bytes: size, mpi: mpi)
        }
        results.sort { ($0.rowIndex, $0.bytes) < ($1.rowIndex, $1.bytes) }
        for r in results { report.append(r.row) }

        report.notes = notes(results, mpi: mpi)
        report.print(output.format)
    }

    /// Footer lines: what the reference is, and the project's speed targets checked against
    /// the rows just measured.
    func notes(_ results: [KernelBench.Result], mpi: OpenMPIReference?) -> [String] {
        var notes: [String] = []
        if let mpi {
            notes.append("reference openmpi = MPI_Reduce_local of \(mpi.version) (same buffers, same process)")
        } else if noOpenMPI {
            notes.append("Open MPI skipped (--no-openmpi): float/double/int32 rows are measured against memcpy")
        } else {
            notes.append("Open MPI is not built in (build with --traits MPI, or use Scripts/bench-kernels): float/double/int32 rows are measured against memcpy")
        }
        let set = (try? instructionSet()) ?? .default
        let chosenBy = instructionSetName == nil
            ? "the kernels' default; COLLECTIVE_KERNELS_INSTRUCTION_SET=portable forces the portable loops"
            : "--instruction-set"
        notes.append("kernels: \(set.rawValue) loops (\(chosenBy)); supported here: \(KernelInstructionSet.supported.map(\.rawValue).joined(separator: " "))")
        notes.append("GB/s = (bytes read + bytes written) / s / 1e9 with s = thread CPU time, median of \(repetitions) repetitions; ratio = median of the per-repetition ratios (ours and the reference in alternating batches, ABBA)")

        func rows(_ type: DataType, _ op: ReductionOp, _ form: String) -> [KernelBench.Result] {
            results.filter { $0.dataType == type && $0.op == op && $0.form == form }
        }
        if mpi != nil {
            for type in [DataType.float32, .float64, .int32] {
                let r = rows(type, .sum, "in-place")
                if let worst = r.min(by: { $0.ratio < $1.ratio }) {
                    notes.append("target \(type.name) sum >= 1.0x Open MPI at every size: \(worst.ratio >= 1 ? "met" : "MISSED"), lowest ratio \(formatFixed(worst.ratio, decimals: 3)) at \(worst.bytes) B")
                }
            }
        }
        let big = 64 << 20
        let float = rows(.float32, .sum, "in-place")
        for type in [DataType.float16, .bfloat16] {
            // Paired per repetition: the rows of one size run interleaved.
            let pairs = rows(type, .sum, "in-place").compactMap { h in
                float.first { $0.bytes == h.bytes }.map { f in
                    (bytes: h.bytes, ratio: median(zip(h.oursGBpsPerRepetition, f.oursGBpsPerRepetition).map { $0 / $1 }))
                }
            }
            if let worst = pairs.min(by: { $0.ratio < $1.ratio }) {
                notes.append("target \(type.name) sum >= 0.80x float sum GB/s at every size: \(worst.ratio >= 0.8 ? "met" : "MISSED"), lowest \(formatFixed(worst.ratio, decimals: 3)) at \(worst.bytes) B")
            }
        }
        let fused = rows(.float32, .sum, "fused-4").filter { $0.bytes >= big }
        if let worst = fused.min(by: { $0.ratio < $1.ratio }) {
            notes.append("target fused 4-way float sum >= 0.90x memcpy GB/s at >= 64 MiB: \(worst.ratio >= 0.9 ? "met" : "MISSED"), lowest \(formatFixed(worst.ratio, decimals: 3))")
        }
        return notes
    }
}

// MARK: - Measurement

/// The buffers and timing loop of `bench-kernels`. Buffers are allocated once at the largest
/// size, page-aligned, and touched before any timing.
struct KernelBench {
    struct Result {
        var rowIndex: Int
        var bytes: Int
        var dataType: DataType
        var op: ReductionOp
        var form: String
        var oursGBps: Double
        var reference: String
        var referenceGBps: Double
        /// Median over the repetitions of (ours GB/s / reference GB/s) measured back to back in
        /// the same repetition: robust to the slow phases of a shared machine, which shift both.
        var ratio: Double
        /// Our GB/s in each repetition (for paired comparisons between rows).
        var oursGBpsPerRepetition: [Double]

        var row: [ReportValue] {
            [.int(bytes), .text(dataType.name), .text(op.rawValue), .text(form), .number(oursGBps),
             .text(reference), .number(referenceGBps), .number(ratio)]
        }
    }

    let maxBytes: Int
    let repetitions: Int
    let minSeconds: Double
    let instructionSet: KernelInstructionSet
    /// dst, then the sources of the fused reduction (the first one doubles as the in-place source).
    var buffers: [UnsafeMutableRawPointer]

    init(maxBytes: Int, repetitions: Int, minSeconds: Double, instructionSet: KernelInstructionSet) {
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

    func deallocate() { for b in buffers { b.deallocate() } }

    var dst: UnsafeMutableRawPointer { buffers[0] }
    var src: UnsafeMutableRawPointer { buffers[1] }

    /// One line of the table at every size: ours (in place, or fused over `sources` inputs) and
    /// its reference.
    struct Row {
        var dataType: DataType
        var op: ReductionOp
        var sources: Int
        var openMPI: Bool
        var form: String { sources == 1 ? "in-place" : "fused-\(sources)" }
    }

    /// Measures every row at one size. The rows are interleaved: each repetition runs every
    /// row's kernel and reference in turn, so slow phases of a shared machine hit all rows alike.
    /// Within a row, a repetition is `rounds` short batches of each side in the order
    /// ours, reference, reference, ours, ... (ABBA): a batch lasts about `--min-time-ms` / rounds,
    /// so the two sides of a pair are never more than a millisecond or so apart, and a drift of
    /// the machine's speed during the repetition falls on both sides equally. The ratio of a
    /// repetition is that of the two sides' summed times.
    func measure(_ rows: [Row], bytes: Int, mpi: OpenMPIReference?) -> [Result] {
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
            if row.openMPI, let mpi {
                reference = { mpi.reduceLocal(s, d, count: count, row.dataType, row.op) }
                referenceBytes = Double(3 * payload)
            } else {
                reference = { _ = memcpy(d, s, payload) }
                referenceBytes = Double(2 * payload)
            }
            // Warm caches and page tables, then size the batches from one timed call: about
            // minSeconds per side and repetition, in up to maxRounds batches (always an even
            // number, so that each side runs first equally often).
            ours(); reference()
            let t0 = threadCPUSeconds()
            ours()
            let once = max(threadCPUSeconds() - t0, 1e-9)
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
                    let a = threadCPUSeconds()
                    for _ in 0..<n { body() }
                    return threadCPUSeconds() - a
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
                          oursGBps: median(ours),
                          reference: rows[i].openMPI ? "openmpi" : "memcpy",
                          referenceGBps: median(theirs),
                          ratio: median(zip(ours, theirs).map { $0 / $1 }),
                          oursGBpsPerRepetition: ours)
        }
    }

    /// Runs ours and Open MPI once on copies of the same small input and checks they agree, so
    /// the bench is known to time the same operation.
    func checkAgreement(_ dataType: DataType, _ op: ReductionOp, _ mpi: OpenMPIReference) throws {
        guard mpi.supports(dataType) else { return }
        guard Self.agree(dataType, op, instructionSet: instructionSet, reference: { mpi.reduceLocal($0, $1, count: $2, dataType, op) }) else {
            throw CLIError("bench-kernels: our \(dataType.name) \(op) and MPI_Reduce_local disagree on the same input")
        }
    }

    /// Elements of the agreement check: odd, so every kernel's tail runs.
    static let agreementCount = 4099

    /// Whether our in-place reduction and `reference(src, dst, count)` give the same bytes on
    /// ``agreementCount`` elements of the bench's byte patterns. The inputs are its own, whatever
    /// `--max-bytes` is (the bench's buffers may be smaller than the check).
    static func agree(_ dataType: DataType, _ op: ReductionOp, instructionSet: KernelInstructionSet = .default,
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
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// This thread's CPU time in seconds. The bench times with it rather than the wall clock, so
/// that time the process spends descheduled on a busy machine (other builds and tests sharing
/// the cores) is not counted against either side; memory-bandwidth contention still is.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

// MARK: - Open MPI

/// Open MPI's `MPI_Reduce_local` as a reference, in this process (MPI singleton mode).
final class OpenMPIReference {
    let version: String

    private init(version: String) { self.version = version }

    #if MPI
    /// Initialises MPI as a singleton. Open MPI refuses to start as root unless told it may
    /// (docs/Sources.md section 3), so the two OMPI_ALLOW_RUN_AS_ROOT variables are set when absent.
    static func start() -> OpenMPIReference? {
        if getuid() == 0 {
            setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0)
            setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0)
        }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            guard MPI_Init(nil, nil) == cmpi_success() else { return nil }
        }
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let full = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let first = full.split(separator: ",").first.map(String.init) ?? "Open MPI"
        return OpenMPIReference(version: first.trimmingCharacters(in: " \n"))
    }

    func finish() { MPI_Finalize() }

    func supports(_ dataType: DataType) -> Bool {
        [.float32, .float64, .int32].contains(dataType)
    }

    /// `inout = in op inout` through `MPI_Reduce_local`.
    func reduceLocal(_ input: UnsafeRawPointer, _ inputOutput: UnsafeMutableRawPointer, count: Int, _ dataType: DataType, _ op: ReductionOp) {
        let type: MPI_Datatype
        switch dataType {
        case .float32: type = cmpi_float()
        case .float64: type = cmpi_double()
        default: type = cmpi_int32()
        }
        let mpiOp: MPI_Op
        switch op {
        case .max: mpiOp = cmpi_op_max()
        case .min: mpiOp = cmpi_op_min()
        case .prod: mpiOp = cmpi_op_prod()
        default: mpiOp = cmpi_op_sum()
        }
        MPI_Reduce_local(input, inputOutput, Int32(count), type, mpiOp)
    }
    #else
    static func start() -> OpenMPIReference? { nil }
    func finish() {}
    func supports(_ dataType: DataType) -> Bool { false }
    func reduceLocal(_ input: UnsafeRawPointer, _ inputOutput: UnsafeMutableRawPointer, count: Int, _ dataType: DataType, _ op: ReductionOp) {}
    #endif
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        return String(drop(while: { chars.contains($0) }).reversed().drop(while: { chars.contains($0) }).reversed())
    }
}
