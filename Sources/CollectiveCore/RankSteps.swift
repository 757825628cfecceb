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
        // The steps' storage, walked by pointer: the iterator holds no reference, so a run's
        // progress state has none to retain and release.
        try steps.withUnsafeBufferPointer { buffer throws(ExecutionError) in
            try _playRankSteps(_StepBufferIterator(buffer), rank: rank, rankCount: rankCount, transport: &transport, completed: &completed)
        }
    }
}

/// The steps of an array by pointer, for ``RankSteps/run(transport:completed:)``, valid while the
/// array's storage is.
@usableFromInline
struct _StepBufferIterator: IteratorProtocol {
    @usableFromInline let _base: UnsafePointer<Step>?
    @usableFromInline let _count: Int
    @usableFromInline var _index = 0

    @inlinable
    init(_ buffer: UnsafeBufferPointer<Step>) {
        _base = buffer.baseAddress
        _count = buffer.count
    }

    @inlinable @inline(__always)
    mutating func next() -> Step? {
        guard _index < _count, let base = _base else { return nil }
        defer { _index &+= 1 }
        return base[_index]
    }
}
