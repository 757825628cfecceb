/// NCCL's PAT (Parallel Aggregated Trees, NCCL 2.23+) for a reduce-scatter and an all-gather:
/// one binomial tree per shard, over peers at distances 1, 2, 4, ... (a Bruck-style pattern), so
/// a collective takes ceil(lg p) rounds instead of the ring's p - 1 steps while every rank still
/// sends each shard but its own exactly once ((p-1)/p of the buffer, as the ring).
///
/// **Reduce-scatter.** Shard t's contributions are reduced along the binomial tree rooted at
/// rank t: the rank at distance s = (t - r) mod p from t receives the partial sums of its
/// children, the ranks at distance s + 2^j (j below the lowest set bit of s, s + 2^j < p), then
/// sends its partial sum to rank r + 2^b, b = the lowest set bit of s (NCCL's
/// `PatRSAlgorithm::getNextOp` in src/include/collectives.h: data received over dimension
/// `firstBitSet(s)` and sent on over `firstBitSet` of the rest; a dimension d's send peer is
/// rank + 2^d, its receive peer rank - 2^d). Every edge of every tree with lowest bit b runs in
/// round b, so rank r's program is, for each round k = 0 ..< ceil(lg p): its sends to r + 2^k,
/// one per shard at distance s with lowest set bit k, in increasing s; then its receives from
/// r - 2^k, one per shard at distance s with s mod 2^(k+1) = 0 and s + 2^k < p, reduced in
/// place. A send waits for the last receive into its shard; a receive waits for the one before
/// it into the same shard. NCCL aggregates a round's shards into one message and pipelines them
/// through a bounded buffer; here each shard of a round is its own step, all issued at once.
///
/// **All-gather** is the mirror: the trees run from their roots outward in rounds
/// k = ceil(lg p) - 1 ... 0; in round k rank r sends to r - 2^k each shard at distance
/// s = (t - r) mod p with s mod 2^(k+1) = 0 and s + 2^k < p (its own, s = 0, or one it received
/// in an earlier round), and copies in from r + 2^k the shards at distance s with lowest set bit
/// k. A send of a received shard waits for its receive.
///
/// PAT builds no allreduce: NCCL never runs it for one (src/graph/tuning.cc skips PAT for
/// allreduce).
///
/// Steps are produced on the fly from (round, position): O(lg p) state per rank.
public struct PATSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let collective: Collective
    public let shards: BlockPartition
    /// Rounds: ceil(lg p).
    public let rounds: Int

    public var algorithm: AllreduceAlgorithm { .ncclPAT }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        try AllreduceAlgorithm.ncclPAT.requireSupport(parameters.collective)
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        collective = parameters.collective
        shards = Collective.shards(elementCount: elementCount, rankCount: rankCount)
        var r = 0
        while (1 << r) < rankCount { r += 1 }
        rounds = r
    }

    /// Shards a rank sends (and receives) in round k of either half: ceil((p - 2^k) / 2^(k+1)).
    public func shardsPerRound(_ k: Int) -> Int {
        let d = 1 << k, span = 2 << k
        return (rankCount - d + span - 1) / span
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "PATSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank)
    }

    /// Rank `rank`'s steps: the reduce-scatter's rounds or the all-gather's.
    public struct Iterator: IteratorProtocol {
        let s: PATSchedule
        let rank: Int
        /// First step index of each reduce-scatter round and each all-gather round (by k).
        let rsBase: [Int]
        let agBase: [Int]
        let total: Int
        var index = 0
        /// The half, round and position of the next step.
        var allGather: Bool
        var k: Int
        var position = 0

        init(schedule: PATSchedule, rank: Int) {
            s = schedule
            self.rank = rank
            let active = schedule.rankCount > 1 && schedule.elementCount > 0
            let runsRS = active && schedule.collective == .reduceScatter
            let runsAG = active && schedule.collective == .allGather
            var next = 0
            var rs = [Int](repeating: 0, count: schedule.rounds)
            if runsRS {
                for k in 0..<schedule.rounds {
                    rs[k] = next
                    next += 2 * schedule.shardsPerRound(k)
                }
            }
            var ag = [Int](repeating: 0, count: schedule.rounds)
            if runsAG {
                for k in (0..<schedule.rounds).reversed() {
                    ag[k] = next
                    next += 2 * schedule.shardsPerRound(k)
                }
            }
            rsBase = rs
            agBase = ag
            total = next
            allGather = !runsRS
            k = runsRS ? 0 : schedule.rounds - 1
        }

        /// The index of the reduce-scatter's receive into the shard at distance `distance` in round j.
        func rsReceive(_ j: Int, distance: Int) -> Int { rsBase[j] + s.shardsPerRound(j) + distance >> (j + 1) }

        public mutating func next() -> Step? {
            guard index < total else { return nil }
            index += 1
            let p = s.rankCount
            let n = s.shardsPerRound(k)
            let d = 1 << k
            let isSend = position < n
            let m = isSend ? position : position - n
            // Distance of the shard from this rank: lowest set bit k (bit pattern 1 followed by
            // k zeros) or a multiple of 2^(k+1).
            let odd = d + m * (2 * d), even = m * (2 * d)
            let step: Step
            func make(_ kind: StepKind, _ peer: Int, distance: Int, _ deps: StepDependencies) -> Step {
                let r = s.shards.range((rank + distance) % p)
                return Step(kind: kind, peer: peer, offset: r.lowerBound, count: r.count, chunk: 0, dependencies: deps)
            }
            if !allGather {
                if isSend {
                    // The last receive into this shard: the latest round j < k with odd + 2^j < p.
                    var j = k - 1
                    while j >= 0 && odd + (1 << j) >= p { j -= 1 }
                    step = make(.send, (rank + d) % p, distance: odd, j >= 0 ? StepDependencies(rsReceive(j, distance: odd)) : StepDependencies())
                } else {
                    step = make(.recvReduce, (rank - d + p) % p, distance: even, k > 0 ? StepDependencies(rsReceive(k - 1, distance: even)) : StepDependencies())
                }
            } else {
                if isSend {
                    var deps = StepDependencies()
                    if even > 0 {
                        // Received in the all-gather's round b = the lowest set bit of the distance.
                        let b = even.trailingZeroBitCount
                        deps.append(agBase[b] + s.shardsPerRound(b) + (even - (1 << b)) >> (b + 1))
                    }
                    step = make(.send, (rank - d + p) % p, distance: even, deps)
                } else {
                    step = make(.recvCopy, (rank + d) % p, distance: odd, StepDependencies())
                }
            }
            // Advance.
            position += 1
            if position == 2 * n {
                position = 0
                if !allGather {
                    k += 1
                    if k == s.rounds { allGather = true; k = s.rounds - 1 }
                } else {
                    k -= 1
                }
            }
            return step
        }
    }
}
