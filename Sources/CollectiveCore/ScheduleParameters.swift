/// What every schedule builder needs to know.
public struct ScheduleParameters: Sendable, Hashable {
    /// Number of ranks (>= 1).
    public var rankCount: Int
    /// Elements in each rank's buffer (>= 0).
    public var elementCount: Int
    /// Bytes of one element (>= 1).
    public var elementSizeBytes: Int
    /// Pipelining chunk size in bytes: a block larger than this is moved as several chunks.
    public var chunkBytes: Int
    /// Ranks per node, for `hierarchical` (>= 1; the last node may be smaller).
    public var ranksPerNode: Int
    /// The algorithm `hierarchical` runs between nodes (`ring` or `tree`).
    public var interNodeAlgorithm: AllreduceAlgorithm
    /// Channels of `nccl-ring` and `nccl-tree`: independent rings or trees, each with its own
    /// slice of the buffer (1 ... ``maxChannels``).
    public var channelCount: Int

    /// NCCL's MAXCHANNELS (src/include/device.h): the most channels a communicator runs.
    public static let maxChannels = 64
    /// The channels `nccl-ring` and `nccl-tree` run when a command is not told (`--channels`):
    /// `allreduce mpi` runs them so, and `simulate` and `sweep` play them so, so that a launch's
    /// calibration file replays the schedules the launch ran. (NCCL's own choices, `nccl` and
    /// `nccl:ALGO`, take NCCL's count for the size instead.)
    public static let defaultChannelCount = 2
    /// Ring and Rabenseifner run recursive doubling below the counts where they would move empty
    /// blocks (``AllreduceAlgorithm/scheduledAlgorithm(for:)``); false keeps them as asked.
    public var smallCountFallback: Bool
    /// What the schedule computes (``Collective``): an allreduce (the default), a reduce-scatter
    /// or an all-gather; ``AllreduceAlgorithm/supports(_:)`` says which algorithms build which.
    public var collective: Collective
    /// Whether the run reduces in place: one buffer per rank is both its input and its output
    /// (nccl-tests' in-place column, `allreduce mpi --in-place`), rather than an input and a
    /// separate output (the default). The steps are the same; what changes is the memory a run
    /// walks (``workingSetBytes``), which sets a CPU node's rates.
    public var inPlace: Bool

    /// The bytes of buffer each rank's run spans: its input and its output, each of
    /// `elementCount` elements (as `allreduce mpi` holds them for every collective), or the one
    /// buffer in place. A CPU node's memory rates are looked up at it (a working set), and
    /// `allreduce calibrate` measures them on in-place probes, whose working set is their buffer.
    public var workingSetBytes: Double {
        Self.workingSetBytes(elementCount: elementCount, elementSizeBytes: elementSizeBytes, inPlace: inPlace)
    }

    /// ``workingSetBytes`` of a run of `elementCount` elements of `elementSizeBytes` per rank.
    public static func workingSetBytes(elementCount: Int, elementSizeBytes: Int, inPlace: Bool) -> Double {
        Double(elementCount) * Double(elementSizeBytes) * (inPlace ? 1 : 2)
    }

    /// NCCL's default Simple-protocol chunk for ring allreduce is 2 MiB (docs/Sources.md section 5).
    public static let defaultChunkBytes = 2 << 20

    public init(
        rankCount: Int,
        elementCount: Int,
        elementSizeBytes: Int,
        chunkBytes: Int = ScheduleParameters.defaultChunkBytes,
        ranksPerNode: Int = 1,
        interNodeAlgorithm: AllreduceAlgorithm = .ring,
        channelCount: Int = 1,
        smallCountFallback: Bool = true,
        collective: Collective = .allreduce,
        inPlace: Bool = false
    ) {
        self.rankCount = rankCount
        self.elementCount = elementCount
        self.elementSizeBytes = elementSizeBytes
        self.chunkBytes = chunkBytes
        self.ranksPerNode = ranksPerNode
        self.interNodeAlgorithm = interNodeAlgorithm
        self.channelCount = channelCount
        self.smallCountFallback = smallCountFallback
        self.collective = collective
        self.inPlace = inPlace
    }

    /// Throws ``ScheduleError`` when a value is out of range.
    public func validate() throws(ScheduleError) {
        guard rankCount >= 1 else { throw .invalidParameter("ranks must be at least 1, got \(rankCount)") }
        guard elementCount >= 0 else { throw .invalidParameter("count must be at least 0, got \(elementCount)") }
        guard elementSizeBytes >= 1 else { throw .invalidParameter("element size must be at least 1 byte, got \(elementSizeBytes)") }
        guard chunkBytes >= 1 else { throw .invalidParameter("chunk size must be at least 1 byte, got \(chunkBytes)") }
        guard ranksPerNode >= 1 && ranksPerNode <= rankCount else {
            throw .invalidParameter("ranks per node must be between 1 and the number of ranks (\(rankCount)), got \(ranksPerNode)")
        }
        guard channelCount >= 1 && channelCount <= Self.maxChannels else {
            throw .invalidParameter("channels must be between 1 and \(Self.maxChannels), got \(channelCount)")
        }
        guard interNodeAlgorithm == .ring || interNodeAlgorithm == .tree else {
            throw .invalidParameter("the inter-node algorithm of hierarchical must be ring or tree, got \(interNodeAlgorithm.rawValue)")
        }
    }
}

/// A schedule that cannot be built or does not verify.
public enum ScheduleError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidParameter(String)
    case verificationFailed(String)

    public var description: String {
        switch self {
        case .invalidParameter(let m): m
        case .verificationFailed(let m): "schedule verification failed: \(m)"
        }
    }
}
