/// The bound on how much work one command may start: every command that plays a schedule
/// (`verify`, `simulate`, `sweep`, `bench-executor`) estimates the steps of all ranks first and
/// refuses a run beyond ``defaultMaxSteps`` with the figure, unless `--max-steps` raises it.
/// docs/Limits.md lists this bound with the others.
public enum WorkLimit {
    /// About 10 minutes at one microsecond per step; the event engine's memory also grows with
    /// the steps in flight, which this bounds too.
    public static let defaultMaxSteps = 600_000_000

    /// The most `--max-steps` can allow: the event engine numbers at most 2^36 events (a few per
    /// step), and each rank's steps are numbered with 32-bit indices (checked separately).
    public static let maxStepsCeiling = 1 << 34

    /// An upper estimate of the steps of all ranks of `algorithm` with `parameters` (the schedule
    /// that actually runs, after ``AllreduceAlgorithm/scheduledAlgorithm(for:)``, takes at most
    /// this many). Computed in floating point, so it cannot overflow.
    public static func estimatedSteps(_ algorithm: AllreduceAlgorithm, _ parameters: ScheduleParameters) -> Double {
        let p = parameters.rankCount, count = parameters.elementCount
        guard count > 0 && p > 1 else { return 0 }
        let chunkElements = Double(Swift.max(1, parameters.chunkBytes / Swift.max(1, parameters.elementSizeBytes)))
        func chunks(_ elements: Double) -> Double { Swift.max(1, (Swift.max(elements, 1) / chunkElements).rounded(.up)) }
        let P = Double(p), n = Double(count)
        let lg = Double(Int.bitWidth - p.leadingZeroBitCount)
        let g = Double(Swift.max(1, Swift.min(parameters.ranksPerNode, p)))
        let c = Double(Swift.max(1, Swift.min(parameters.channelCount, count)))
        // Ring and Rabenseifner fall back to recursive doubling on small counts: take the larger.
        let doubling = P * (4 * lg + 4) * chunks(n)
        switch algorithm {
        case .ring: return Swift.max(4 * P * (P - 1) * chunks((n / P).rounded(.up)), doubling)
        case .tree: return 12 * P * chunks((n / 2).rounded(.up))
        case .rabenseifner, .recursiveDoubling: return doubling
        case .hierarchical:
            // Below the ranks per node it runs recursive doubling (``AllreduceAlgorithm/scheduledAlgorithm(for:)``).
            if algorithm.scheduledAlgorithm(for: parameters) != .hierarchical { return doubling }
            // Within a node, a ring reduce-scatter and all-gather of the node's g blocks: 2(g - 1)
            // steps of a block's chunks, each a send and a receive. Between nodes, on each rank's
            // block: the ring's 2(nodes - 1) steps of a shard's chunks, or the double binary
            // tree's at most 12 steps per chunk of half the block.
            let nodes = (P / g).rounded(.up), block = (n / g).rounded(.up)
            return 4 * P * g * chunks(block)
                + P * Swift.max(4 * nodes * chunks((block / nodes).rounded(.up)), 12 * chunks((block / 2).rounded(.up)))
        case .ncclRing:
            return Swift.max(4 * P * (P - 1) * c * chunks((n / c / P).rounded(.up) + 1), doubling)
        case .ncclTree:
            // At most 4 steps up and 4 down per chunk of each channel's slice.
            return 8 * P * c * chunks((n / c).rounded(.up))
        case .ncclNVLS, .ncclNVLSTree, .ncclCollNet:
            // Per channel and round of g shards: at most 2g + 8 steps per rank (the tree's way up
            // and down included; CollNet Direct's 4(g - 1) + 2), 2g(g + 1) per NVSwitch, 2 per
            // node per network reduction.
            return 4 * P * (g + 4) * c * chunks((n / c / g).rounded(.up))
        case .ncclPAT:
            // Each half: p - 1 sends and p - 1 receives per rank, one per shard (no chunks).
            return 4 * P * (P - 1)
        }
    }

    /// Throws a one-line ``WorkLimitError`` when `algorithm` with `parameters` needs more than
    /// `maxSteps` steps (at most ``maxStepsCeiling``), or one rank more than 2^31 - 1.
    public static func check(_ algorithm: AllreduceAlgorithm, _ parameters: ScheduleParameters, maxSteps: Int = defaultMaxSteps) throws(WorkLimitError) {
        let steps = estimatedSteps(algorithm, parameters)
        let perRank = steps / Double(Swift.max(1, parameters.rankCount))
        let maxSteps = Swift.min(maxSteps, maxStepsCeiling)
        if steps > Double(maxSteps) || perRank > Double(Int32.max) {
            throw WorkLimitError(algorithm: algorithm, ranks: parameters.rankCount, chunkBytes: parameters.chunkBytes,
                                 estimatedSteps: steps, maxSteps: maxSteps)
        }
    }
}

/// A run refused by ``WorkLimit``: the estimate, the bound, and how to go beyond it.
public struct WorkLimitError: Error, Sendable, Hashable, CustomStringConvertible {
    public var algorithm: AllreduceAlgorithm
    public var ranks: Int
    public var chunkBytes: Int
    public var estimatedSteps: Double
    public var maxSteps: Int
    public var description: String {
        let estimate = estimatedSteps < 9e18 ? "\(Int(estimatedSteps))" : "\(estimatedSteps)"
        return "\(algorithm.rawValue) over \(ranks) ranks with chunks of \(chunkBytes) bytes needs about \(estimate) steps, more than \(maxSteps); use fewer ranks, a smaller size, larger --chunk-bytes, another algorithm, or raise --max-steps"
    }
}
