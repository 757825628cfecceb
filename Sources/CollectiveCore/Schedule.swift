/// An allreduce written once as per-rank programs of ``Step``s, played unchanged by every
/// executor: the in-process executor on real data, the timing simulator, the MPI runner.
///
/// Steps are produced on demand, one rank at a time: an executor holds one ``StepIterator`` per
/// rank (O(1) or O(log p) state each), never the whole schedule, so playing a schedule for p
/// ranks costs O(p) memory however many steps it has.
public protocol Schedule: Sendable {
    associatedtype StepIterator: IteratorProtocol<Step>

    /// The algorithm that built this schedule.
    var algorithm: AllreduceAlgorithm { get }
    /// Number of ranks.
    var rankCount: Int { get }
    /// Elements in each rank's buffer.
    var elementCount: Int { get }

    /// A fresh iterator over the steps of `rank` (0 ..< rankCount), in issue order.
    func makeSteps(forRank rank: Int) -> StepIterator
}

extension Schedule {
    /// All steps of one rank, materialised (for tests, tracing and small schedules only).
    public func steps(forRank rank: Int) -> [Step] {
        var it = makeSteps(forRank: rank)
        var out: [Step] = []
        while let s = it.next() { out.append(s) }
        return out
    }
}

/// The allreduce algorithms swift-allreduce builds as schedules.
public enum AllreduceAlgorithm: String, CaseIterable, Sendable, Hashable, Codable {
    case ring
    case tree
    case rabenseifner
    case recursiveDoubling = "recursive-doubling"
    case hierarchical
    /// NCCL's ring: several rail-aligned rings at once, one slice of the buffer each
    /// (``ChannelRingSchedule``).
    case ncclRing = "nccl-ring"
    /// NCCL's tree: several trees at once, chains inside nodes and double binary trees between
    /// them (``ChannelTreeSchedule``).
    case ncclTree = "nccl-tree"

    /// Parses a command-line name (`ring`, `tree`, `rabenseifner`, `recursive-doubling`,
    /// `hierarchical`, `nccl-ring`, `nccl-tree`; case-insensitive, `_` accepted for `-`).
    public init?(name: String) {
        self.init(rawValue: String(name.lowercased().map { $0 == "_" ? "-" : $0 }))
    }

    /// Whether the algorithm is one of NCCL's channelized schedules.
    public var isChannelized: Bool { self == .ncclRing || self == .ncclTree }

    /// Every accepted name, for error messages.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: " ") }
}
