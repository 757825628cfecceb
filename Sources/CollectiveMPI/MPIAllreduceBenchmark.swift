#if MPI
import CMPI
import CollectiveCore
import CollectiveKernels
#if canImport(Glibc)
import Glibc
#endif

/// One measured (size, algorithm) pair, aggregated over every rank.
public struct MPIResultRow: Sendable {
    /// Bytes of the full buffer, as nccl-tests counts them (``Collective``).
    public var sizeBytes: Int
    /// What ran: an allreduce, a reduce-scatter or an all-gather.
    public var collective: Collective = .allreduce
    /// Elements per rank (of the full buffer).
    public var count: Int
    public var dataType: DataType
    public var op: ReductionOp
    public var algorithm: String
    /// Time per call, OSU's way (osu_allreduce.c; docs/Sources.md section 1): each rank's mean over its timed calls (the
    /// summed `MPI_Wtime` spans of its blocks over the calls), then average, min and max over ranks.
    public var timeMeanMicroseconds: Double
    public var timeMinMicroseconds: Double
    public var timeMaxMicroseconds: Double
    /// Timed calls behind the time (over every block of this size and algorithm).
    public var iterations: Int
    /// Untimed calls before each block.
    public var warmupIterations: Int
    /// `size / time`, GB = 1e9 bytes (nccl-tests).
    public var algbwGBps: Double
    /// `algbw` times nccl-tests' bus-bandwidth factor (``Collective/busBandwidthFactor(ranks:)``):
    /// 2(n-1)/n for allreduce, (n-1)/n for reduce-scatter and all-gather.
    public var busbwGBps: Double
    /// Wrong elements summed over ranks; nil when not checked.
    public var wrong: Int?
    /// This row's busbw over the MPI library's (`mpi`) at the same size (time ratio, which equals it and
    /// stays defined for one rank); nil when `mpi` was not measured.
    public var mpiRatio: Double?
}

/// How the job's ranks sit on nodes, read from MPI (`MPI_Comm_split_type`, MPI_COMM_TYPE_SHARED).
public struct MPINodeLayout: Sendable, Hashable {
    /// Ranks on the first node; `hierarchical` groups ranks in blocks of this size.
    public var ranksPerNode: Int
    public var nodeCount: Int
    /// Whether the nodes hold consecutive blocks of `ranksPerNode` ranks (mpirun's default
    /// `--map-by slot`), which `hierarchical` schedules assume.
    public var isBlocked: Bool
    /// Ranks sharing memory with this one.
    public var localRanks: Int
    /// Whether `ranksPerNode` came from `--ranks-per-node` rather than from MPI.
    public var isOverridden = false
    /// CPUs online on this rank's node (`sysconf(_SC_NPROCESSORS_ONLN)`).
    public var onlineCPUs = 1

    /// More ranks on this node than online CPUs: a rank that busy-polls keeps a peer off its core.
    public var isOversubscribed: Bool { mpiIsOversubscribed(localRanks: localRanks, onlineCPUs: onlineCPUs) }
}

/// The `allreduce mpi` measurement loop: for every size, every algorithm is timed in blocks of
/// back-to-back calls, each after its own warm-up and a barrier (as nccl-tests and OSU do), the
/// blocks of the algorithms alternating (A B B A ...), then checked against the MPI library's
/// own call for the same collective on the same input (``MPIRunConfiguration/collective``:
/// MPI_Allreduce, MPI_Reduce_scatter_block or MPI_Allgather): a reduce-scatter on each rank's
/// own shard, an all-gather and an allreduce on the whole buffer.
public final class MPIAllreduceBenchmark {
    public let configuration: MPIRunConfiguration
    public let world: Communicator
    public let layout: MPINodeLayout
    /// The rows measured so far, identical on every rank.
    public private(set) var rows: [MPIResultRow] = []

    let _pattern: AllreduceInputPattern
    let _checker: ResultChecker
    var _iteration = 0

    /// Prepares a run: reads the node layout and checks, on every rank and collectively, that
    /// every schedule can be built for every size and that the buffers fit in memory. Throws
    /// the same one-line reason on every rank; allocates no buffer.
    public init(configuration: MPIRunConfiguration, world: Communicator) throws(MPIRunError) {
        self.configuration = configuration
        self.world = world
        var layout = Self.readLayout(world)
        if let n = configuration.ranksPerNodeOverride, n >= 1, n <= world.size {
            layout.ranksPerNode = n
            layout.isBlocked = true
            layout.isOverridden = true
        }
        self.layout = layout
        _pattern = AllreduceInputPattern(dataType: configuration.dataType, op: configuration.op, rankCount: world.size)
        _checker = ResultChecker(pattern: _pattern)
        if let failure = world.firstFailure(Self.problems(configuration, world: world, layout: layout)) {
            throw .invalid(failure)
        }
    }

    static func readLayout(_ world: Communicator) -> MPINodeLayout {
        let local = world.splitShared()
        defer { local.free() }
        let leader = local.allreduce([Int64(world.rank)], cmpi_op_min())[0]
        let leaders = world.allgather(leader)
        let perNode = leaders.filter { $0 == leaders[0] }.count
        var blocked = true
        for (r, l) in leaders.enumerated() where Int(l) != (r / perNode) * perNode { blocked = false }
        var layout = MPINodeLayout(ranksPerNode: perNode, nodeCount: Set(leaders).count, isBlocked: blocked, localRanks: local.size)
        layout.onlineCPUs = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return layout
    }

    /// This rank's reason not to start, if any.
    static func problems(_ c: MPIRunConfiguration, world: Communicator, layout: MPINodeLayout) -> String? {
        let elementSize = c.dataType.sizeInBytes
        for size in c.sizesBytes {
            let count = size / elementSize
            if count > Int(Int32.max) {
                return "size \(ByteCount.format(size)) holds \(count) \(c.dataType.rawValue) elements, more than MPI's int count limit (\(Int32.max))"
            }
            for a in c.algorithms {
                guard case .schedule(let algorithm) = a else { continue }
                if algorithm == .hierarchical && !layout.isBlocked {
                    return "hierarchical needs each node to hold consecutive ranks (mpirun --map-by slot or core), but this job's ranks alternate between nodes"
                }
                do {
                    // A run's length is the user's (and --timeout's) to bound; one rank's steps
                    // must still fit the 32-bit indices the runners use.
                    let p = parameters(c, world: world, layout: layout, count: count)
                    try WorkLimit.check(algorithm, p, maxSteps: WorkLimit.maxStepsCeiling)
                    _ = try algorithm.makeSchedule(p)
                } catch {
                    return "\(algorithm.rawValue) at \(ByteCount.format(size)): \(error)"
                }
            }
        }
        if let killRank = c.killRank, killRank >= world.size {
            return "--test-kill-rank \(killRank) is not a rank of this job (0..<\(world.size))"
        }
        if let n = c.ranksPerNodeOverride, n < 1 || n > world.size {
            return "--ranks-per-node must be between 1 and the number of ranks (\(world.size)), got \(n)"
        }
        if c.transport == .shm && layout.nodeCount > 1 {
            return "--transport shm needs every rank on one node, but this job spans \(layout.nodeCount) nodes; use --transport p2p"
        }
        if let corruptRank = c.corruptRank, corruptRank >= world.size {
            return "--test-corrupt-rank \(corruptRank) is not a rank of this job (0..<\(world.size))"
        }
        if let largest = c.sizesBytes.max(), let available = SystemMemory.availableBytes() {
            let perRank = c.bytesPerRank(forSize: largest)
            let (needed, overflow) = perRank.multipliedReportingOverflow(by: layout.localRanks)
            if overflow || needed > available {
                return "size \(ByteCount.format(largest)) needs \(SystemMemory.gib(perRank)) per rank (\(c.check ? 4 : 3) buffers) x \(layout.localRanks) ranks on this node = \(overflow ? "more than 8 EiB" : SystemMemory.gib(needed)), but only \(SystemMemory.gib(available)) is available"
            }
        }
        return nil
    }

    /// The schedule parameters a run plays for `count` elements per rank (what `--predict` simulates).
    public static func parameters(_ c: MPIRunConfiguration, world: Communicator, layout: MPINodeLayout, count: Int) -> ScheduleParameters {
        ScheduleParameters(
            rankCount: world.size, elementCount: count, elementSizeBytes: c.dataType.sizeInBytes,
            chunkBytes: c.chunkBytes, ranksPerNode: min(layout.ranksPerNode, world.size),
            interNodeAlgorithm: c.interNodeAlgorithm, channelCount: c.channelCount, collective: c.collective, inPlace: c.inPlace)
    }

    /// Measures every size and algorithm; `onRow` sees each row as soon as every rank has it.
    /// With ``MPIRunConfiguration/traceRanks`` set, `onTrace` sees, on every rank, each size's
    /// traced call of each algorithm (``MPITracedRun``: the records on rank 0) before its rows.
    /// `beforeSize`, on every rank, runs before each size is measured (its bytes), outside the
    /// timed spans: a probe of the machine between sizes.
    public func run(onRow: (MPIResultRow) -> Void = { _ in }, onTrace: (MPITracedRun) -> Void = { _ in }, beforeSize: (Int) -> Void = { _ in }) {
        let c = configuration
        let largest = c.sizesBytes.max() ?? 0
        // p2p: private buffers per size; shm: every buffer in one shared window sized for the
        // largest size, so peers can read them.
        let p2p = c.transport == .p2p ? MPIScheduleRunner(communicator: world, dataType: c.dataType, op: c.op) : nil
        let shm = c.transport == .shm ? MPISharedMemoryRunner(communicator: world, dataType: c.dataType, op: c.op, capacityBytes: largest, oversubscribed: layout.isOversubscribed) : nil
        let collectiveComm = world.duplicate()
        let reduction = MPIReduction(dataType: c.dataType, op: c.op)
        let elementSize = c.dataType.sizeInBytes
        defer {
            p2p?.close()
            shm?.close()
            collectiveComm.free()
            reduction.free()
        }
        for size in c.sizesBytes {
            beforeSize(size)
            let count = size / c.dataType.sizeInBytes
            let bytes = count * c.dataType.sizeInBytes
            let input = shm?.input ?? MessageBuffer.allocate(bytes: bytes)
            let output = shm?.output ?? MessageBuffer.allocate(bytes: bytes)
            defer {
                if shm == nil {
                    input.deallocate()
                    output.deallocate()
                }
            }
            // The whole buffer gets the rank's input; an all-gather reads only the rank's shard of
            // it, so a shard left uncopied still holds this rank's values and fails the check.
            _pattern.fill(input, rank: world.rank, range: 0..<count)
            let library = MPICollectiveCall(collective: c.collective, dataType: c.dataType, op: c.op, elementCount: count, rank: world.rank, rankCount: world.size)
            // What the rank holds of the result at the end.
            let result = c.collective.resultRange(rank: world.rank, elementCount: count, rankCount: world.size)
            var reference: UnsafeMutableRawPointer? = nil
            if c.check {
                let r = MessageBuffer.allocate(bytes: bytes)
                library.call(input: input, output: r, reduction: reduction, communicator: collectiveComm)
                reference = r
            }
            defer { reference?.deallocate() }

            // A schedule's row is named after what runs (`ring->recursive-doubling` below p elements).
            func rowName(_ choice: MPIAlgorithmChoice) -> String {
                guard case .schedule(let algorithm) = choice else { return choice.description }
                return algorithm.rowName(for: Self.parameters(c, world: world, layout: layout, count: count))
            }
            // Every algorithm of this size, ready to run once (`once`) and as a block of n
            // back-to-back calls (`calls`). The block is a plain loop over the call, so the timed
            // span holds nothing but the calls: MPI_Allreduce's arguments are resolved before
            // it, and the testing hook (--test-kill-rank) is only in the loop when asked for.
            let plans: [(choice: MPIAlgorithmChoice, once: () -> Void, calls: (Int) -> Void)] = c.algorithms.map { choice in
                var schedule: (any Schedule)? = nil
                if case .schedule(let algorithm) = choice {
                    // Validated in init: cannot fail here.
                    schedule = try! algorithm.makeSchedule(Self.parameters(c, world: world, layout: layout, count: count))
                }
                let once: () -> Void
                switch choice {
                case .schedule:
                    // This rank's steps, built once here rather than by the schedule's iterator
                    // on every call, unless the program is long (then per-call costs vanish
                    // beside the data anyway).
                    let steps = RankSteps(schedule!, rank: world.rank, maxSteps: Self.maxStepsBuiltAhead)
                    if let shm, let steps, c.killRank == nil {
                        // The shared window's timed block: the runner and the steps resolved once,
                        // a bare loop of runs, as the `mpi` block is a bare loop of MPI_Allreduce.
                        let inPlace = c.inPlace
                        return (choice, { shm.run(steps, inPlace: inPlace) }, { n in for _ in 0..<n { shm.run(steps, inPlace: inPlace) } })
                    }
                    once = {
                        if let shm {
                            if let steps { shm.run(steps, inPlace: c.inPlace) } else { shm.run(schedule!, inPlace: c.inPlace) }
                        } else if !c.inPlace, let steps {
                            p2p!.run(steps, input: input, output: output)
                        } else if c.inPlace {
                            // In place through the ScheduleExecutor entry point.
                            do {
                                _ = try p2p!.execute(schedule!, buffers: [RankBuffer(rank: self.world.rank, base: output)], reducer: p2p!.reducer)
                            } catch {
                                mpiFail("rank \(self.world.rank): \(error)")
                            }
                        } else {
                            p2p!.run(schedule!, input: input, output: output)
                        }
                    }
                case .mpiLibrary:
                    let send = c.inPlace ? nil : input
                    once = { library.call(input: send, output: output, reduction: reduction, communicator: collectiveComm) }
                    if c.killRank == nil {
                        return (choice, once, { n in library.call(times: n, input: send, output: output, reduction: reduction, communicator: collectiveComm) })
                    }
                case .memcpyBound:
                    once = { output.copyMemory(from: input, byteCount: bytes) }
                }
                if c.killRank != nil {
                    return (choice, once, { n in for _ in 0..<n { self._maybeDie(); once() } })
                }
                return (choice, once, { n in for _ in 0..<n { once() } })
            }
            if c.inPlace { output.copyMemory(from: input, byteCount: bytes) }
            // Blocks, as nccl-tests and OSU time them: warm-up, a barrier, then one MPI_Wtime
            // span around back-to-back calls. Fairness between the algorithms comes from the
            // alternating order of the blocks (A B B A ...), not from interleaving single calls,
            // which on a busy machine spreads every call over many scheduler slices.
            let iterations = c.iterationPlan.iterations(forSizeBytes: bytes)
            let warmup = c.iterationPlan.warmupIterations(forSizeBytes: bytes)
            var totalSeconds = [Double](repeating: 0, count: plans.count)
            for block in mpiTimedBlocks(algorithmCount: plans.count, iterations: iterations, rounds: c.rounds) {
                let calls = plans[block.algorithm].calls
                calls(warmup)
                world.barrier()
                let t0 = MPIProcess.wallTimeSeconds()
                calls(block.iterations)
                totalSeconds[block.algorithm] += MPIProcess.wallTimeSeconds() - t0
            }

            if c.traceRanks != nil {
                for plan in plans { onTrace(_traced(plan.choice, name: rowName(plan.choice), once: plan.once, p2p: p2p, shm: shm, size: bytes, count: count)) }
            }

            var sizeRows: [MPIResultRow] = []
            for (i, plan) in plans.enumerated() {
                let choice = plan.choice
                let localSeconds = MPILatencyStatistics.perCallSeconds(totalSeconds: totalSeconds[i], iterations: iterations)
                let latency = MPILatencyStatistics(perRankSeconds: world.allgather(localSeconds))
                let meanSeconds = latency.averageMicroseconds / 1e6

                var wrong: Int? = nil
                if let reference, choice != .memcpyBound {
                    // One more run of this algorithm alone, checked (in place: on a fresh copy
                    // of the input).
                    if c.inPlace { output.copyMemory(from: input, byteCount: bytes) }
                    world.barrier()
                    plan.once()
                    var localWrong = 0
                    if case .schedule = choice {
                        let at = result.lowerBound * elementSize
                        if c.corruptRank == world.rank && !result.isEmpty {
                            // Flip a high bit of the result's middle element's most significant byte.
                            let byte = output + (result.lowerBound + result.count / 2) * elementSize + elementSize - 1
                            byte.storeBytes(of: byte.load(as: UInt8.self) ^ 0x40, as: UInt8.self)
                        }
                        localWrong = _checker.mismatches(output + at, reference + at, count: result.count)
                    } else {
                        let at = library.resultOffset(inPlace: c.inPlace) * elementSize
                        localWrong = _mismatchesAgainstExpected(output + at, range: result, elementCount: count)
                    }
                    wrong = Int(world.allreduce([Int64(localWrong)], cmpi_op_sum())[0])
                }
                let algbw = Collective.algorithmBandwidthGBps(bytes: bytes, seconds: meanSeconds)
                let busbw = c.collective.busBandwidthGBps(bytes: bytes, seconds: meanSeconds, ranks: world.size)
                sizeRows.append(MPIResultRow(
                    sizeBytes: bytes, collective: c.collective, count: count, dataType: c.dataType, op: c.op, algorithm: rowName(choice),
                    timeMeanMicroseconds: latency.averageMicroseconds, timeMinMicroseconds: latency.minimumMicroseconds,
                    timeMaxMicroseconds: latency.maximumMicroseconds, iterations: iterations, warmupIterations: warmup,
                    algbwGBps: algbw, busbwGBps: busbw,
                    wrong: wrong, mpiRatio: nil))
            }
            if let base = sizeRows.first(where: { $0.algorithm == MPIAlgorithmChoice.mpiLibrary.description }) {
                for i in sizeRows.indices {
                    let t = sizeRows[i].timeMeanMicroseconds
                    sizeRows[i].mpiRatio = t > 0 ? base.timeMeanMicroseconds / t : nil
                }
            }
            for row in sizeRows {
                rows.append(row)
                onRow(row)
            }
        }
    }

    /// One untimed call of `choice` after a barrier, its steps recorded on the traced ranks and
    /// gathered to rank 0 (``MPITracedRun``).
    func _traced(_ choice: MPIAlgorithmChoice, name: String, once: () -> Void, p2p: MPIScheduleRunner?, shm: MPISharedMemoryRunner?,
                 size: Int, count: Int) -> MPITracedRun {
        let c = configuration
        let sampling = TraceRankSampling(rankCount: world.size, limit: c.traceRanks ?? 1)
        let traced = sampling.isTraced(world.rank)
        var stepped = false
        if case .schedule = choice {
            // Either runner records the steps (only one of them exists).
            stepped = true
            let timeline = traced ? StepTimeline(capacity: c.traceRecordLimit(rankCount: world.size)) : nil
            p2p?.timeline = timeline
            shm?.timeline = timeline
        }
        world.barrier()
        let origin = MPIProcess.wallTimeSeconds()
        p2p?.timelineOriginSeconds = origin
        shm?.timelineOriginSeconds = origin
        once()
        let end = MPIProcess.wallTimeSeconds() - origin
        var records: [StepTimelineRecord] = []
        var dropped = 0
        if stepped, let timeline = p2p?.timeline ?? shm?.timeline {
            records = timeline.records
            dropped = timeline.droppedCount
        } else if traced {
            records = [StepTimelineRecord(kind: .call, rank: world.rank, stepIndex: -1, peer: -1, chunk: 0, bytes: size,
                                          startSeconds: 0, transferEndSeconds: end)]
        }
        p2p?.timeline = nil
        shm?.timeline = nil
        let gathered = world.gather(records, root: 0)
        let droppedTotal = Int(world.allreduce([Int64(dropped)], cmpi_op_sum())[0])
        let callName: String
        switch choice {
        case .mpiLibrary: callName = c.collective.mpiFunctionName(evenShards: count % world.size == 0)
        case .memcpyBound: callName = "memcpy"
        case .schedule: callName = "\(name) (\(c.transport.rawValue))"
        }
        return MPITracedRun(sizeBytes: size, count: count, choice: choice, name: name, records: gathered, droppedRecords: droppedTotal,
                            sampling: sampling, callName: callName)
    }

    /// The library's own result (`output` holding elements `range`) against what the collective
    /// must leave there, computed locally from every rank's (known) input, in pieces of 64 Ki
    /// elements.
    func _mismatchesAgainstExpected(_ output: UnsafeMutableRawPointer, range: Range<Int>, elementCount: Int) -> Int {
        let piece = 1 << 16
        let elementSize = configuration.dataType.sizeInBytes
        let expected = MessageBuffer.allocate(bytes: min(range.count, piece) * elementSize)
        defer { expected.deallocate() }
        var wrong = 0
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, start + piece)
            _pattern.expected(into: expected, range: start..<end, collective: configuration.collective, elementCount: elementCount)
            wrong += _checker.mismatches(output + (start - range.lowerBound) * elementSize, expected, count: end - start)
            start = end
        }
        return wrong
    }

    /// Testing hook (`--test-kill-rank`): the chosen rank dies by SIGKILL on its second
    /// iteration, while its peers are inside the same allreduce.
    func _maybeDie() {
        _iteration += 1
        if let k = configuration.killRank, k == world.rank, _iteration == 2 {
            raise(SIGKILL)
        }
    }

    /// The longest program of one rank that a run builds ahead as ``RankSteps`` (longer ones are
    /// played from the schedule's iterator on every call, in memory independent of their length).
    public static let maxStepsBuiltAhead = 4096
}

#endif
