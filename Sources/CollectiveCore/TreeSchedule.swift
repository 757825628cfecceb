/// NCCL's double binary tree allreduce (``DoubleBinaryTree``; FACTS.md section 2).
///
/// The buffer is cut in two halves; half t is reduced up tree t to its root and broadcast back
/// down the same tree. Each half moves as k pipelined chunks, k = ceil(half / chunkBytes), so a
/// chunk travels up while earlier chunks travel down: latency grows with lg p, not p. The order in
/// which a rank issues its steps (slots that are the same at both ends of every message) is
/// described on `_TreeProgram`. Tree 0 for p = 14 and its mirror, tree 1:
///
///     0-------------8                13------------5
///              ____/ \____                    ____/ \____
///             4           12                 9           1
///           /   \        /  \              /   \        /  \
///         2       6    10    13          11      7     3    0
///        / \     / \   / \              / \     / \   / \
///       1   3   5   7 9   11           12  10  8   6 4   2
///
/// A rank that forwards data in one tree is a leaf in the other, so the two trees load every
/// rank about equally: an interior rank sends its tree's half up once and down to two children,
/// and its other half up once as a leaf, at most 2n in all.
public struct TreeSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let elementSizeBytes: Int
    public let chunkBytes: Int

    public var algorithm: AllreduceAlgorithm { .tree }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        elementSizeBytes = parameters.elementSizeBytes
        chunkBytes = parameters.chunkBytes
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "TreeSchedule: rank \(rank) out of 0..<\(rankCount)")
        let program = _TreeProgram(members: elementCount == 0 ? 1 : rankCount, member: elementCount == 0 ? 0 : rank,
                                   map: .identity(rankCount), range: 0..<elementCount,
                                   elementSize: elementSizeBytes, chunkBytes: chunkBytes)
        return Iterator(program: program)
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline var program: _TreeProgram

        public mutating func next() -> Step? { program.next(stepBase: 0, fenceFirst: false) }
    }
}
