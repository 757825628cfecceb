import CollectiveCore
import ArgumentParser
import CollectiveKernels
import CollectiveMPI

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

    @Option(name: .customLong("instruction-set"), help: "The kernels' loops: portable, avx2, avx512 or avx512bf16 (default: the best this CPU supports).")
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

        let bench = KernelBenchmark(maxBytes: maxBytes, repetitions: repetitions, minSeconds: minTimeMilliseconds / 1000,
                                instructionSet: try instructionSet())
        defer { bench.deallocate() }

        let mpi = noOpenMPI ? nil : MPIReduceLocal.start()
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
        var rows: [KernelBenchmark.Row] = []
        for dataType in MPIReduceLocal.dataTypes {
            for op in [ReductionOp.sum, .max] {
                // Run once on the same small input, so the bench is known to time the same operation.
                if let mpi, !bench.agrees(dataType, op, with: mpi.reference) {
                    throw CLIError("bench-kernels: our \(dataType.name) \(op) and MPI_Reduce_local disagree on the same input")
                }
                rows.append(.init(dataType: dataType, op: op, sources: 1, usesReference: mpi != nil))
            }
        }
        rows.append(.init(dataType: .float16, op: .sum, sources: 1, usesReference: false))
        rows.append(.init(dataType: .bfloat16, op: .sum, sources: 1, usesReference: false))
        rows.append(.init(dataType: .float32, op: .sum, sources: 4, usesReference: false))

        var results: [KernelBenchmark.Result] = []
        for size in sizes {
            results += bench.measure(rows, bytes: size, reference: mpi?.reference)
        }
        results.sort { ($0.rowIndex, $0.bytes) < ($1.rowIndex, $1.bytes) }
        for r in results {
            report.append([.int(r.bytes), .text(r.dataType.name), .text(r.op.rawValue), .text(r.form), .number(r.oursGBps),
                           .text(r.reference), .number(r.referenceGBps), .number(r.ratio)])
        }

        report.notes = notes(results, mpi: mpi)
        report.print(output.format)
    }

    /// Footer lines: what the reference is, and the project's speed targets checked against
    /// the rows just measured.
    func notes(_ results: [KernelBenchmark.Result], mpi: MPIReduceLocal?) -> [String] {
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
            ? "the kernels' default; COLLECTIVE_KERNELS_INSTRUCTION_SET=portable (or a lower set's name) lowers it"
            : "--instruction-set"
        notes.append("kernels: \(set.rawValue) loops (\(chosenBy)); supported here: \(KernelInstructionSet.supported.map(\.rawValue).joined(separator: " "))")
        notes.append("GB/s = (bytes read + bytes written) / s / 1e9 with s = thread CPU time, median of \(repetitions) repetitions; ratio = median of the per-repetition ratios (ours and the reference in alternating batches, ABBA)")

        func rows(_ type: DataType, _ op: ReductionOp, _ form: String) -> [KernelBenchmark.Result] {
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
                    (bytes: h.bytes, ratio: SampleStatistics.median(zip(h.oursGBpsPerRepetition, f.oursGBpsPerRepetition).map { $0 / $1 }))
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
