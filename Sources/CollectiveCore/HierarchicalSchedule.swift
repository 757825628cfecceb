/// Two-level allreduce for ranks grouped in nodes of g = `ranksPerNode` consecutive ranks (the
/// last node smaller when g does not divide p): an intra-node ring reduce-scatter, an inter-node
/// allreduce among the ranks that own the same block (ring or double binary tree,
/// `interNodeAlgorithm`), and an intra-node ring allgather.
///
/// The buffer is cut into g Open MPI blocks, the same in every node. In a full node local rank j
/// owns block j. A smaller last node of g' ranks groups the g blocks into g' contiguous groups
/// (the first g mod g' one block larger) and its local rank j owns group j, so it runs one
/// inter-node allreduce per block of its group, one after the other; its partner in the
/// allreduce of block b is, in every full node, local rank b. For 10 ranks, g = 4:
///
///     node 0: ranks 0 1 2 3   own blocks 0 | 1 | 2 | 3
///     node 1: ranks 4 5 6 7   own blocks 0 | 1 | 2 | 3
///     node 2: ranks 8 9       own blocks 0 1 | 2 3
///     block 0: 0 - 4 - 8   block 1: 1 - 5 - 8   block 2: 2 - 6 - 9   block 3: 3 - 7 - 9
///
/// Each phase starts once the previous one completed on the rank (a fence).
public struct HierarchicalSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let elementSizeBytes: Int
    public let chunkBytes: Int
    public let ranksPerNode: Int
    public let interNodeAlgorithm: AllreduceAlgorithm
    /// The g blocks.
    public let blocks: BlockPartition
    /// What the iterators read when a block's inter-node program starts, shared by all of them.
    let _shared: _SharedSchedule

    public var algorithm: AllreduceAlgorithm { .hierarchical }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        elementSizeBytes = parameters.elementSizeBytes
        chunkBytes = parameters.chunkBytes
        ranksPerNode = parameters.ranksPerNode
        interNodeAlgorithm = parameters.interNodeAlgorithm
        blocks = BlockPartition(count: elementCount, parts: ranksPerNode)
        _shared = _SharedSchedule(rankCount: rankCount, ranksPerNode: ranksPerNode, elementCount: elementCount, elementSizeBytes: elementSizeBytes,
                                  chunkBytes: chunkBytes, blocks: blocks)
    }

    /// Number of nodes.
    public var nodeCount: Int { (rankCount + ranksPerNode - 1) / ranksPerNode }

    /// Ranks in node `node`.
    public func nodeSize(_ node: Int) -> Int { min(ranksPerNode, rankCount - node * ranksPerNode) }

    /// The blocks local rank `local` of node `node` owns after the reduce-scatter.
    public func ownedBlocks(node: Int, local: Int) -> Range<Int> {
        let groups = BlockPartition(count: ranksPerNode, parts: nodeSize(node))
        return groups.range(local)
    }

    /// The local rank of node `node` that owns block `block`.
    public func owner(ofBlock block: Int, node: Int) -> Int {
        Self._owner(ofBlock: block, ranksPerNode: ranksPerNode, nodeSize: nodeSize(node))
    }

    static func _owner(ofBlock block: Int, ranksPerNode: Int, nodeSize m: Int) -> Int {
        // The first g mod m groups hold base+1 blocks, the rest base (>= 1, as m <= g).
        let base = ranksPerNode / m, extra = ranksPerNode % m
        let big = extra * (base + 1)
        return block < big ? block / (base + 1) : extra + (block - big) / base
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "HierarchicalSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank)
    }

    /// A rank's steps. The fields the next step reads come first, so that producing a ring
    /// step touches one or two cache lines: one ring program field holds the ring under way
    /// (the intra-node reduce-scatter, a block's inter-node ring, the intra-node allgather),
    /// whose steps after the first come from a short fast path. The schedule itself (read when
    /// a program starts) is shared by every rank's iterator, and the tree program, when the
    /// inter-node algorithm is the tree, lives in a copy-on-write box, so that the iterator
    /// stays small.
    public struct Iterator: IteratorProtocol {
        /// 0: reduce-scatter, 1: inter-node, 2: allgather, 3: done.
        var phase: Int8 = 0
        @usableFromInline var phaseStart = true
        /// `ring` is under way.
        @usableFromInline var ringActive = false
        /// The inter-node algorithm is the tree (read here, not from the cold `interTree`).
        let interIsTree: Bool
        /// Index of the next step of the program under way (ring or tree), the ring's steps, and
        /// the steps produced (32-bit, as step indices are in ``StepDependencies``).
        @usableFromInline var _ringIndex: Int32 = 0
        @usableFromInline var _ringSteps: Int32 = 0
        @usableFromInline var _produced: Int32 = 0
        /// The ring program under way.
        @usableFromInline var ring: _RingProgram

        @inlinable var ringIndex: Int {
            get { Int(_ringIndex) }
            set { _ringIndex = Int32(truncatingIfNeeded: newValue) }
        }
        @inlinable var ringSteps: Int {
            get { Int(_ringSteps) }
            set {
                precondition(produced + newValue <= Int(Int32.max), "HierarchicalSchedule: more than 2^31 - 1 steps per rank")
                _ringSteps = Int32(truncatingIfNeeded: newValue)
            }
        }
        @inlinable var produced: Int {
            get { Int(_produced) }
            set { _produced = Int32(truncatingIfNeeded: newValue) }
        }
        var block = 0
        let blockEnd: Int
        let nodeCount: Int
        let node: Int
        let local: Int
        let shared: _SharedSchedule
        /// The inter-node tree of the current block (when the inter-node algorithm is the tree).
        var interTree: _TreeBox?

        init(schedule: HierarchicalSchedule, rank: Int) {
            shared = schedule._shared
            node = rank / schedule.ranksPerNode
            local = rank % schedule.ranksPerNode
            let owned = schedule.ownedBlocks(node: node, local: local)
            nodeCount = schedule.nodeCount
            interIsTree = schedule.interNodeAlgorithm == .tree
            blockEnd = owned.upperBound
            block = owned.lowerBound
            ring = .empty
            if schedule.elementCount == 0 || schedule.rankCount == 1 {
                phase = 3
            } else {
                startIntra(allgather: false)
            }
        }

        /// Starts the intra-node ring's reduce-scatter (ring steps 0 ..< m-1) or allgather
        /// (m-1 ..< 2(m-1)). The allgather's steps depend only on steps of the allgather itself.
        mutating func startIntra(allgather: Bool) {
            let s = shared
            let m = Swift.min(s.ranksPerNode, s.rankCount - node * s.ranksPerNode)
            let layout = _Layout(base: 0, count: s.elementCount, units: s.ranksPerNode, parts: m)
            ring = _RingProgram(members: m, member: local, map: _MemberMap(stride: 1, local: node * s.ranksPerNode, lastMember: -1, lastLocal: 0),
                                layout: layout, shift: 0, steps: allgather ? (m - 1)..<(2 * (m - 1)) : 0..<(m - 1),
                                elementSize: s.elementSizeBytes, chunkBytes: s.chunkBytes)
            ringIndex = 0
            ringSteps = ring.stepCount
            ringActive = true
        }

        mutating func startInter(_ b: Int) {
            let s = shared
            let nodes = nodeCount
            let last = nodes - 1
            let lastSize = Swift.min(s.ranksPerNode, s.rankCount - last * s.ranksPerNode)
            let lastLocal = HierarchicalSchedule._owner(ofBlock: b, ranksPerNode: s.ranksPerNode, nodeSize: lastSize)
            let map = _MemberMap(stride: s.ranksPerNode, local: b, lastMember: last, lastLocal: lastLocal)
            let range = s.blocks.range(b)
            ringIndex = 0
            if interIsTree {
                interTree = _TreeBox(_TreeProgram(members: nodes, member: node, map: map, range: range, elementSize: s.elementSizeBytes, chunkBytes: s.chunkBytes))
            } else {
                ring = _RingProgram(members: nodes, member: node, map: map, layout: _Layout(base: range.lowerBound, count: range.count, units: nodes, parts: nodes),
                                    shift: 1, steps: 0..<(2 * (nodes - 1)), elementSize: s.elementSizeBytes, chunkBytes: s.chunkBytes)
                ringSteps = ring.stepCount
                ringActive = true
            }
        }

        @inlinable @inline(__always)
        public mutating func next() -> Step? {
            // A ring's steps after its first (all but a few of a rank's steps).
            if ringActive && !phaseStart && ringIndex < ringSteps {
                let step = ring.step(ringIndex, base: produced - ringIndex, fenceFirst: false)
                ringIndex += 1
                produced += 1
                return step
            }
            return _next()
        }

        @usableFromInline
        mutating func _next() -> Step? {
            while phase < 3 {
                let fence = phaseStart && produced > 0
                if phase != 1 {
                    if ringIndex < ringSteps {
                        var step = ring.step(ringIndex, base: produced - ringIndex, fenceFirst: false)
                        if fence && ringIndex == 0 { step.dependencies.fence = true }
                        ringIndex += 1
                        produced += 1
                        phaseStart = false
                        return step
                    }
                    ringActive = false
                    phase += 1
                    phaseStart = true
                } else {
                    if nodeCount <= 1 || block >= blockEnd {
                        phase = 2
                        if nodeCount > 1 { phaseStart = true }
                        startIntra(allgather: true)
                        continue
                    }
                    if !ringActive && interTree == nil { startInter(block) }
                    let firstOfPhase = phaseStart
                    if !interIsTree {
                        if ringIndex < ringSteps {
                            var step = ring.step(ringIndex, base: produced - ringIndex, fenceFirst: false)
                            if firstOfPhase && fence { step.dependencies.fence = true }
                            ringIndex += 1
                            produced += 1
                            phaseStart = false
                            return step
                        }
                    } else {
                        if !isKnownUniquelyReferenced(&interTree) { interTree = _TreeBox(interTree!.program) }
                        if let step = interTree!.program.next(stepBase: produced - ringIndex, fenceFirst: firstOfPhase && fence) {
                            precondition(produced < Int(Int32.max), "HierarchicalSchedule: more than 2^31 - 1 steps per rank")
                            ringIndex += 1
                            produced += 1
                            phaseStart = false
                            return step
                        }
                    }
                    ringActive = false
                    interTree = nil
                    block += 1
                }
            }
            return nil
        }
    }
}

/// The parts of a ``HierarchicalSchedule`` its iterators read when a block's inter-node program
/// starts, shared by the iterators of all its ranks.
@usableFromInline
final class _SharedSchedule: Sendable {
    let rankCount: Int
    let ranksPerNode: Int
    let elementCount: Int
    let elementSizeBytes: Int
    let chunkBytes: Int
    let blocks: BlockPartition

    init(rankCount: Int, ranksPerNode: Int, elementCount: Int, elementSizeBytes: Int, chunkBytes: Int, blocks: BlockPartition) {
        self.rankCount = rankCount
        self.ranksPerNode = ranksPerNode
        self.elementCount = elementCount
        self.elementSizeBytes = elementSizeBytes
        self.chunkBytes = chunkBytes
        self.blocks = blocks
    }
}

/// A tree program on the heap, copied before a shared one is mutated (value semantics).
@usableFromInline
final class _TreeBox: @unchecked Sendable {
    var program: _TreeProgram
    init(_ program: _TreeProgram) { self.program = program }
}
