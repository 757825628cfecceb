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
/// each repetition so that both see the same machine state.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "Measure the reduction kernels beside Open MPI and memcpy.",
        discussion: """
            Sizes are the bytes of one buffer, from --min-bytes to --max-bytes in steps of \
            --step-factor. GB/s = (bytes read + bytes written) / time / 1e9; ratio = ours / reference. \
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
    var repetitions: Int = 7

    @Option(name: .customLong("min-time-ms"), help: "Each repetition repeats the operation until it lasts at least this long (milliseconds).")
    var minTimeMilliseconds: Double = 10

    @Flag(name: .customLong("no-openmpi"), help: "Measure against memcpy only, even when Open MPI is built in.")
    var noOpenMPI = false

    @OptionGroup var output: FormatOptions

    func validate() throws {
        let minBytes = try parseBytes(minBytesText, option: "--min-bytes")
        let maxBytes = try parseBytes(maxBytesText, option: "--max-bytes")
        guard minBytes >= 64 else { throw ValidationError("--min-bytes: must be at least 64 bytes, got \(minBytes)") }
        guard maxBytes >= minBytes else { throw ValidationError("--max-bytes (\(maxBytes)) must not be below --min-bytes (\(minBytes))") }
        guard maxBytes <= 1 << 32 else { throw ValidationError("--max-bytes: at most 4G (the bench allocates six buffers of that size)") }
        guard stepFactor >= 2 else { throw ValidationError("--step-factor: must be at least 2, got \(stepFactor)") }
        guard (1...1000).contains(repetitions) else { throw ValidationError("--repetitions: must be between 1 and 1000, got \(repetitions)") }
        guard minTimeMilliseconds >= 0 && minTimeMilliseconds <= 10_000 else {
            throw ValidationError("--min-time-ms: must be between 0 and 10000, got \(minTimeMilliseconds)")
        }
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

        let bench = KernelBench(maxBytes: maxBytes, repetitions: repetitions, minSeconds: minTimeMilliseconds / 1000)
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
        var results: [KernelBench.Result] = []

        // Ours in place beside Open MPI's MPI_Reduce_local (or memcpy when it is absent).
        for dataType in [DataType.float32, .float64, .int32] {
            for op in [ReductionOp.sum, .max] {
                bench.fill(dataType)
                if let mpi { try bench.checkAgreement(dataType, op, mpi) }
                for size in sizes {
                    let r = bench.measureInPlace(dataType, op, bytes: size, reference: mpi)
                    results.append(r)
                    report.append(r.row)
                }
            }
        }
        // Half and bfloat16 in place, and the fused 4-way float sum, beside memcpy.
        for dataType in [DataType.float16, .bfloat16] {
            bench.fill(dataType)
            for size in sizes {
                let r = bench.measureInPlace(dataType, .sum, bytes: size, reference: nil)
                results.append(r)
                report.append(r.row)
            }
        }
        bench.fill(.float32)
        for size in sizes {
            let r = bench.measureFused(.float32, .sum, sources: 4, bytes: size)
            results.append(r)
            report.append(r.row)
        }

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
        notes.append("GB/s = (bytes read + bytes written) / s / 1e9; median of \(repetitions) repetitions")

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
        let float = rows(.float32, .sum, "in-place").filter { $0.bytes >= big }
        for type in [DataType.float16, .bfloat16] {
            let pairs = rows(type, .sum, "in-place").filter { $0.bytes >= big }.compactMap { h in
                float.first { $0.bytes == h.bytes }.map { h.oursGBps / $0.oursGBps }
            }
            if let worst = pairs.min() {
                notes.append("target \(type.name) sum >= 0.80x float sum GB/s at >= 64 MiB: \(worst >= 0.8 ? "met" : "MISSED"), lowest \(formatFixed(worst, decimals: 3))")
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
        var bytes: Int
        var dataType: DataType
        var op: ReductionOp
        var form: String
        var oursGBps: Double
        var reference: String
        var referenceGBps: Double
        var ratio: Double { oursGBps / referenceGBps }

        var row: [ReportValue] {
            [.int(bytes), .text(dataType.name), .text(op.rawValue), .text(form), .number(oursGBps),
             .text(reference), .number(referenceGBps), .number(ratio)]
        }
    }

    let maxBytes: Int
    let repetitions: Int
    let minSeconds: Double
    /// dst, then the sources of the fused reduction (the first one doubles as the in-place source).
    var buffers: [UnsafeMutableRawPointer]

    init(maxBytes: Int, repetitions: Int, minSeconds: Double) {
        self.maxBytes = maxBytes
        self.repetitions = repetitions
        self.minSeconds = minSeconds
        buffers = (0..<5).map { _ in
            let p = UnsafeMutableRawPointer.allocate(byteCount: maxBytes, alignment: 4096)
            memset(p, 0, maxBytes)
            return p
        }
    }

    func deallocate() { for b in buffers { b.deallocate() } }

    var dst: UnsafeMutableRawPointer { buffers[0] }
    var src: UnsafeMutableRawPointer { buffers[1] }

    /// Fills every buffer with values of `dataType` that stay finite and normal under repeated
    /// in-place sums (destination near 1, sources small), so no path hits NaN, infinity or
    /// subnormal slow cases.
    func fill(_ dataType: DataType) {
        var rng: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Double {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Double(rng >> 11) / Double(1 << 53)
        }
        let count = maxBytes / dataType.sizeInBytes
        for (b, buffer) in buffers.enumerated() {
            let scale = b == 0 ? 1.0 : 1.0 / 4096
            for i in 0..<count {
                let v = (1 + next()) * scale
                switch dataType {
                case .float32: buffer.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self)
                case .float64: buffer.storeBytes(of: v, toByteOffset: i * 8, as: Double.self)
                case .float16: buffer.storeBytes(of: Float16(v), toByteOffset: i * 2, as: Float16.self)
                case .bfloat16: buffer.storeBytes(of: BFloat16(Float(v)).bitPattern, toByteOffset: i * 2, as: UInt16.self)
                case .int32: buffer.storeBytes(of: Int32(truncatingIfNeeded: Int(v * 1e9)), toByteOffset: i * 4, as: Int32.self)
                default:
                    for j in 0..<dataType.sizeInBytes {
                        buffer.storeBytes(of: UInt8(truncatingIfNeeded: Int(v * 1e6) >> j), toByteOffset: i * dataType.sizeInBytes + j, as: UInt8.self)
                    }
                }
            }
        }
    }

    /// Seconds per call of `body`: the median over the repetitions, each of which repeats the
    /// call enough times to last `minSeconds`. `reference` runs right after `body` in every
    /// repetition with the same iteration count.
    func time(_ body: () -> Void, against reference: () -> Void) -> (ours: Double, reference: Double) {
        body(); reference()  // warm caches and page tables
        let t0 = monotonicSeconds()
        body()
        let once = max(monotonicSeconds() - t0, 1e-9)
        let iterations = max(1, min(1 << 22, Int((minSeconds / once).rounded(.up))))
        var ours: [Double] = [], theirs: [Double] = []
        for _ in 0..<repetitions {
            let a = monotonicSeconds()
            for _ in 0..<iterations { body() }
            let b = monotonicSeconds()
            for _ in 0..<iterations { reference() }
            let c = monotonicSeconds()
            ours.append((b - a) / Double(iterations))
            theirs.append((c - b) / Double(iterations))
        }
        return (median(ours), median(theirs))
    }

    func measureInPlace(_ dataType: DataType, _ op: ReductionOp, bytes: Int, reference mpi: OpenMPIReference?) -> Result {
        let count = bytes / dataType.sizeInBytes
        let moved = Double(3 * count * dataType.sizeInBytes)
        let reducer = Reducer(dataType: dataType, op: op)
        let (d, s) = (dst, UnsafeRawPointer(src))
        let ours = { reducer.reduceInPlace(into: d, from: s, count: count) }
        if let mpi, mpi.supports(dataType) {
            let t = time(ours, against: { mpi.reduceLocal(s, d, count: count, dataType, op) })
            return Result(bytes: bytes, dataType: dataType, op: op, form: "in-place", oursGBps: moved / t.ours / 1e9,
                          reference: "openmpi", referenceGBps: moved / t.reference / 1e9)
        }
        let copyBytes = count * dataType.sizeInBytes
        let t = time(ours, against: { _ = memcpy(d, s, copyBytes) })
        return Result(bytes: bytes, dataType: dataType, op: op, form: "in-place", oursGBps: moved / t.ours / 1e9,
                      reference: "memcpy", referenceGBps: Double(2 * copyBytes) / t.reference / 1e9)
    }

    func measureFused(_ dataType: DataType, _ op: ReductionOp, sources k: Int, bytes: Int) -> Result {
        let count = bytes / dataType.sizeInBytes
        let payload = count * dataType.sizeInBytes
        let reducer = Reducer(dataType: dataType, op: op)
        let sources = Array(buffers[1...k]).map { UnsafeRawPointer($0) }
        let d = dst
        let t = sources.withUnsafeBufferPointer { sp in
            time({ reducer.reduceFused(into: d, sources: sp, count: count) },
                 against: { _ = memcpy(d, sp[0], payload) })
        }
        return Result(bytes: bytes, dataType: dataType, op: op, form: "fused-\(k)",
                      oursGBps: Double((k + 1) * payload) / t.ours / 1e9,
                      reference: "memcpy", referenceGBps: Double(2 * payload) / t.reference / 1e9)
    }

    /// Runs ours and Open MPI once on copies of the same small input and checks they agree, so
    /// the bench is known to time the same operation.
    func checkAgreement(_ dataType: DataType, _ op: ReductionOp, _ mpi: OpenMPIReference) throws {
        guard mpi.supports(dataType) else { return }
        let count = 4099
        let bytes = count * dataType.sizeInBytes
        let a = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let b = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { a.deallocate(); b.deallocate() }
        a.copyMemory(from: dst, byteCount: bytes)
        b.copyMemory(from: dst, byteCount: bytes)
        Reducer(dataType: dataType, op: op).reduceInPlace(into: a, from: src, count: count)
        mpi.reduceLocal(src, b, count: count, dataType, op)
        guard memcmp(a, b, bytes) == 0 else {
            throw CLIError("bench-kernels: our \(dataType.name) \(op) and MPI_Reduce_local disagree on the same input")
        }
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

// MARK: - Open MPI

/// Open MPI's `MPI_Reduce_local` as a reference, in this process (MPI singleton mode).
final class OpenMPIReference {
    let version: String

    private init(version: String) { self.version = version }

    #if MPI
    /// Initialises MPI as a singleton. Open MPI refuses to start as root unless told it may
    /// (FACTS.md section 3), so the two OMPI_ALLOW_RUN_AS_ROOT variables are set when absent.
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
