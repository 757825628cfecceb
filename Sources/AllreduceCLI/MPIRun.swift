import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
import CollectiveMPI
import CollectivePlot
import CollectiveSim
#if MPI
import CMPI
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `allreduce mpi`: plays the schedules across processes under mpirun with MPI point-to-point
/// messages and our reduction kernels, beside Open MPI's own MPI_Allreduce (MPI_Reduce_scatter_block,
/// MPI_Allgather for `--collective reduce-scatter|all-gather`), and prints rows like
/// nccl-tests' all_reduce_perf.
struct MPIRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi",
        abstract: "Run allreduce (reduce-scatter, all-gather) schedules across processes under mpirun, beside MPI's own.",
        discussion: """
            Start it under mpirun, for example:

              mpirun -np 4 allreduce mpi -b 8 -e 256M -f 2 -d float -o sum --algorithm ring,tree,rabenseifner,recursive-doubling,hierarchical,mpi -c 1

            `mpi` is MPI_Allreduce itself, the baseline (with --collective reduce-scatter: MPI_Reduce_scatter_block, or MPI_Reduce_scatter with the shard counts when the ranks do not divide the count; with --collective all-gather: MPI_Allgather, or MPI_Allgatherv); sizes are the full buffer and busbw = algbw x (n-1)/n for those two, as nccl-tests' reduce_scatter_perf and all_gather_perf count them; the `vs mpi` column is each row's busbw over its busbw at the same size. `memcpy` is the memory bound: every rank copies its buffer once.

            Each algorithm is timed at each size in blocks of back-to-back calls, each after its own warm-up and a barrier, with one MPI_Wtime span around the block (nccl-tests, OSU). The timed iterations are split into --rounds blocks per algorithm, in alternating order (A B B A ...), so a busy spell of the machine hits every algorithm alike; a single algorithm is timed in one block, as OSU does. Time is each rank's mean per call, then its average (time), min and max over ranks (OSU's osu_allreduce); algbw and busbw come from the average.

            Iterations per size (OSU's rule): with none of -n, -w, --iterations-large, --warmup-large, 1000 timed after 100 warm-up up to 8192 bytes and 100 after 10 above. -n and -w, when given, apply to every size (nccl-tests' meaning) unless --iterations-large or --warmup-large are also given, which then set the sizes above 8192 bytes. The `iterations` column shows the count each row used.

            With -c 1 each algorithm then runs once more and its result is checked against MPI_Allreduce's (the library's own call for the collective: a reduce-scatter on each rank's own shard, an all-gather on the whole buffer). Only rank 0 prints.

            --transport shm reads peers' buffers through an MPI-3 shared window whatever --mca btl says: do not compare it with a TCP run.

            Needs the package trait MPI: swift build -c release --traits MPI.
            """
    )

    @Option(name: [.customShort("b"), .customLong("minbytes")], help: "Smallest size per rank (1024-based suffixes: 8, 64K, 1M).")
    var minBytes = "32M"

    @Option(name: [.customShort("e"), .customLong("maxbytes")], help: "Largest size per rank.")
    var maxBytes = "32M"

    @Option(name: [.customShort("f"), .customLong("stepfactor")], help: "Multiply the size by this between measurements (1: add -i instead).")
    var stepFactor = 1

    @Option(name: [.customShort("i"), .customLong("stepbytes")], help: "Add this to the size between measurements when -f is 1.")
    var stepBytes = "1M"

    @Option(name: [.customShort("d"), .customLong("datatype")], help: "Element type: \(DataType.validNames).")
    var dataType = "float"

    @Option(name: [.customShort("o"), .customLong("op")], help: "Reduction: \(ReductionOp.validNames).")
    var op = "sum"

    @Option(name: .customLong("algorithm"), help: "Comma-separated: schedules, mpi (MPI_Allreduce, or the library's call for --collective), memcpy (the memory bound: every rank copies its buffer once), or all (every algorithm that builds the collective, and mpi).")
    var algorithm: AlgorithmSelection<MPIAlgorithmChoice> = AlgorithmSelection([.all])

    @Option(name: [.customShort("n"), .customLong("iters")], help: "Timed iterations per size and algorithm, at every size unless --iterations-large is given (default: 1000 up to 8192 bytes, 100 above).")
    var iterations: Int?

    @Option(name: [.customShort("w"), .customLong("warmup-iters")], help: "Untimed warm-up iterations before each timed block, at every size unless --warmup-large is given (default: 100 up to 8192 bytes, 10 above).")
    var warmupIterations: Int?

    @Option(name: .customLong("iterations-large"), help: "Timed iterations at sizes above 8192 bytes (default: -n if given, else 100).")
    var iterationsLarge: Int?

    @Option(name: .customLong("warmup-large"), help: "Warm-up iterations at sizes above 8192 bytes (default: -w if given, else 10).")
    var warmupLarge: Int?

    @Option(name: .customLong("rounds"), help: "Timed blocks per size and algorithm: the timed iterations are split into this many blocks, run in alternating order (A B B A ...).")
    var rounds = 2

    @Option(name: [.customShort("c"), .customLong("check")], help: "1: check every result against MPI's own (MPI_Allreduce, MPI_Reduce_scatter_block, MPI_Allgather); 0: do not.")
    var check = 1

    @Option(name: [.customLong("chunk-bytes"), .customLong("chunk-size")], help: "Pipelining chunk of the schedules (as `simulate --chunk-bytes`).")
    var chunkSize = "1M"

    @Option(name: .customLong("inter-node"), help: "Algorithm hierarchical runs between nodes: ring or tree.")
    var interNode: InterNodeAlgorithm = .ring

    @Flag(name: .customLong("in-place"), help: "nccl-tests' in-place mode: each iteration reduces the output as it stands (MPI_IN_PLACE for MPI's own call); the checked run starts from a fresh copy of the input.")
    var inPlace = false

    @Option(name: .customLong("ranks-per-node"), help: "Ranks per node for hierarchical (default: as MPI_Comm_split_type reports), e.g. to group the ranks of one machine as several nodes.")
    var ranksPerNode: Int?

    @Option(name: .long, help: "Channels of nccl-ring and nccl-tree (1 ... \(ScheduleParameters.maxChannels)): independent rings or trees, each with its own slice of the buffer.")
    var channels = ScheduleParameters.defaultChannelCount

    @Option(name: .customLong("transport"), help: "p2p: MPI_Isend/MPI_Irecv over any Open MPI transport; shm: ranks of one node reduce straight from each other's buffers in an MPI-3 shared window.")
    var transport = "p2p"

    @Option(name: .customLong("timeout"), help: "End the whole job if a rank has not finished after this many seconds (0: never). A hung peer or network then cannot hold the job.")
    var timeoutSeconds = 0

    /// Testing only: this rank kills itself mid-run, to prove the job then ends.
    @Option(name: .customLong("test-kill-rank"), help: .hidden)
    var testKillRank: Int?

    /// Testing only: this rank spoils one element of each schedule's result before the check.
    @Option(name: .customLong("test-corrupt-rank"), help: .hidden)
    var testCorruptRank: Int?

    @Option(name: .customLong("predict"), help: ArgumentHelp("Beside each measured row, the simulator's time for the same schedule, size, chunk and rank layout on this topology file, and the error (columns predicted_us, error; a footer with the geometric-mean |error| per algorithm). Without a file (or 'calibrate'), a calibration run (as 'allreduce calibrate') measures the cluster first.", valueName: "file.yaml"))
    var predict: String?

    @Option(name: .customLong("calibration-output"), help: ArgumentHelp("With --predict and no file: also write the calibration it measured first as a topology file (as `calibrate --output` writes it), to simulate or predict from later.", valueName: "file.yaml"))
    var calibrationOutput: String?

    @Option(name: .long, help: ArgumentHelp("Also write a Chrome/Perfetto trace (open it in ui.perfetto.dev) of one untimed call per size and algorithm, after a barrier: a track per rank with its send, receive and reduce slices (peer, bytes, chunk, step), gathered to rank 0. With --predict, the simulator's play of the same schedule beside it (ranks, links, critical path), as `simulate --trace` writes it.", valueName: "file.json"))
    var trace: String?

    @Option(name: .customLong("trace-ranks"), help: "Most ranks with tracks in --trace; beyond, every k-th rank is traced.")
    var traceRanks: Int = ChromeTraceRecorder.Limits().ranks

    @OptionGroup var collective: CollectiveOptions

    @OptionGroup var output: LatencyFormatOptions

    @OptionGroup var plot: PlotOptions

    @OptionGroup var progress: ProgressOptions

    /// The validated configuration, or a one-line reason. Allocates nothing.
    func makeConfiguration() throws -> MPIRunConfigurationDraft {
        guard let type = DataType(name: dataType) else {
            throw ValidationError("unknown datatype '\(dataType)' (valid: \(DataType.validNames))")
        }
        guard let reduction = ReductionOp(name: op) else {
            throw ValidationError("unknown op '\(op)' (valid: \(ReductionOp.validNames))")
        }
        let choices = algorithm.expanded {
            AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches && $0.supports(collective.collective) }.map(MPIAlgorithmChoice.schedule) + [.mpiLibrary]
        }
        for case .schedule(let a) in choices {
            if a.reducesInSwitches {
                let inside = a == .ncclCollNet ? "the network's switches (InfiniBand SHARP)" : "the NVSwitch (NVLink SHARP)"
                let forced = a == .ncclCollNet ? "nccl:collnet" : "nccl:nvls"
                throw ValidationError("\(a.rawValue) reduces inside \(inside), which an MPI run has no counterpart for; simulate it with 'allreduce simulate --algorithm \(forced)' or check it with 'allreduce verify --algorithm \(a.rawValue)'")
            }
            do { try a.requireSupport(collective.collective) } catch { throw ValidationError("--algorithm: \(error)") }
        }
        let algorithms = choices.map(\.description)
        let plan: MPIIterationPlan
        do {
            plan = try MPIIterationPlan.resolve(iterations: iterations, warmupIterations: warmupIterations,
                                                iterationsLarge: iterationsLarge, warmupIterationsLarge: warmupLarge)
        } catch {
            throw ValidationError(error.description)
        }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        guard check == 0 || check == 1 else { throw ValidationError("-c (check) must be 0 or 1, got \(check)") }
        let minimum = try parseBytes(minBytes, option: "-b")
        let maximum = try parseBytes(maxBytes, option: "-e")
        let step = try parseBytes(stepBytes, option: "-i")
        let chunk = try parseBytes(chunkSize, option: "--chunk-bytes")
        guard chunk >= type.sizeInBytes else {
            throw ValidationError("--chunk-bytes must hold at least one \(type.rawValue) element (\(type.sizeInBytes) bytes), got \(chunkSize)")
        }
        let inter = interNode.algorithm
        guard ["p2p", "shm"].contains(transport.lowercased()) else {
            throw ValidationError("--transport must be p2p or shm, got '\(transport)'")
        }
        guard timeoutSeconds >= 0 else { throw ValidationError("--timeout must not be negative, got \(timeoutSeconds)") }
        if let n = ranksPerNode, n < 1 { throw ValidationError("--ranks-per-node must be at least 1, got \(n)") }
        guard channels >= 1 && channels <= ScheduleParameters.maxChannels else {
            throw ValidationError("--channels must be between 1 and \(ScheduleParameters.maxChannels), got \(channels)")
        }
        if let k = testKillRank, k < 0 { throw ValidationError("--test-kill-rank must not be negative") }
        if trace?.isEmpty == true { throw ValidationError("--trace: empty file name") }
        if let file = calibrationOutput {
            guard !file.isEmpty else { throw ValidationError("--calibration-output: empty file name") }
            guard predict == MPIPrediction.calibrateFirst else {
                throw ValidationError("--calibration-output writes the calibration --predict makes first: give --predict without a file")
            }
        }
        guard traceRanks >= 1 else { throw ValidationError("--trace-ranks must be at least 1, got \(traceRanks)") }
        if let k = testCorruptRank, k < 0 { throw ValidationError("--test-corrupt-rank must not be negative") }
        return MPIRunConfigurationDraft(
            minBytes: minimum, maxBytes: maximum, stepFactor: stepFactor, stepBytes: step, dataType: type,
            op: reduction, algorithms: algorithms, iterationPlan: plan, rounds: rounds,
            check: check == 1, chunkBytes: chunk, interNode: inter, transport: transport.lowercased(), ranksPerNode: ranksPerNode, inPlace: inPlace, killRank: testKillRank,
            corruptRank: testCorruptRank, channels: channels, traceRanks: trace == nil ? nil : traceRanks,
            collective: collective.collective)
    }

    func run() throws {
        #if MPI
        try runUnderMPI()
        #else
        // Still reject bad arguments first, so the message is about them when they are wrong.
        _ = try makeConfiguration()
        throw CLIError("'allreduce mpi' needs the MPI runner, which this build left out: rebuild with `swift build -c release --traits MPI` (Open MPI's libopenmpi-dev must be installed; Scripts/setup installs it)")
        #endif
    }
}

/// Parsed options before the size list is expanded (that needs the element size).
struct MPIRunConfigurationDraft {
    var minBytes, maxBytes, stepFactor, stepBytes: Int
    var dataType: DataType
    var op: ReductionOp
    var algorithms: [String]
    var iterationPlan: MPIIterationPlan
    var rounds: Int
    var check: Bool
    var chunkBytes: Int
    var interNode: AllreduceAlgorithm
    var transport: String
    var ranksPerNode: Int?
    var inPlace: Bool
    var killRank: Int?
    var corruptRank: Int?
    var channels: Int
    var traceRanks: Int?
    var collective: Collective
}

#if MPI
extension MPIRunConfigurationDraft {
    func resolved() throws -> MPIRunConfiguration {
        let sizes: [Int]
        do {
            sizes = try MPIRunConfiguration.sizes(
                minBytes: minBytes, maxBytes: maxBytes, factor: stepFactor, stepBytes: stepBytes,
                elementSize: dataType.sizeInBytes)
        } catch {
            throw ValidationError(error.description)
        }
        var configuration = MPIRunConfiguration(
            sizesBytes: sizes, dataType: dataType, op: op,
            algorithms: algorithms.map { MPIAlgorithmChoice(name: $0)! },
            iterationPlan: iterationPlan, check: check, chunkBytes: chunkBytes,
            interNodeAlgorithm: interNode, transport: MPITransportKind(rawValue: transport)!, killRank: killRank,
            corruptRank: corruptRank)
        configuration.ranksPerNodeOverride = ranksPerNode
        configuration.inPlace = inPlace
        configuration.rounds = rounds
        configuration.channelCount = channels
        configuration.traceRanks = traceRanks
        configuration.collective = collective
        return configuration
    }
}

/// The line a rank prints when `--timeout` expires: set before the alarm is armed, written by the
/// SIGALRM handler (write(2) only), which then lets SIGALRM's default action end the process.
enum TimeoutReport {
    nonisolated(unsafe) static var message: UnsafeMutableBufferPointer<UInt8>?

    static func arm(_ text: String) {
        let bytes = Array(text.utf8)
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = buffer.initialize(from: bytes)
        message = buffer  // the previous buffer is left allocated: the handler may be reading it
        signal(SIGALRM) { sig in
            if let m = TimeoutReport.message { _ = write(2, m.baseAddress, m.count) }
            signal(sig, SIG_DFL)
            raise(sig)
        }
    }
}

extension MPIRun {
    /// Every rank parses, then the ranks agree: same configuration everywhere, no rank with a
    /// reason to stop. Only then are buffers allocated. On any failure every rank finalises MPI
    /// and exits non-zero; rank 0 prints the one-line reason.
    func runUnderMPI() throws {
        if timeoutSeconds > 0 {
            // The handler says which rank ran out of time, then SIGALRM's default action ends this
            // process; mpirun then ends every other rank.
            TimeoutReport.arm("allreduce: error: --timeout \(timeoutSeconds) s expired before this rank started MPI; ending the job\n")
            alarm(UInt32(min(timeoutSeconds, Int(UInt32.max))))
        }
        MPIProcess.initialize()
        let world = Communicator.world
        if timeoutSeconds > 0 {
            TimeoutReport.arm("allreduce: error: --timeout \(timeoutSeconds) s expired: rank \(world.rank) of \(world.size) had not finished; ending the job\n")
        }
        var local: MPIRunConfiguration? = nil
        var problem: String? = nil
        do { local = try makeConfiguration().resolved() } catch { problem = "\(error)" }

        let fingerprint = local?.fingerprint ?? fnv1a64("invalid: " + (problem ?? ""))
        let all = world.allgather(Int64(bitPattern: fingerprint))
        let differing = all.indices.filter { all[$0] != all[0] }
        if !differing.isEmpty {
            let ranks = differing.count > 8 ? differing.prefix(8).map(String.init).joined(separator: ", ") + ", ..." : differing.map(String.init).joined(separator: ", ")
            // Name the first argument where the lowest differing rank parts from rank 0.
            let mine = Array(CommandLine.arguments.dropFirst())
            let separator: Character = "\u{1F}"
            let rank0 = world.broadcast(mine.joined(separator: String(separator)), root: 0)
                .split(separator: separator, omittingEmptySubsequences: false).map(String.init)
            let detail = world.rank == 0 ? nil : Self.firstDifference(mine, rank0).map { "rank \(world.rank) has \($0.mine) where rank 0 has \($0.rank0)" }
            let named = world.firstFailure(detail)
            stop(world, "ranks were started with different arguments: rank\(differing.count > 1 ? "s" : "") \(ranks) disagree\(differing.count > 1 ? "" : "s") with rank 0 (\(named ?? "configuration fingerprints differ")); give every rank the same options")
        }
        if let failure = world.firstFailure(problem) { stop(world, failure) }
        let configuration = local!

        let benchmark: MPIAllreduceBenchmark
        do {
            benchmark = try MPIAllreduceBenchmark(configuration: configuration, world: world)
        } catch {
            stop(world, error.description)
        }
        // Rank 0 prints each row as soon as every rank has it: a job ended early (a killed rank,
        // --timeout) keeps the sizes it completed. It also draws the progress line (rows, sizes
        // weighted by their bytes).
        let sizes = configuration.sizesBytes
        let line = ProgressLine(label: "mpi", options: world.rank == 0 ? progress : ProgressOptions(quiet: true),
                                totalCount: sizes.count * configuration.algorithms.count, totalWeight: sizes.reduce(0.0) { $0 + Double($1) + 1024 } * Double(configuration.algorithms.count),
                                unit: "rows", showsEvents: false)
        var prediction: MPIPrediction? = nil
        var calibrated: String? = nil
        var drift: MPIDriftProbe? = nil
        if let predict {
            var problem: String? = nil
            var topology: Topology? = nil
            var source = predict
            if predict == MPIPrediction.calibrateFirst {
                let probe = MPIDriftProbe.probeBytes(chunkBytes: configuration.chunkBytes)
                let m = MeasuredCluster.measure(world, name: "calibrated", probeBytes: probe, iterations: MPIPrediction.calibrationIterations, reduceType: configuration.dataType,
                                       largestWorkingSetBytes: Int(ScheduleParameters.workingSetBytes(elementCount: configuration.sizesBytes.max() ?? 0, elementSizeBytes: 1,
                                                                                                       inPlace: configuration.inPlace)))
                topology = m.topology
                source = "a calibration run first"
                calibrated = calibrationSummary(m, file: calibrationOutput)
                if let file = calibrationOutput, world.rank == 0 {
                    do { try m.fileText().write(toFile: file, atomically: true, encoding: .utf8) } catch {
                        problem = "--calibration-output: cannot write '\(file)': \(error.localizedDescription)"
                    }
                }
            } else {
                do { topology = try Topology.load(path: predict) } catch { problem = "--predict: \(error)" }
            }
            let perNode = min(benchmark.layout.ranksPerNode, world.size)
            if let topology {
                do {
                    prediction = try MPIPrediction(topology: topology, nodes: world.size / perNode, ranksPerNode: perNode, ranks: world.size, source: source)
                } catch { problem = "\(error)" }
                drift = MPIDriftProbe(topology: topology, chunkBytes: configuration.chunkBytes)
            }
            if let failure = world.firstFailure(problem) { stop(world, failure) }
        }
        var traceFile: MPITraceFile? = nil
        if let trace {
            var problem: String? = nil
            if world.rank == 0 {
                do { traceFile = try MPITraceFile(path: trace) } catch { problem = "\(error)" }
            }
            if let failure = world.firstFailure(problem) { stop(world, failure) }
        }
        var predictionProblem: String? = nil
        /// The cells of `row`: measured, then (with --predict) predicted on rank 0.
        func cells(_ row: MPIResultRow) -> [ReportValue] {
            guard prediction != nil else { return Self.cells(row) }
            var predicted: Double? = nil
            if let choice = configuration.algorithms.first(where: { Self.isRow(row, of: $0) }) {
                let parameters = MPIAllreduceBenchmark.parameters(configuration, world: world, layout: benchmark.layout, count: row.count)
                do {
                    predicted = try prediction!.predict(choice, parameters: parameters, measuredMicroseconds: row.timeMeanMicroseconds)
                } catch {
                    predictionProblem = predictionProblem ?? "prediction failed at \(ByteCount.format(row.sizeBytes)) \(row.algorithm): \(error)"
                }
            }
            return Self.cells(row) + MPIPrediction.cells(predicted: predicted, measuredMicroseconds: row.timeMeanMicroseconds)
        }
        var rowCells: [[ReportValue]] = []
        var printed = 0
        let columns = report(benchmark, notes: false)
        if world.rank == 0 {
            Swift.print(columns.streamHeader(output.format), terminator: "")
            fflush(nil)
        }
        benchmark.run(onRow: { row in
            if world.rank == 0 {
                line.finish()
                rowCells.append(cells(row))
                Swift.print(columns.streamRow(rowCells.last!, index: printed, output.format), terminator: "")
                printed += 1
                fflush(nil)
            }
            line.completed(weight: Double(row.sizeBytes) + 1024)
        }, onTrace: { traced in
            guard let traceFile else { return }
            traceFile.add(traced, ranks: world.size, transport: configuration.transport.rawValue, traceRanks: traceRanks, prediction: prediction,
                          parameters: MPIAllreduceBenchmark.parameters(configuration, world: world, layout: benchmark.layout, count: traced.count))
        }, beforeSize: { _ in
            drift?.read(world)
        })
        // One more reading after the last size: a change of speed during it shows too.
        drift?.read(world)
        line.finish()
        if world.rank == 0 {
            var footer = report(benchmark, notes: true)
            if output.format == .osu {
                for (row, cells) in zip(benchmark.rows, rowCells) {
                    let asked = configuration.algorithms.first { Self.isRow(row, of: $0) }
                    footer.append(cells, group: asked?.description)
                }
            }
            if let prediction {
                if let calibrated { footer.notes += calibrated.split(separator: "\n").map { String($0.dropFirst(2)) } }
                footer.notes.append(prediction.footer(order: configuration.algorithms.map(\.description)))
                if let line = drift?.footer { footer.notes.append(line) }
                if let predictionProblem { footer.notes.append(predictionProblem) }
            }
            if let traceFile {
                do { footer.notes.append(try traceFile.close()) } catch { stop(world, "\(error)") }
            }
            if let file = plot.plot {
                do { try plot.write(measuredPlot(benchmark)) } catch { stop(world, "\(error)") }
                footer.notes.append("plot: \(file) (\(plot.plotY.axisLabel) against size, measured)")
            }
            footer.streamFooter(output.format, rowCount: printed)
            fflush(nil)
        }
        let wrong = benchmark.rows.reduce(0) { $0 + ($1.wrong ?? 0) }
        if wrong > 0 {
            let bad = benchmark.rows.filter { ($0.wrong ?? 0) > 0 }.map { "\($0.algorithm) at \(ByteCount.format($0.sizeBytes)): \($0.wrong!)" }
            stop(world, "check failed: \(wrong) wrong element\(wrong == 1 ? "" : "s") (\(bad.joined(separator: "; ")))")
        }
        MPIProcess.finalize()
    }

    /// Ends the run on every rank with status 1 (``mpiStop(_:_:)``).
    func stop(_ world: Communicator, _ message: String) -> Never { mpiStop(world, message) }

    /// The measured rows as lines against size, one per algorithm (a schedule that fell back at
    /// small sizes, `ring->recursive-doubling`, stays on its algorithm's line).
    func measuredPlot(_ benchmark: MPIAllreduceBenchmark) -> LinePlot {
        let c = benchmark.configuration
        let lines: [(name: String, origin: LinePlot.Origin, points: [SizePoint])] = c.algorithms.map { a in
            let rows = benchmark.rows.filter { Self.isRow($0, of: a) }
            return (a.description, .measured, rows.map { SizePoint(bytes: $0.sizeBytes, timeSeconds: $0.timeMeanMicroseconds / 1e6, busbwGBps: $0.busbwGBps) })
        }
        let n = benchmark.world.size, nodes = benchmark.layout.nodeCount
        return LinePlot(title: "\(c.collective.rawValue) under mpirun: \(n) rank\(n == 1 ? "" : "s") on \(nodes) node\(nodes == 1 ? "" : "s"), \(c.dataType.rawValue) \(c.op.rawValue), transport \(c.transport.rawValue)",
                        quantity: plot.plotY, lines: lines)
    }

    /// The first argument where `mine` and `rank0` differ, each shown with its option
    /// (`'-n 3'`), or nil when they are the same.
    static func firstDifference(_ mine: [String], _ rank0: [String]) -> (mine: String, rank0: String)? {
        guard let k = (0..<max(mine.count, rank0.count)).first(where: { k in
            (k < mine.count ? mine[k] : nil) != (k < rank0.count ? rank0[k] : nil)
        }) else { return nil }
        func show(_ list: [String]) -> String {
            guard k < list.count else { return "no argument \(k + 1)" }
            if k > 0 && list[k - 1].hasPrefix("-") && !list[k].hasPrefix("-") { return "'\(list[k - 1]) \(list[k])'" }
            return "'\(list[k])' (argument \(k + 1))"
        }
        return (show(mine), show(rank0))
    }

    /// Whether `row` is one of algorithm `a`'s: a schedule that fell back at small counts is
    /// named `ring->recursive-doubling`.
    static func isRow(_ row: MPIResultRow, of a: MPIAlgorithmChoice) -> Bool {
        row.algorithm == a.description || row.algorithm.hasPrefix(a.description + "->")
    }

    static func cells(_ row: MPIResultRow) -> [ReportValue] {
        [
            .int(row.sizeBytes), .int(row.count), .text(row.dataType.rawValue), .text(row.collective.redopLabel(row.op)), .int(-1),
            .text(row.algorithm), .number(row.timeMeanMicroseconds), .number(row.algbwGBps), .number(row.busbwGBps),
            .number(row.timeMinMicroseconds), .number(row.timeMaxMicroseconds), .int(row.iterations),
            row.wrong.map { .int($0) } ?? .text("N/A"),
            row.mpiRatio.map { .number($0) } ?? .number(.nan),
        ]
    }

    /// The report's columns and, with `notes`, its footer (the rows are streamed).
    func report(_ benchmark: MPIAllreduceBenchmark, notes: Bool) -> Report {
        var report = Report(columns: ReportColumn.allreducePerf + [
            ReportColumn(key: "time_min_us", title: "min", unit: "(us)", kind: .number(decimals: 2)),
            ReportColumn(key: "time_max_us", title: "max", unit: "(us)", kind: .number(decimals: 2)),
            ReportColumn(key: "iterations", title: "iters", kind: .integer),
            ReportColumn(key: "wrong", title: "#wrong", kind: .integer),
            ReportColumn(key: "mpi_ratio", title: "vs mpi", unit: "(busbw)", kind: .number(decimals: 2)),
        ] + (predict == nil ? [] : MPIPrediction.columns))
        report.latencySource = "measured under mpirun, \(benchmark.world.size) rank\(benchmark.world.size == 1 ? "" : "s")"
        guard notes else { return report }
        let c = benchmark.configuration
        let l = benchmark.layout
        report.notes.append("\(benchmark.world.size) rank\(benchmark.world.size == 1 ? "" : "s") on \(l.nodeCount) node\(l.nodeCount == 1 ? "" : "s") (\(l.ranksPerNode) per node\(l.isOverridden ? " for hierarchical, from --ranks-per-node" : ", from MPI_Comm_split_type")), transport \(c.transport.rawValue)\(c.inPlace ? ", in place" : ", out of place"), chunk \(ByteCount.format(c.chunkBytes)), \(MPIProcess.libraryVersion)")
        report.notes.append("timing: \(c.iterationPlan.summary), \(c.rounds == 1 || c.algorithms.count == 1 ? "one block per algorithm" : "in \(c.rounds) blocks per algorithm in alternating order (A B B A ...)"), one MPI_Wtime span per block after a barrier; time = average over ranks of each rank's mean per call, min/max over ranks")
        if c.collective != .allreduce {
            let even = c.collective.mpiFunctionName(evenShards: true), uneven = c.collective.mpiFunctionName(evenShards: false)
            report.notes.append("\(c.collective.rawValue): size = the full buffer (nccl-tests' convention), busbw = algbw x (n-1)/n; mpi = \(even) (\(uneven) with the shard counts where \(benchmark.world.size) ranks do not divide the count); checked on \(c.collective == .reduceScatter ? "each rank's own reduced shard" : "every rank's every shard")")
        }
        if c.transport == .shm {
            report.notes.append("transport shm: ranks read each other's buffers through an MPI-3 shared window (MPI_Win_allocate_shared), whatever --mca btl says; do not compare with a TCP run")
        }
        if l.isOversubscribed {
            report.notes.append("oversubscribed: \(l.localRanks) ranks on this node share \(l.onlineCPUs) online CPU\(l.onlineCPUs == 1 ? "" : "s"); \(c.transport == .shm ? "the shm polling loop yields the core (sched_yield) early" : "ranks wait in Open MPI's progress loop"), and small sizes will be slow")
        }
        if c.dataType == .float16 || c.dataType == .bfloat16, c.collective.reduces, c.algorithms.contains(.mpiLibrary) {
            report.notes.append("MPI has no \(c.dataType.rawValue): \(c.collective.mpiFunctionName(evenShards: true)) moves 16-bit words and reduces them with a user op (MPI_Op_create) over our kernels")
        }
        if c.algorithms.contains(.memcpyBound) {
            report.notes.append("memcpy is not an allreduce: every rank copies its input to its output at the same time, the least memory traffic any allreduce needs; its busbw is the bound")
        }
        for a in c.algorithms {
            let rows = benchmark.rows.filter { Self.isRow($0, of: a) }
            guard !rows.isEmpty else { continue }
            let avg = rows.reduce(0.0) { $0 + $1.busbwGBps } / Double(rows.count)
            report.notes.append("Avg bus bandwidth \(a.description): \(formatFixed(avg, decimals: 3))")
        }
        return report
    }
}
#endif
