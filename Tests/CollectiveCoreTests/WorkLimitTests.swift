import CollectiveCore
import Testing

/// `WorkLimit.estimatedSteps` bounds the steps a schedule plays (a run within `--max-steps` must
/// stay within it), without refusing runs far below the bound.
@Suite("Work limit: the step estimate")
struct WorkLimitTests {
    static func steps(_ schedule: some Schedule) -> Int {
        var total = 0
        for r in 0..<schedule.rankCount {
            var it = schedule.makeSteps(forRank: r)
            while it.next() != nil { total += 1 }
        }
        return total
    }

    static let algorithms: [AllreduceAlgorithm] = [.ring, .tree, .rabenseifner, .recursiveDoubling, .hierarchical, .ncclRing, .ncclTree]

    @Test("the estimate is at least the steps played, for every schedule, rank layout, count and chunk",
          arguments: [(2, 1), (3, 1), (4, 2), (8, 4), (12, 4), (16, 8), (24, 8), (32, 4)])
    func bounds(ranks: Int, perNode: Int) throws {
        for algorithm in Self.algorithms {
            for count in [1, 3, 7, 100, 4096, 100_003] {
                for chunkBytes in [4, 256, 64 << 10] {
                    let parameters = ScheduleParameters(rankCount: ranks, elementCount: count, elementSizeBytes: 4,
                                                        chunkBytes: chunkBytes, ranksPerNode: perNode)
                    let estimate = WorkLimit.estimatedSteps(algorithm, parameters)
                    if estimate > 2e6 { continue }  // too many to count here; the bound's shape is the same
                    let played = Self.steps(try algorithm.makeSchedule(parameters))
                    #expect(Double(played) <= estimate, "\(algorithm) p \(ranks) g \(perNode) count \(count) chunk \(chunkBytes): \(played) steps, estimate \(estimate)")
                }
            }
        }
    }

    @Test("hierarchical across many nodes: the estimate stays within 8 x the steps (the inter-node ring's shards, not its whole block, per step)",
          arguments: [(64, 8), (128, 8), (256, 4)])
    func hierarchicalIsTight(ranks: Int, perNode: Int) throws {
        for chunkBytes in [1 << 10, 16 << 10] {
            let parameters = ScheduleParameters(rankCount: ranks, elementCount: 1 << 20, elementSizeBytes: 4,
                                                chunkBytes: chunkBytes, ranksPerNode: perNode)
            let played = Double(Self.steps(try AllreduceAlgorithm.hierarchical.makeSchedule(parameters)))
            let estimate = WorkLimit.estimatedSteps(.hierarchical, parameters)
            #expect(estimate >= played && estimate <= 8 * played, "p \(ranks) g \(perNode) chunk \(chunkBytes): \(played) steps, estimate \(estimate)")
        }
    }
}
