/// One rank's steps of a ``Schedule``, produced once by its iterator and kept in an array, for
/// executors that play the same schedule many times (the MPI runner's timed blocks): each run
/// then walks the array, with no iterator state to rebuild and nothing to allocate. The steps
/// are exactly ``Schedule/makeSteps(forRank:)``'s, played by the same loop as
/// ``Schedule/run(rank:transport:)``.
///
/// It holds one rank's program, so it is built only up to a bound on its length
/// (``init(_:rank:maxSteps:)``): a long program (large sizes, small chunks) keeps to the
/// iterator, whose memory stays independent of the program's length.
public struct RankSteps: Sendable {
    public let rank: Int
    public let rankCount: Int
    /// Elements of every rank's buffer.
    public let elementCount: Int
    /// What the steps compute (where a rank's result lies, and what `avg` divides).
    public let collective: Collective
    public let steps: [Step]

    /// Rank `rank`'s steps of `schedule`, or nil when it has more than `maxSteps` of them, or
    /// reduces in a switch (which a one-rank-per-process run cannot play).
    public init?<S: Schedule>(_ schedule: S, rank: Int, maxSteps: Int) {
        guard schedule.switchCount == 0, rank >= 0, rank < schedule.rankCount else { return nil }
        var iterator = schedule.makeSteps(forRank: rank)
        var steps: [Step] = []
        while let step = iterator.next() {
            guard steps.count < maxSteps else { return nil }
            steps.append(step)
        }
        self.rank = rank
        rankCount = schedule.rankCount
        elementCount = schedule.elementCount
        collective = schedule.collective
        self.steps = steps
    }

    /// Plays the steps through `transport`, as ``Schedule/run(rank:transport:)`` plays the
    /// schedule's; `completed` is scratch kept between runs. Returns the number of steps played.
    @inlinable @discardableResult
    public func run<T: RankTransport>(transport: inout T, completed: inout [Int]) throws(ExecutionError) -> Int {
        try _playRankSteps(steps.makeIterator(), rank: rank, rankCount: rankCount, transport: &transport, completed: &completed)
    }
}
