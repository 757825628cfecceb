/// NCCL's tree allreduce: `channels` trees at once, each reducing its own slice of the buffer up
/// to a root and broadcasting the result back down (NCCL src/graph/trees.cc, connect.cc;
/// src/device/all_reduce.h, `runTreeUpDown`).
///
/// Each channel's tree has two levels, as NCCL builds it:
/// - between nodes, a binary tree of ``DoubleBinaryTree``: even channels use tree 0, odd channels
///   its mirror (tree 1), so every node forwards data in at most one tree of a channel pair;
/// - inside a node, a *chain* of its GPUs starting at the channel's head GPU
///   `h = (c / 2) mod g`: the head talks to the parent and child nodes (through its own NIC),
///   GPU h+1 hangs below it, and so on. Channel pairs start at different GPUs, so k channels
///   spread over the node's NICs.
///
/// Slice c of the buffer (``BlockPartition`` into `channels` parts) moves as k chunks of at most
/// `chunkBytes`. Chunk i of a channel goes *up* (every rank reduces what its children send and
/// passes the sum to its parent) and then *down* (the root's result is copied from parent to
/// children). A rank issues its steps by rounds: in round t the up steps of chunk t, then the
/// down steps of chunks that went up earlier, with a lag L = g + levels of the node tree so that
/// the up pipeline is not held behind a chunk still on its way back down (NCCL runs the two
/// directions at once). A rank with several children reduces one child's chunk at a time, the
/// second child one round after the first (the steps of a rank never write one range twice at
/// once); `Iterator._produceRound` gives the rounds.
///
/// Per-rank state is O(channels x L); a rank's steps are produced one round at a time.
public struct ChannelTreeSchedule: LanedSchedule {
    public let rankCount: Int
    public let elementCount: Int
    /// Channels that carry data: the requested count, at most one per element.
    public let channelCount: Int
    /// GPUs per node in the tree's layout (1 when the ranks do not fill whole nodes).
    public let ranksPerNode: Int
    /// Chunks per channel slice.
    public let chunksPerChannel: Int
    /// The lag, in chunks, of the down steps behind the up steps.
    public let lag: Int
    public let slices: BlockPartition

    public var algorithm: AllreduceAlgorithm { .ncclTree }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        ranksPerNode = parameters.rankCount % parameters.ranksPerNode == 0 ? parameters.ranksPerNode : 1
        channelCount = max(1, min(parameters.channelCount, parameters.elementCount))
        slices = BlockPartition(count: elementCount, parts: channelCount)
        chunksPerChannel = chunkCount(elements: slices.maxSize, elementSize: parameters.elementSizeBytes, chunkBytes: parameters.chunkBytes)
        let nodes = rankCount / ranksPerNode
        lag = ranksPerNode + (Int.bitWidth - nodes.leadingZeroBitCount)
    }

    /// Number of nodes of the layout.
    public var nodeCount: Int { rankCount / ranksPerNode }

    /// Rank `rank`'s place in channel `channel`'s tree: parent (-1 at the root) and up to three
    /// children (the next GPU of the chain first, then the heads of child nodes).
    public func role(rank: Int, channel: Int) -> (parent: Int, children: [Int]) {
        let r = _Role(rank: rank, channel: channel, ranksPerNode: ranksPerNode, nodes: nodeCount)
        return (Int(r.parent), (0..<Int(r.childCount)).map { r.child($0) })
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "ChannelTreeSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank, lanes: 0..<channelCount)
    }

    /// Lanes: one per channel.
    public var laneCount: Int { channelCount }

    /// The steps of `rank` in channel `lane` alone.
    public func makeSteps(forRank rank: Int, lane: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount && lane >= 0 && lane < channelCount, "ChannelTreeSchedule: rank \(rank) lane \(lane) out of range")
        return Iterator(schedule: self, rank: rank, lanes: lane..<(lane + 1))
    }

    /// One rank's place in one channel's tree.
    @usableFromInline
    struct _Role: Sendable {
        @usableFromInline var parent: Int32 = -1
        @usableFromInline var child0: Int32 = -1
        @usableFromInline var child1: Int32 = -1
        @usableFromInline var child2: Int32 = -1
        @usableFromInline var childCount: Int32 = 0
        /// Depth in the tree (the root 0) and place in the parent's list of children.
        @usableFromInline var depth: Int32 = 0
        @usableFromInline var indexAtParent: Int32 = 0

        init(rank: Int, channel: Int, ranksPerNode g: Int, nodes: Int) {
            let node = rank / g, local = rank - node * g
            let head = (channel / 2) % g
            let j = (local - head + g) % g
            let tree = channel & 1
            let n = DoubleBinaryTree.node(tree: tree, ranks: nodes, rank: node)
            let nodeDepth = DoubleBinaryTree._depth(DoubleBinaryTree.virtualRank(of: node, inTree: tree, ranks: nodes), ranks: nodes)
            depth = Int32(nodeDepth + j)
            var kids: [Int] = []
            if j + 1 < g { kids.append(node * g + (head + j + 1) % g) }
            if j == 0 {
                parent = n.parent >= 0 ? Int32(n.parent * g + head) : -1
                if n.child0 >= 0 { kids.append(n.child0 * g + head) }
                if n.child1 >= 0 { kids.append(n.child1 * g + head) }
                if n.parent >= 0 {
                    let p = DoubleBinaryTree.node(tree: tree, ranks: nodes, rank: n.parent)
                    indexAtParent = Int32((g > 1 ? 1 : 0) + (p.child0 >= 0 && p.child0 != node ? 1 : 0))
                }
            } else {
                parent = Int32(node * g + (head + j - 1) % g)
            }
            childCount = Int32(kids.count)
            if kids.count > 0 { child0 = Int32(kids[0]) }
            if kids.count > 1 { child1 = Int32(kids[1]) }
            if kids.count > 2 { child2 = Int32(kids[2]) }
        }

        @inlinable func child(_ i: Int) -> Int { Int(i == 0 ? child0 : (i == 1 ? child1 : child2)) }
        @inlinable var hasParent: Bool { parent >= 0 }
        /// Steps of one chunk going up (receives from children, send to parent), and down.
        @inlinable var upSteps: Int { Int(childCount) + (hasParent ? 1 : 0) }
        @inlinable var downSteps: Int { Int(childCount) + (hasParent ? 1 : 0) }
    }

    /// A bound on the depth of every channel's tree: the chain below a head plus the levels of
    /// the tree over nodes.
    public var depthBound: Int { ranksPerNode - 1 + (Int.bitWidth - nodeCount.leadingZeroBitCount) + 1 }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let schedule: ChannelTreeSchedule
        @usableFromInline let roles: [_Role]
        /// The channel of `roles[0]`.
        @usableFromInline let firstChannel: Int
        @usableFromInline let stepCount: Int
        /// The depth bound D.
        @usableFromInline let depthBound: Int
        /// History depth of the per-chunk records: longer than any span between a step and one
        /// that depends on it.
        @usableFromInline let history: Int
        @usableFromInline var index = 0
        @usableFromInline var round = 0
        /// The steps of the current round, produced together, and the next one to hand out.
        @usableFromInline var pending: [Step] = []
        @usableFromInline var pendingNext = 0
        /// Per channel and chunk (mod `history`): the index of the last receive that reduced into
        /// the chunk, and of the send up. Per channel and chunk parity: the receive from the parent.
        @usableFromInline var lastReduce: [Int32]
        @usableFromInline var sentUp: [Int32]
        @usableFromInline var copiedDown: [Int32]

        init(schedule: ChannelTreeSchedule, rank: Int, lanes: Range<Int>) {
            self.schedule = schedule
            firstChannel = lanes.lowerBound
            var roles: [_Role] = []
            var perChunk = 0
            if schedule.rankCount > 1 && schedule.elementCount > 0 {
                roles.reserveCapacity(lanes.count)
                for c in lanes {
                    let r = _Role(rank: rank, channel: c, ranksPerNode: schedule.ranksPerNode, nodes: schedule.nodeCount)
                    perChunk += r.upSteps + r.downSteps
                    roles.append(r)
                }
            }
            self.roles = roles
            stepCount = schedule.chunksPerChannel * perChunk
            depthBound = schedule.depthBound
            history = 4 * depthBound + schedule.lag + 8
            lastReduce = Array(repeating: -1, count: roles.count * history)
            sentUp = Array(repeating: -1, count: roles.count * history)
            copiedDown = Array(repeating: -1, count: 2 * roles.count)
        }

        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            while pendingNext == pending.count {
                _produceRound()
            }
            let step = pending[pendingNext]
            pendingNext += 1
            index += 1
            return step
        }

        /// Produces every step of round `round`, numbered from `index` on. Every message has a
        /// round that both ends compute alike, and within a round steps come in the order
        /// up-receives, up-sends, down-receives, down-sends, each by channel, so the messages
        /// between two ranks are issued in the same order at both ends. With D the depth bound,
        /// L the lag, d a rank's depth and q its place among its parent's children, chunk j
        /// travels:
        ///
        ///     up, from a rank to its parent:   round j + 3(D - d) + q
        ///     down, from a parent to a rank:   round j + 3D + L + d
        ///
        /// A parent therefore takes its children's chunk j one round after another (each
        /// receive reducing after the previous one: one reduction into a range at a time) and
        /// sends the sum up three rounds later at the most; a rank forwards a chunk down the
        /// round after it arrived.
        mutating func _produceRound() {
            pending.removeAll(keepingCapacity: true)
            pendingNext = 0
            let t = round
            round += 1
            let k = schedule.chunksPerChannel
            let D = depthBound, L = schedule.lag
            var next = index
            func slot(_ c: Int, _ chunk: Int) -> Int { c * history + chunk % history }
            // Up: receives from the children.
            for (c, role) in roles.enumerated() {
                let d = Int(role.depth)
                for q in 0..<Int(role.childCount) {
                    let chunk = t - 3 * (D - d - 1) - q
                    guard chunk >= 0 && chunk < k else { continue }
                    let r = _range(chunk: chunk, channel: firstChannel + c)
                    var deps = StepDependencies()
                    if q > 0 { deps.append(Int(lastReduce[slot(c, chunk)])) }
                    pending.append(Step(kind: .recvReduce, peer: role.child(q), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps))
                    lastReduce[slot(c, chunk)] = Int32(next)
                    next += 1
                }
            }
            // Up: the send to the parent.
            for (c, role) in roles.enumerated() where role.hasParent {
                let chunk = t - 3 * (D - Int(role.depth)) - Int(role.indexAtParent)
                guard chunk >= 0 && chunk < k else { continue }
                let r = _range(chunk: chunk, channel: firstChannel + c)
                var deps = StepDependencies()
                if role.childCount > 0 { deps.append(Int(lastReduce[slot(c, chunk)])) }
                pending.append(Step(kind: .send, peer: Int(role.parent), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps))
                sentUp[slot(c, chunk)] = Int32(next)
                next += 1
            }
            // Down: the receive from the parent.
            for (c, role) in roles.enumerated() where role.hasParent {
                let chunk = t - 3 * D - L - Int(role.depth)
                guard chunk >= 0 && chunk < k else { continue }
                let r = _range(chunk: chunk, channel: firstChannel + c)
                var deps = StepDependencies()
                deps.append(Int(sentUp[slot(c, chunk)]))
                pending.append(Step(kind: .recvCopy, peer: Int(role.parent), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps))
                copiedDown[2 * c + (chunk & 1)] = Int32(next)
                next += 1
            }
            // Down: the sends to the children, the round after the chunk came down (at the root,
            // once the last child's chunk is reduced).
            for (c, role) in roles.enumerated() where role.childCount > 0 {
                let chunk = t - 3 * D - L - Int(role.depth) - 1
                guard chunk >= 0 && chunk < k else { continue }
                let r = _range(chunk: chunk, channel: firstChannel + c)
                let ready = role.hasParent ? Int(copiedDown[2 * c + (chunk & 1)]) : Int(lastReduce[slot(c, chunk)])
                for q in 0..<Int(role.childCount) {
                    var deps = StepDependencies()
                    deps.append(ready)
                    pending.append(Step(kind: .send, peer: role.child(q), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps))
                    next += 1
                }
            }
        }

        /// Chunk `chunk` of channel `channel`'s slice.
        func _range(chunk: Int, channel: Int) -> Range<Int> {
            let slice = schedule.slices.range(channel)
            let pieces = BlockPartition(count: slice.count, parts: schedule.chunksPerChannel)
            let o = slice.lowerBound + pieces.offset(chunk)
            return o..<(o + pieces.size(chunk))
        }
    }
}
