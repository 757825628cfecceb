import CollectiveKernels

/// What a schedule computes: an allreduce, or one of its two halves.
///
/// Every collective works on one buffer of `elementCount` elements per rank, cut into p *shards*
/// as Open MPI cuts a ring's blocks (``BlockPartition``): shard r is rank r's. The buffer is the
/// full-size one in place, as NCCL runs a collective in place (`recvbuff == sendbuff + rank *
/// recvcount` for reduce-scatter, `sendbuff == recvbuff + rank * sendcount` for all-gather):
///
/// - ``allreduce``: every rank starts with its own data everywhere and ends with the reduction
///   of every rank's data everywhere;
/// - ``reduceScatter``: every rank starts with its own data everywhere and ends with shard r
///   (its own) reduced over every rank; the rest of its buffer holds whatever the schedule left;
/// - ``allGather``: rank r starts with its own data in shard r (the rest is not read) and ends
///   with every rank's shard in place, copied, not reduced.
///
/// Sizes are counted as nccl-tests counts them (src/reduce_scatter.cu, src/all_gather.cu): the
/// full buffer, the reduce-scatter's input and the all-gather's output.
public enum Collective: String, CaseIterable, Sendable, Hashable, Codable {
    case allreduce
    case reduceScatter = "reduce-scatter"
    case allGather = "all-gather"

    /// Parses a command-line name (`allreduce`, `reduce-scatter`, `all-gather`; case-insensitive,
    /// `_` accepted for `-`).
    public init?(name: String) {
        self.init(rawValue: String(name.lowercased().map { $0 == "_" ? "-" : $0 }))
    }

    /// Every accepted name, for error messages.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: " ") }

    /// The shards of a buffer of `elementCount` elements over `rankCount` ranks.
    public static func shards(elementCount: Int, rankCount: Int) -> BlockPartition {
        BlockPartition(count: elementCount, parts: rankCount)
    }

    /// The elements of `rank`'s buffer that hold the collective's result at the end: the whole
    /// buffer, or (reduce-scatter) the rank's shard.
    public func resultRange(rank: Int, elementCount: Int, rankCount: Int) -> Range<Int> {
        self == .reduceScatter ? Self.shards(elementCount: elementCount, rankCount: rankCount).range(rank) : 0..<elementCount
    }

    /// Whether the collective reduces (all-gather only copies).
    public var reduces: Bool { self != .allGather }

    /// The `redop` cell of a result row for operator `op`: its name, or `none` for an all-gather,
    /// as nccl-tests' all_gather_perf prints it.
    public func redopLabel(_ op: ReductionOp) -> String { reduces ? op.rawValue : "none" }

    /// nccl-tests' bus-bandwidth factor (doc/PERFORMANCE.md): busbw = algbw x factor, with
    /// 2(n-1)/n for allreduce and (n-1)/n for reduce-scatter and all-gather, the share of the
    /// buffer each rank must send at the least.
    public func busBandwidthFactor(ranks: Int) -> Double {
        guard ranks > 1 else { return 0 }
        let f = Double(ranks - 1) / Double(ranks)
        return self == .allreduce ? 2 * f : f
    }
}
