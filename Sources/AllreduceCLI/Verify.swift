import ArgumentParser
import CollectiveCore
import CollectiveKernels
import Foundation

/// `allreduce verify`: plays schedules in-process on real data and checks every rank's result.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run schedules in-process on real data and check the results.",
        discussion: """
            Every rank gets its own buffer of --count elements; the schedule runs on a pool of
            threads (one per core), and each rank's result is compared with a float64 (or exact
            integer) reference. Floating-point results must lie within gamma(p-1) * sum|x| of the
            reference, the worst-case error of a p-term sum in any order. Exits with status 1 if
            any element is wrong.
            """)

    @Option(name: .long, help: "Number of ranks (>= 1).")
    var ranks: Int = 8

    @Option(name: .long, help: "Elements per rank (>= 0).")
    var count: Int = 1 << 20

    @Option(name: [.long, .customShort("d")], help: "Element type: \(DataType.validNames).")
    var datatype: String = "float"

    @Option(name: [.long, .customShort("o")], help: "Reduction: \(ReductionOp.validNames).")
    var op: String = "sum"

    @Option(name: .long, help: "Comma-separated algorithms, or all.")
    var algorithm: AlgorithmSelection<AllreduceAlgorithm> = AlgorithmSelection([.all])

    @Option(name: .long, help: "Ranks per node for hierarchical (1 ... ranks; default min(8, ranks)).")
    var ranksPerNode: Int?

    @Option(name: .long, help: "Inter-node algorithm of hierarchical: ring or tree.")
    var interNode: InterNodeAlgorithm = .ring

    @Option(name: .long, help: "Pipelining chunk size in bytes (1024-based suffixes: 64K, 2M). Default 2M.")
    var chunkBytes: String?

    @Option(name: .long, help: "Channels of nccl-ring and nccl-tree (1 ... \(ScheduleParameters.maxChannels); default 4).")
    var channels: Int = 4

    @Option(name: .long, help: "Seed of the data.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Worker threads (default: one per core).")
    var threads: Int?

    @Flag(name: .long, help: "Check the schedules symbolically instead (ScheduleVerifier: contributions, matching, deadlock, hazards under FIFO, LIFO and random completion orders); no data.")
    var symbolic = false

    @Option(name: .long, help: "Refuse a run whose schedules need more steps (all ranks together) than this.")
    var maxSteps: Int = WorkLimit.defaultMaxSteps

    @OptionGroup var collective: CollectiveOptions

    @OptionGroup var output: FormatOptions

    /// Testing only: after the executor has run, overwrite the middle element of this rank's
    /// result, to prove that a wrong element is counted and fails the run.
    @Option(name: .long, help: .hidden)
    var testCorruptRank: Int?

    /// The parsed choices, once validated.
    struct Choices {
        var dataType: DataType
        var op: ReductionOp
        var algorithms: [AllreduceAlgorithm]
        var ranksPerNode: Int
        var inter: AllreduceAlgorithm
        var chunkBytes: Int
    }

    func choices() throws -> Choices {
        guard ranks >= 1 else { throw ValidationError("--ranks must be at least 1, got \(ranks)") }
        guard count >= 0 else { throw ValidationError("--count must be at least 0, got \(count)") }
        guard let dataType = DataType(name: datatype) else {
            throw ValidationError("unknown datatype '\(datatype)'; valid: \(DataType.validNames)")
        }
        guard let reduction = ReductionOp(name: op) else {
            throw ValidationError("unknown op '\(op)'; valid: \(ReductionOp.validNames)")
        }
        let g = ranksPerNode ?? min(8, ranks)
        guard g >= 1 && g <= ranks else {
            throw ValidationError("--ranks-per-node must be between 1 and --ranks (\(ranks)), got \(g)")
        }
        let algorithms = algorithm.expanded {
            // NVLS needs whole nodes: part of `all` when the ranks fill them.
            AllreduceAlgorithm.allCases.filter { (!$0.reducesInSwitches || ranks % g == 0) && $0.supports(collective.collective) }
        }
        let inter = interNode.algorithm
        var chunk = ScheduleParameters.defaultChunkBytes
        if let chunkBytes {
            chunk = try parseBytes(chunkBytes, option: "--chunk-bytes")
            guard chunk >= 1 else { throw ValidationError("--chunk-bytes must be at least 1 byte") }
        }
        guard channels >= 1 && channels <= ScheduleParameters.maxChannels else {
            throw ValidationError("--channels must be between 1 and \(ScheduleParameters.maxChannels), got \(channels)")
        }
        if let threads, threads < 1 || threads > InProcessExecutor.maxThreads {
            throw ValidationError("--threads must be between 1 and \(InProcessExecutor.maxThreads), got \(threads)")
        }
        // Buffers of every rank plus the reference (two float64 per element for floating point).
        let perElement = ranks.multipliedReportingOverflow(by: dataType.sizeInBytes)
        let referenceBytes = dataType.isFloatingPoint ? 16 : dataType.sizeInBytes
        let (withReference, o1) = perElement.partialValue.addingReportingOverflow(referenceBytes)
        let total = count.multipliedReportingOverflow(by: withReference)
        let overflow = perElement.overflow || o1 || total.overflow
        do {
            try SystemMemory.check(needed: overflow ? nil : total.partialValue,
                                   for: "--ranks \(ranks) x --count \(count) of \(dataType.name)")
        } catch {
            throw ValidationError(error.description)
        }
        try checkMaxSteps(maxSteps)
        let choices = Choices(dataType: dataType, op: reduction, algorithms: algorithms, ranksPerNode: g, inter: inter, chunkBytes: chunk)
        // Refuse runs whose step count alone would take hours.
        for a in algorithms {
            do { try WorkLimit.check(a, parameters(choices), maxSteps: maxSteps) } catch { throw ValidationError(error.description) }
        }
        return choices
    }

    func validate() throws { _ = try choices() }

    func run() throws {
        let c = try choices()
        if symbolic { return try runSymbolic(c) }
        let json = output.format == .json
        var report = Report(columns: [
            ReportColumn(key: "algorithm", title: "algorithm", kind: .text),
            ReportColumn(key: "ranks", title: "ranks", kind: .integer),
            ReportColumn(key: "count", title: "count", unit: "(elements)", kind: .integer),
            ReportColumn(key: "type", title: "type", kind: .text),
            ReportColumn(key: "redop", title: "redop", kind: .text),
            ReportColumn(key: "wrong", title: "#wrong", kind: .integer),
            ReportColumn(key: "max_abs_error", title: "max abs", unit: "error", kind: json ? .number(decimals: 6) : .text),
            ReportColumn(key: "max_rel_error", title: "max rel", unit: "error", kind: json ? .number(decimals: 6) : .text),
            ReportColumn(key: "time_us", title: "time", unit: "(us)", kind: .number(decimals: 1)),
        ])
        var failures: [String] = []
        for a in c.algorithms {
            let schedule = try makeSchedule(a, c)
            let check = AllreduceCheck(dataType: c.dataType, op: c.op, seed: seed)
            let executor = _CorruptingExecutor(
                base: InProcessExecutor(threadCount: threads ?? InProcessExecutor.availableCores),
                rank: testCorruptRank, elementSize: c.dataType.sizeInBytes, count: count)
            let result: AllreduceCheck.Result
            do { result = try check.run(schedule, executor: executor) } catch { throw CLIError("\(a.rawValue): \(error)") }
            if result.wrong > 0 { failures.append("\(a.rawValue): \(result.wrong) wrong") }
            func err(_ d: Double) -> ReportValue { json ? .number(d) : .text(String(format: "%.3e", d)) }
            report.append([
                .text(a.rowName(for: parameters(c))), .int(ranks), .int(count), .text(c.dataType.name), .text(c.op.rawValue),
                .int(result.wrong), err(result.maxAbsError), err(result.maxRelError), .number(result.statistics.seconds * 1e6),
            ])
        }
        if c.algorithms.contains(.hierarchical) {
            report.notes.append("hierarchical: \(c.ranksPerNode) ranks per node, \(c.inter.rawValue) between nodes")
        }
        if c.dataType.isFloatingPoint {
            let u = AllreduceCheck.unitRoundoff(c.dataType)
            report.notes.append("error bound (\(c.op.rawValue)): gamma(p-1) = (p-1)u/(1-(p-1)u) with u = \(String(format: "%.3e", u)), times sum|x| (sum), sum|x|/p + u|ref| (avg), |ref| (prod); min/max exact")
        }
        report.print(output.format)
        if !failures.isEmpty { throw CLIError("verification failed: " + failures.joined(separator: ", ")) }
    }
}

/// Runs `base`, then (when `rank` is set) overwrites the middle element of that rank's buffer
/// with 0x7F bytes: a value no correct allreduce of the check's data produces.
struct _CorruptingExecutor<Base: ScheduleExecutor>: ScheduleExecutor {
    var base: Base
    var rank: Int?
    var elementSize: Int
    var count: Int

    func execute<S: Schedule>(_ schedule: S, buffers: [RankBuffer], reducer: Reducer) throws(ExecutionError) -> ExecutionStatistics {
        let statistics = try base.execute(schedule, buffers: buffers, reducer: reducer)
        if let rank, count > 0, let buffer = buffers.first(where: { $0.rank == rank }) {
            (buffer.base + (count / 2) * elementSize).initializeMemory(as: UInt8.self, repeating: 0x7F, count: elementSize)
        }
        return statistics
    }
}

extension Verify {
    /// The schedule of algorithm `a` for these options, or a one-line error naming it.
    func makeSchedule(_ a: AllreduceAlgorithm, _ c: Choices) throws -> any Schedule {
        do { return try a.makeSchedule(parameters(c)) } catch { throw CLIError("\(a.rawValue): \(error)") }
    }

    func parameters(_ c: Choices) -> ScheduleParameters {
        ScheduleParameters(rankCount: ranks, elementCount: count, elementSizeBytes: c.dataType.sizeInBytes,
                           chunkBytes: c.chunkBytes, ranksPerNode: c.ranksPerNode, interNodeAlgorithm: c.inter,
                           channelCount: channels, collective: collective.collective)
    }

    /// `--symbolic`: one row per algorithm with what the verifier played.
    func runSymbolic(_ c: Choices) throws {
        var report = Report(columns: [
            ReportColumn(key: "algorithm", title: "algorithm", kind: .text),
            ReportColumn(key: "ranks", title: "ranks", kind: .integer),
            ReportColumn(key: "count", title: "count", unit: "(elements)", kind: .integer),
            ReportColumn(key: "steps", title: "steps", kind: .integer),
            ReportColumn(key: "messages", title: "messages", kind: .integer),
            ReportColumn(key: "max_sent_per_rank", title: "max sent", unit: "(elements)", kind: .integer),
            ReportColumn(key: "max_in_flight", title: "max in", unit: "flight", kind: .integer),
            ReportColumn(key: "verified", title: "verified", kind: .text),
            ReportColumn(key: "time_us", title: "time", unit: "(us)", kind: .number(decimals: 1)),
        ])
        var failures: [String] = []
        for a in c.algorithms {
            let schedule = try makeSchedule(a, c)
            let t0 = Date()
            do {
                let s = try ScheduleVerifier().verify(schedule, orders: [.fifo, .lifo, .random(seed: seed)])
                report.append([.text(a.rowName(for: parameters(c))), .int(ranks), .int(count), .int(s.stepCount), .int(s.messageCount),
                               .int(s.maxElementsSentPerRank), .int(s.maxInFlightPerRank), .text("yes"),
                               .number(Date().timeIntervalSince(t0) * 1e6)])
            } catch .invalidParameter(let m) {
                throw CLIError("\(a.rawValue): \(m)")
            } catch {
                failures.append("\(a.rawValue): \(error)")
                report.append([.text(a.rawValue), .int(ranks), .int(count), .int(0), .int(0), .int(0), .int(0), .text("no"),
                               .number(Date().timeIntervalSince(t0) * 1e6)])
            }
        }
        report.notes.append("completion orders: fifo, lifo, random(seed: \(seed))")
        report.print(output.format)
        if !failures.isEmpty { throw CLIError(failures.joined(separator: "; ")) }
    }
}
