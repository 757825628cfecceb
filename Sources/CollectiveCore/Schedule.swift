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
    /// What the schedule computes: which data each rank starts with and which result it must
    /// end with (``Collective``). ``Collective/allreduce`` unless the schedule says otherwise.
    var collective: Collective { get }

    /// Switches that reduce in the network (NVLink SHARP's NVSwitch, an InfiniBand switch with
    /// SHARP), addressed by the steps as endpoints `rankCount ..< rankCount + switchCount`.
    ///
    /// A switch endpoint holds no data of its own and ends with no result to check: a send to it
    /// hands it data (the first receive of a range copies, the next ones reduce, as the switch
    /// adds what its ports bring in), and its sends carry what it holds to a rank (once per
    /// destination: the switch multicasts). Its program comes from ``makeSteps(forRank:)`` like
    /// a rank's. An executor gives each one a scratch buffer (the in-process executor really
    /// reduces in it); an engine maps switch s to the reducing switch of node s; an executor with
    /// no counterpart for it (the MPI runner) refuses the schedule. 0 for every schedule that
    /// only moves data between ranks.
    var switchCount: Int { get }

    /// Whether the first switch endpoints are the nodes' NVSwitches, reducing (true for every
    /// schedule with switch endpoints, unless it says otherwise): a schedule that reduces in the
    /// network's switches alone leaves those endpoints idle, and needs no NVSwitch that reduces.
    var reducesInNodeSwitches: Bool { get }

    /// A fresh iterator over the steps of `rank` (0 ..< rankCount), or of switch endpoint `rank`
    /// (rankCount ..< rankCount + switchCount), in issue order.
    func makeSteps(forRank rank: Int) -> StepIterator
}

extension Schedule {
    /// No switch reduces: every step moves data between ranks.
    public var switchCount: Int { 0 }

    /// Switch endpoints, if any, start with the nodes' reducing NVSwitches.
    public var reducesInNodeSwitches: Bool { switchCount > 0 }

    /// An allreduce.
    public var collective: Collective { .allreduce }

    /// Ranks and switch endpoints: the peers a step may name are `0 ..< endpointCount`.
    public var endpointCount: Int { rankCount + switchCount }

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
    /// NCCL's NVLS: the NVSwitch reduces and multicasts; across nodes the network's switches
    /// reduce too (InfiniBand SHARP) (``NVLSSchedule``).
    case ncclNVLS = "nccl-nvls"
    /// NCCL's NVLS tree: NVLS inside nodes, double binary trees of the nodes between them
    /// (``NVLSSchedule`` with ``NVLSSchedule/BetweenNodes/tree``).
    case ncclNVLSTree = "nccl-nvls-tree"
    /// NCCL's CollNet Direct: the GPUs of a node add each other's shards point to point, and the
    /// network's switches add the node sums (InfiniBand SHARP) (``NVLSSchedule`` with
    /// ``NVLSSchedule/InNode/direct``).
    case ncclCollNet = "nccl-collnet"
    /// NCCL's PAT: a binomial tree per shard over peers at distances 1, 2, 4, ..., for a
    /// reduce-scatter and an all-gather (``PATSchedule``); NCCL runs it at one GPU per node.
    case ncclPAT = "nccl-pat"

    /// Parses a command-line name (`ring`, `tree`, `rabenseifner`, `recursive-doubling`,
    /// `hierarchical`, `nccl-ring`, `nccl-tree`, `nccl-nvls`, `nccl-nvls-tree`, `nccl-collnet`, `nccl-pat`; case-insensitive, `_` accepted for `-`).
    public init?(name: String) {
        self.init(rawValue: String(name.lowercased().map { $0 == "_" ? "-" : $0 }))
    }

    /// Whether the algorithm is one of NCCL's channelized schedules.
    public var isChannelized: Bool { self == .ncclRing || self == .ncclTree || reducesInSwitches }

    /// Whether the schedule reduces in switches (``Schedule/switchCount``): it needs a fabric whose
    /// switches reduce (CollNet Direct: across nodes), and has no counterpart in an MPI run.
    public var reducesInSwitches: Bool { self == .ncclNVLS || self == .ncclNVLSTree || self == .ncclCollNet }

    /// Every accepted name, for error messages.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: " ") }

    /// Whether the algorithm builds `collective`: every algorithm but nccl-pat builds an
    /// allreduce; ring, nccl-ring (their halves) and rabenseifner (recursive halving for a
    /// reduce-scatter, recursive doubling for an all-gather) build a reduce-scatter and an
    /// all-gather too; nccl-pat builds only those two, as NCCL runs PAT for nothing else.
    public func supports(_ collective: Collective) -> Bool {
        if collective == .allreduce { return self != .ncclPAT }
        return self == .ring || self == .ncclRing || self == .rabenseifner || self == .ncclPAT
    }

    /// The algorithms that build `collective`.
    public static func supporting(_ collective: Collective) -> [AllreduceAlgorithm] {
        allCases.filter { $0.supports(collective) }
    }

    /// Throws the one-line reason when the algorithm builds no `collective`
    /// (``supports(_:)``), naming the algorithms that do.
    public func requireSupport(_ collective: Collective) throws(ScheduleError) {
        guard supports(collective) else {
            throw .invalidParameter("\(rawValue) builds no \(collective.rawValue); it is built by \(Self.supporting(collective).map(\.rawValue).joined(separator: ", "))")
        }
    }
}

/// A schedule whose ranks run several independent *lanes* at once, as NCCL's channels run as
/// separate thread blocks: the steps of one lane issue in order, lanes never depend on each
/// other, and the k-th send from a to b in a lane matches the k-th receive at b from a in the same
/// lane.
///
/// ``Schedule/makeSteps(forRank:)`` still gives each rank one stream, the lanes interleaved in an
/// order both ends of every pair share, so executors that know nothing of lanes play the same
/// schedule (in-order issue over the interleaving is stricter, never different in result). An
/// executor that models time plays the lanes apart, so that one lane waiting for its data does
/// not hold back another.
public protocol LanedSchedule: Schedule {
    associatedtype LaneSteps: IteratorProtocol<Step>
    /// Lanes per rank.
    var laneCount: Int { get }
    /// The steps of `rank` in lane `lane` (0 ..< laneCount), in issue order; dependencies index
    /// the steps of the same lane.
    func makeSteps(forRank rank: Int, lane: Int) -> LaneSteps
}

/// A schedule whose lanes are NCCL-style channels, each with its own slice of the buffer: it
/// says how to produce a rank's steps for a range of channels, and gets the interleaved program
/// (every channel) and the lanes (one channel each) from that.
public protocol ChannelSchedule: LanedSchedule where LaneSteps == StepIterator {
    /// Channels that carry data.
    var channelCount: Int { get }
    /// The steps of `rank` in `channels`, interleaved by position (every channel of a position
    /// before the next position).
    func makeSteps(forRank rank: Int, channels: Range<Int>) -> StepIterator
}

extension ChannelSchedule {
    public func makeSteps(forRank rank: Int) -> StepIterator {
        precondition(rank >= 0 && rank < endpointCount, "\(Self.self): rank \(rank) out of 0..<\(endpointCount)")
        return makeSteps(forRank: rank, channels: 0..<channelCount)
    }

    /// Lanes: one per channel.
    public var laneCount: Int { channelCount }

    /// The steps of `rank` in channel `lane` alone.
    public func makeSteps(forRank rank: Int, lane: Int) -> StepIterator {
        precondition(rank >= 0 && rank < endpointCount && lane >= 0 && lane < channelCount, "\(Self.self): rank \(rank) lane \(lane) out of range")
        return makeSteps(forRank: rank, channels: lane..<(lane + 1))
    }
}
