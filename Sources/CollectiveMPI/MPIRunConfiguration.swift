import CollectiveCore
import CollectiveKernels

/// What `allreduce mpi` runs for one size: a schedule played over point-to-point messages,
/// the MPI library's own call for the run's collective (the baseline), or the memory bound.
public enum MPIAlgorithmChoice: Sendable, Hashable, CustomStringConvertible {
    case schedule(AllreduceAlgorithm)
    /// `mpi`: the library's own `MPI_Allreduce`, `MPI_Reduce_scatter_block` or `MPI_Allgather`
    /// (``Collective/mpiFunctionName(evenShards:)``).
    case mpiLibrary
    /// Not an allreduce: every rank copies its input to its output at once (`memcpy`), the
    /// least memory traffic any allreduce needs (each input read once, each output written
    /// once), measured on the same machine in the same run. Its busbw is the bound.
    case memcpyBound

    /// Parses `ring`, `tree`, `rabenseifner`, `recursive-doubling`, `hierarchical`, `mpi` or
    /// `memcpy`.
    public init?(name: String) {
        if name.lowercased() == "mpi" { self = .mpiLibrary; return }
        if name.lowercased() == "memcpy" { self = .memcpyBound; return }
        guard let a = AllreduceAlgorithm(name: name) else { return nil }
        self = .schedule(a)
    }

    public var description: String {
        switch self {
        case .schedule(let a): a.rawValue
        case .mpiLibrary: "mpi"
        case .memcpyBound: "memcpy"
        }
    }

    /// Every accepted name, for error messages.
    public static var validNames: String { AllreduceAlgorithm.validNames + " mpi memcpy" }
}

/// How a schedule's messages travel between the ranks.
public enum MPITransportKind: String, Sendable, Hashable, CaseIterable {
    /// Non-blocking `MPI_Isend`/`MPI_Irecv`: any Open MPI transport (shared memory, TCP, InfiniBand).
    case p2p
    /// Ranks of one node reduce straight from each other's buffers in an MPI-3 shared window
    /// (`MPI_Win_allocate_shared`); needs every rank on one node.
    case shm
}

/// Everything one `allreduce mpi` run does, parsed and validated on every rank before any buffer
/// is allocated. Ranks compare ``fingerprint`` so that a job started with different arguments on
/// different ranks stops at once with one message instead of mismatching messages later.
public struct MPIRunConfiguration: Sendable, Hashable {
    /// Bytes per rank of each measured size (nccl-tests' `-b`, `-e`, `-f`, `-i`), each a
    /// multiple of the element size.
    public var sizesBytes: [Int]
    public var dataType: DataType
    public var op: ReductionOp
    public var algorithms: [MPIAlgorithmChoice]
    /// Timed and warm-up iterations per size and algorithm (`-n`, `-w`, `--iterations-large`,
    /// `--warmup-large`).
    public var iterationPlan: MPIIterationPlan
    /// Timed blocks per size and algorithm, in alternating order (`--rounds`; see
    /// ``mpiTimedBlocks(algorithmCount:iterations:rounds:)``).
    public var rounds = 2
    /// Check every result against the MPI library's for the same collective (`-c 1`).
    public var check: Bool
    /// Pipelining chunk of the schedules, in bytes.
    public var chunkBytes: Int
    /// The inter-node algorithm of `hierarchical`.
    public var interNodeAlgorithm: AllreduceAlgorithm
    /// Channels of `nccl-ring` and `nccl-tree` (`--channels`).
    public var channelCount = 2
    public var transport: MPITransportKind
    /// nccl-tests' in-place mode: each iteration reduces the output buffer as it stands
    /// (MPI_IN_PLACE for MPI_Allreduce) instead of reading a separate input.
    public var inPlace = false
    /// Ranks per node for `hierarchical` when given (`--ranks-per-node`), instead of the layout
    /// MPI reports: to group ranks of one machine as if they sat on several nodes.
    public var ranksPerNodeOverride: Int?
    /// What runs (`--collective`): an allreduce, a reduce-scatter or an all-gather, with the MPI
    /// library's call for the same collective as the `mpi` baseline.
    public var collective: Collective = .allreduce
    /// Testing only: this world rank kills itself (SIGKILL) in the middle of the run.
    public var killRank: Int?
    /// Testing only: this world rank spoils one element of each schedule's result before the
    /// check, to prove the check catches it.
    public var corruptRank: Int?
    /// `--trace`: record one untimed call per size and algorithm on the ranks
    /// ``TraceRankSampling`` picks with this limit and gather their steps to rank 0 (nil: no trace).
    public var traceRanks: Int?
    /// Most steps a traced rank records per call (beyond: counted, not kept); lowered so that
    /// what rank 0 gathers fits MPI's int count (``traceRecordLimit(rankCount:)``).
    public var traceStepsPerRank = 20_000

    public init(
        sizesBytes: [Int], dataType: DataType, op: ReductionOp, algorithms: [MPIAlgorithmChoice],
        iterationPlan: MPIIterationPlan, check: Bool, chunkBytes: Int,
        interNodeAlgorithm: AllreduceAlgorithm = .ring, transport: MPITransportKind = .p2p, killRank: Int? = nil, corruptRank: Int? = nil
    ) {
        self.sizesBytes = sizesBytes
        self.dataType = dataType
        self.op = op
        self.algorithms = algorithms
        self.iterationPlan = iterationPlan
        self.check = check
        self.chunkBytes = chunkBytes
        self.interNodeAlgorithm = interNodeAlgorithm
        self.transport = transport
        self.killRank = killRank
        self.corruptRank = corruptRank
    }

    /// The sizes nccl-tests would measure: from `minBytes` to `maxBytes`, multiplying by
    /// `factor` when it is above 1, else adding `stepBytes`; each rounded down to whole elements
    /// (a size of 0 grows to one element next). Throws a one-line reason for a bad range.
    public static func sizes(minBytes: Int, maxBytes: Int, factor: Int, stepBytes: Int, elementSize: Int, limit: Int = 4096) throws(MPIRunError) -> [Int] {
        guard minBytes >= 0, maxBytes >= 0 else { throw .invalid("sizes must not be negative") }
        guard minBytes <= maxBytes else { throw .invalid("minimum size \(ByteCount.format(minBytes)) is above maximum size \(ByteCount.format(maxBytes))") }
        guard factor >= 1 else { throw .invalid("-f (step factor) must be at least 1, got \(factor)") }
        guard factor > 1 || stepBytes > 0 else { throw .invalid("-i (step bytes) must be positive when -f is 1, got \(stepBytes)") }
        var out: [Int] = []
        var size = minBytes
        while size <= maxBytes {
            let rounded = size / elementSize * elementSize
            if out.last != rounded { out.append(rounded) }
            guard out.count <= limit else {
                throw .invalid("\(ByteCount.format(minBytes)) to \(ByteCount.format(maxBytes)) gives more than \(limit) sizes; use a larger -f or -i")
            }
            let next: (Int, Bool) = factor > 1
                ? (size == 0 ? (elementSize, false) : size.multipliedReportingOverflow(by: factor))
                : size.addingReportingOverflow(stepBytes)
            if next.1 { break }
            size = next.0
        }
        return out
    }

    /// Steps each traced rank keeps per call with `rankCount` ranks: ``traceStepsPerRank``, or
    /// fewer so that the records rank 0 gathers fit MPI's int count of bytes.
    public func traceRecordLimit(rankCount: Int) -> Int {
        let traced = TraceRankSampling(rankCount: rankCount, limit: traceRanks ?? 1).tracedCount
        return Swift.min(traceStepsPerRank, Int(Int32.max) / MemoryLayout<StepTimelineRecord>.stride / Swift.max(1, traced))
    }

    /// Bytes one rank allocates for a size: input, output, scratch for received chunks (at most
    /// one buffer), and with `check` the reference result.
    public func bytesPerRank(forSize size: Int) -> Int {
        let buffers = check ? 4 : 3
        let (total, overflow) = size.multipliedReportingOverflow(by: buffers)
        return overflow ? Int.max : total
    }

    /// The configuration written out in a canonical form: two ranks agree on it exactly when
    /// they will do the same thing.
    public var canonicalDescription: String {
        [
            "collective=\(collective.rawValue)", "sizes=" + sizesBytes.map(String.init).joined(separator: ","),
            "type=\(dataType.rawValue)", "op=\(op.rawValue)",
            "algorithms=" + algorithms.map(\.description).joined(separator: ","),
            "iterations=\(iterationPlan.iterations)", "warmup=\(iterationPlan.warmupIterations)",
            "iterations-large=\(iterationPlan.iterationsLarge)", "warmup-large=\(iterationPlan.warmupIterationsLarge)",
            "large-above=\(iterationPlan.largeThresholdBytes)", "rounds=\(rounds)", "check=\(check)",
            "chunk=\(chunkBytes)", "inter=\(interNodeAlgorithm.rawValue)", "channels=\(channelCount)", "transport=\(transport.rawValue)", "inplace=\(inPlace)", "rpn=\(ranksPerNodeOverride.map(String.init) ?? "mpi")",
            "kill=\(killRank.map(String.init) ?? "none")", "corrupt=\(corruptRank.map(String.init) ?? "none")",
            "trace=\(traceRanks.map(String.init) ?? "none")",
        ].joined(separator: ";")
    }

    /// FNV-1a (64-bit) of ``canonicalDescription``.
    public var fingerprint: UInt64 { fnv1a64(canonicalDescription) }
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
public func fnv1a64(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01b3
    }
    return h
}

/// A run that cannot start or did not succeed, as one line.
public enum MPIRunError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)
    case failed(String)

    public var description: String {
        switch self {
        case .invalid(let m), .failed(let m): m
        }
    }
}
