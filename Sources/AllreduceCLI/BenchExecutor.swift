import ArgumentParser
import CollectiveCore
import CollectiveKernels
import CollectiveSim
import Foundation

/// `allreduce bench-executor`: the in-process executor's memory traffic beside memcpy's, measured
/// in the same run with the same number of threads.
///
/// The executor's traffic is what the schedule's data movement costs in memory: every copied byte
/// is read once (sender) and written once (receiver); every reduced byte is read twice (sender's
/// and receiver's copies) and written once. memcpy's traffic is likewise two bytes per byte copied,
/// with each thread copying its own buffer of the same size. Both figures are medians over
/// `--runs` runs; the ratio is executor / memcpy.
struct BenchExecutor: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-executor", abstract: "Measure the in-process executor beside memcpy.")

    @Option(name: .long, help: "Number of ranks.")
    var ranks: Int = 8

    @Option(name: .long, help: "Bytes per rank (1024-based suffixes: 64M).")
    var size: String = "64M"

    @Option(name: [.long, .customShort("d")], help: "Element type: \(DataType.validNames).")
    var datatype: String = "float"

    @Option(name: .long, help: "Algorithm: \(AllreduceAlgorithm.validNames).")
    var algorithm: String = "ring"

    @Option(name: .long, help: "Pipelining chunk size in bytes (default 2M).")
    var chunkBytes: String = "2M"

    @Option(name: .long, help: "Runs (the median is reported).")
    var runs: Int = 5

    @Option(name: .long, help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "Refuse a run whose schedule needs more steps (all ranks together) than this.")
    var maxSteps: Int = WorkLimit.defaultMaxSteps

    @Flag(name: .long, help: "Instead: time producing every step of every rank, per algorithm (what a simulator pays per step).")
    var stepRate = false

    @OptionGroup var output: FormatOptions

    func parsed() throws -> (bytes: Int, type: DataType, algorithm: AllreduceAlgorithm, chunk: Int, threads: Int) {
        guard ranks >= 1 else { throw ValidationError("--ranks must be at least 1, got \(ranks)") }
        guard runs >= 1 && runs < Int(Int32.max) else { throw ValidationError("--runs must be between 1 and \(Int32.max - 1), got \(runs)") }
        guard let type = DataType(name: datatype) else { throw ValidationError("unknown datatype '\(datatype)'; valid: \(DataType.validNames)") }
        guard let a = AllreduceAlgorithm(name: algorithm) else { throw ValidationError("unknown algorithm '\(algorithm)'; valid: \(AllreduceAlgorithm.validNames)") }
        let bytes = try parseBytes(size, option: "--size")
        let chunk = try parseBytes(chunkBytes, option: "--chunk-bytes")
        guard chunk >= 1 else { throw ValidationError("--chunk-bytes must be at least 1 byte") }
        let t = threads ?? InProcessExecutor.availableCores
        guard t >= 1 && t <= InProcessExecutor.maxThreads else {
            throw ValidationError("--threads must be between 1 and \(InProcessExecutor.maxThreads), got \(t)")
        }
        try checkMaxSteps(maxSteps)
        let elementBytes = bytes - bytes % type.sizeInBytes
        if !stepRate {
            // Every rank's buffer, plus a memcpy source and target per thread.
            let (buffers, o1) = t.multipliedReportingOverflow(by: 2)
            let (count, o2) = ranks.addingReportingOverflow(buffers)
            let (total, o3) = elementBytes.multipliedReportingOverflow(by: count)
            do {
                try SystemMemory.check(needed: o1 || o2 || o3 ? nil : total, for: "--ranks \(ranks) x --size \(size) (plus two buffers per thread)")
            } catch {
                throw ValidationError(error.description)
            }
        }
        // Every run plays the schedule once more (the warm-up), --step-rate every algorithm.
        var steps = 0.0
        for a in stepRate ? Self.stepRateAlgorithms(ranks: ranks) : [a] {
            let parameters = Self.parameters(ranks: ranks, bytes: elementBytes, type: type, chunk: chunk)
            do { try WorkLimit.check(a, parameters, maxSteps: maxSteps) } catch { throw ValidationError(error.description) }
            steps += WorkLimit.estimatedSteps(a, parameters) * Double(runs + (stepRate ? 0 : 1))
        }
        guard steps <= Double(maxSteps) else {
            throw ValidationError("--runs \(runs) x the schedule\(stepRate ? "s" : "")'s steps = about \(steps < 9e18 ? "\(Int(steps))" : "\(steps)") steps, more than --max-steps \(maxSteps); use fewer --runs or raise --max-steps")
        }
        return (elementBytes, type, a, chunk, t)
    }

    /// What --step-rate times: every algorithm, NVLS's when the ranks fill nodes of 8.
    static func stepRateAlgorithms(ranks: Int) -> [AllreduceAlgorithm] {
        AllreduceAlgorithm.allCases.filter { $0.supports(.allreduce) && (!$0.reducesInSwitches || ranks % min(8, ranks) == 0) }
    }

    static func parameters(ranks: Int, bytes: Int, type: DataType, chunk: Int) -> ScheduleParameters {
        ScheduleParameters(rankCount: ranks, elementCount: bytes / type.sizeInBytes, elementSizeBytes: type.sizeInBytes,
                           chunkBytes: chunk, ranksPerNode: min(8, ranks))
    }

    func validate() throws { _ = try parsed() }

    func run() throws {
        if stepRate { return try runStepRate() }
        let (bytes, type, algorithm, chunk, threadCount) = try parsed()
        let schedule = try algorithm.makeSchedule(Self.parameters(ranks: ranks, bytes: bytes, type: type, chunk: chunk))
        let buffers = (0..<ranks).map { _ in UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64) }
        defer { buffers.forEach { $0.deallocate() } }
        // Small integers stored in every element type (bytes 0x00..0x01 patterns are valid for all).
        for b in buffers { memset(b, 0, bytes) }
        let reducer = Reducer(dataType: type, op: .sum)
        let executor = InProcessExecutor(threadCount: threadCount)
        let rankBuffers = buffers.enumerated().map { RankBuffer(rank: $0.offset, base: $0.element) }

        // memcpy: each thread copies its own buffer of `bytes`.
        let sources = (0..<threadCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64) }
        let targets = (0..<threadCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64) }
        defer { (sources + targets).forEach { $0.deallocate() } }
        for i in 0..<threadCount { memset(sources[i], 1, bytes); memset(targets[i], 0, bytes) }
        let pointers = UnsafeSendablePointers(sources: sources, targets: targets)

        var memcpyRates: [Double] = []
        var executorRates: [Double] = []
        var executorTimes: [Double] = []
        var traffic = 0
        _ = try executor.execute(schedule, buffers: rankBuffers, reducer: reducer)  // warm-up
        for _ in 0..<runs {
            let t0 = WallClock.now()
            DispatchQueue.concurrentPerform(iterations: threadCount) { i in
                memcpy(pointers.targets[i], pointers.sources[i], bytes)
            }
            let t1 = WallClock.now()
            memcpyRates.append(Double(2 * bytes * threadCount) / (t1 - t0))
            let stats = try executor.execute(schedule, buffers: rankBuffers, reducer: reducer)
            traffic = stats.memoryTrafficBytes
            executorRates.append(Double(stats.memoryTrafficBytes) / stats.seconds)
            executorTimes.append(stats.seconds)
        }
        let memcpyRate = SampleStatistics.median(memcpyRates), executorRate = SampleStatistics.median(executorRates), time = SampleStatistics.median(executorTimes)
        let algbw = Collective.algorithmBandwidthGBps(bytes: bytes, seconds: time)
        var report = Report(columns: [
            ReportColumn(key: "what", title: "what", kind: .text),
            ReportColumn(key: "ranks", title: "ranks", kind: .integer),
            ReportColumn(key: "size", title: "size", unit: "(B)", kind: .integer),
            ReportColumn(key: "threads", title: "threads", kind: .integer),
            ReportColumn(key: "time_us", title: "time", unit: "(us)", kind: .number(decimals: 1)),
            ReportColumn(key: "traffic_bytes", title: "traffic", unit: "(B)", kind: .integer),
            ReportColumn(key: "traffic_GBps", title: "traffic", unit: "(GB/s)", kind: .number(decimals: 2)),
            ReportColumn(key: "algbw_GBps", title: "algbw", unit: "(GB/s)", kind: .number(decimals: 2)),
            ReportColumn(key: "busbw_GBps", title: "busbw", unit: "(GB/s)", kind: .number(decimals: 2)),
        ])
        let memcpyTime = Double(2 * bytes * threadCount) / memcpyRate
        report.append([.text("memcpy"), .int(0), .int(bytes), .int(threadCount), .number(memcpyTime * 1e6), .int(2 * bytes * threadCount),
                       .number(memcpyRate / 1e9), .number(Double(bytes * threadCount) / memcpyTime / 1e9), .number(0)])
        report.append([.text("\(algorithm.rawValue) \(type.name) sum"), .int(ranks), .int(bytes), .int(threadCount), .number(time * 1e6),
                       .int(traffic), .number(executorRate / 1e9), .number(algbw),
                       .number(Collective.allreduce.busBandwidthGBps(bytes: bytes, seconds: time, ranks: ranks))])
        report.notes.append("executor traffic / memcpy traffic = \(formatFixed(executorRate / memcpyRate, decimals: 3)) (median of \(runs) runs each)")
        report.notes.append("traffic: a copied byte is read and written once, a reduced byte read twice and written once; memcpy: each thread copies its own \(bytes)-byte buffer")
        report.print(output.format)
    }
}

extension BenchExecutor {
    /// Times producing every step of every rank (iterators only, no data), per algorithm.
    func runStepRate() throws {
        let (bytes, type, _, chunk, _) = try parsed()
        var report = Report(columns: [
            ReportColumn(key: "algorithm", title: "algorithm", kind: .text),
            ReportColumn(key: "ranks", title: "ranks", kind: .integer),
            ReportColumn(key: "steps", title: "steps", kind: .integer),
            ReportColumn(key: "time_us", title: "time", unit: "(us)", kind: .number(decimals: 1)),
            ReportColumn(key: "ns_per_step", title: "per step", unit: "(ns)", kind: .number(decimals: 1)),
        ])
        for a in Self.stepRateAlgorithms(ranks: ranks) {
            let schedule = try a.makeSchedule(Self.parameters(ranks: ranks, bytes: bytes, type: type, chunk: chunk))
            var times: [Double] = []
            var steps = 0
            for _ in 0..<runs {
                let t0 = WallClock.now()
                steps = _countSteps(schedule)
                times.append(WallClock.now() - t0)
            }
            let t = SampleStatistics.median(times)
            report.append([.text(a.rawValue), .int(ranks), .int(steps), .number(t * 1e6), .number(steps > 0 ? t * 1e9 / Double(steps) : 0)])
        }
        report.notes.append("every rank's iterator created and run to the end; median of \(runs) runs")
        report.print(output.format)
    }
}

func _countSteps<S: Schedule>(_ s: S) -> Int {
    var total = 0
    var checksum = 0
    for r in 0..<s.rankCount {
        var it = s.makeSteps(forRank: r)
        while let step = it.next() {
            total += 1
            checksum &+= step.count &+ step.peer
        }
    }
    return checksum == Int.min ? 0 : total
}

/// Buffers handed to worker threads.
struct UnsafeSendablePointers: @unchecked Sendable {
    var sources: [UnsafeMutableRawPointer]
    var targets: [UnsafeMutableRawPointer]
}
