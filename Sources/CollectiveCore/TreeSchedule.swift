/// NCCL's double binary tree allreduce (``DoubleBinaryTree``; docs/Sources.md section 2).
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

extension TreeSchedule {
    /// The most messages one port carries in each slot of the tree with `chunks` chunks per half
    /// over `ranks` ranks: entry s is the largest, over ranks and directions (in or out), of the
    /// messages a rank sends or receives in slot s. Slots are the stages of the schedule (a fence
    /// opens each one), so with ports shared fairly slot s lasts `alpha + L_s c beta`.
    /// O(ranks x slots).
    public static func slotPortLoads(ranks p: Int, chunks k: Int) -> [Int] {
        precondition(p >= 1 && k >= 1, "TreeSchedule.slotPortLoads: ranks and chunks must be at least 1")
        guard p >= 2 else { return [] }
        var loads: [Int] = []
        for r in 0..<p {
            let program = _TreeProgram(members: p, member: r, map: .identity(p), range: 0..<(2 * k), elementSize: 1, chunkBytes: 1)
            if loads.count < program.slots { loads += Array(repeating: 0, count: program.slots - loads.count) }
            var incoming = Array(repeating: 0, count: program.slots)
            var outgoing = Array(repeating: 0, count: program.slots)
            for j in 0..<12 where program.streams[j].active {
                let st = program.streams[j]
                for s in st.start..<(st.start + program.k) {
                    if st.kind == .send { outgoing[s] += 1 } else { incoming[s] += 1 }
                }
            }
            for s in 0..<program.slots { loads[s] = max(loads[s], incoming[s], outgoing[s]) }
        }
        return loads
    }
}
