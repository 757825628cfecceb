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
/// once). Every message has a round that both ends compute alike, and within a round steps come
/// in the order up-receives, up-sends, down-receives, down-sends, each by channel (and child),
/// so the messages between two ranks are issued in the same order at both ends. With D the
/// depth bound, L the lag, d a rank's depth and q its place among its parent's children, chunk j
/// travels
///
///     up, from a rank to its parent:   round j + 3(D - d) + q
///     down, from a parent to a rank:   round j + 3D + L + d
///
/// so a parent takes its children's chunk j one round after another (each receive reducing
/// after the previous one) and sends the sum up three rounds later at the most, and a rank
/// forwards a chunk down the round after it arrived.
///
/// Per-rank state is O(channels): a step's dependencies are counted from the round structure,
/// not remembered.
public struct ChannelTreeSchedule: ChannelSchedule {
    public typealias StepIterator = Iterator
    public typealias LaneSteps = Iterator

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

    public func makeSteps(forRank rank: Int, channels: Range<Int>) -> Iterator {
        Iterator(schedule: self, rank: rank, lanes: channels)
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
        /// The channels' slices of the buffer.
        @usableFromInline let slices: BlockPartition
        /// The first channel's role inline (a lane has only that one), the others after it.
        @usableFromInline let role0: _Role
        @usableFromInline let otherRoles: [_Role]
        @usableFromInline let roleCount: Int
        /// The channel of the first role.
        @usableFromInline let firstChannel: Int
        @usableFromInline let stepCount: Int
        /// Chunks per channel, the depth bound D and the lag L.
        @usableFromInline let k: Int
        @usableFromInline let depthBound: Int
        @usableFromInline let lag: Int
        @usableFromInline var index = 0
        /// Cursor: round, phase (0 receives up, 1 send up, 2 receive down, 3 sends down),
        /// channel (0: the first role), child.
        @usableFromInline var round = 0
        @usableFromInline var phase = 0
        @usableFromInline var ci = 0
        @usableFromInline var q = 0
        /// With one channel (a lane): the round offsets of its slots in round order, so that a
        /// dependency's index is a sum over at most eight slots.
        @usableFromInline var laneOffsets: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0)
        @usableFromInline var laneSlots = 0

        init(schedule: ChannelTreeSchedule, rank: Int, lanes: Range<Int>) {
            firstChannel = lanes.lowerBound
            self.slices = schedule.slices
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
            roleCount = roles.count
            role0 = roles.first ?? _Role(rank: 0, channel: 0, ranksPerNode: 1, nodes: 1)
            otherRoles = Array(roles.dropFirst())
            k = schedule.chunksPerChannel
            depthBound = schedule.depthBound
            lag = schedule.lag
            stepCount = k * perChunk
            if roles.count == 1 {
                var offsets: [Int32] = []
                for ph in 0..<4 {
                    for qq in 0..<_slots(role0, ph) { offsets.append(Int32(_offset(role0, ph, qq))) }
                }
                laneSlots = offsets.count
                withUnsafeMutableBytes(of: &laneOffsets) { raw in
                    let o = raw.bindMemory(to: Int32.self)
                    for (i, v) in offsets.enumerated() { o[i] = v }
                }
            }
            if stepCount > 0 { _settle() }
        }

        /// A lane's slot number of (phase, child): slots run up-receives, send up, receive down,
        /// sends down.
        @inlinable
        func _laneSlot(_ ph: Int, _ qq: Int) -> Int {
            let role = role0
            let m = Int(role.childCount), up = role.hasParent ? 1 : 0
            switch ph {
            case 0: return qq
            case 1: return m
            case 2: return m + up
            default: return m + 2 * up + qq
            }
        }

        /// Index of a lane's slot `slot` for chunk `j`.
        @inlinable
        func _laneIndex(_ slot: Int, chunk j: Int) -> Int {
            withUnsafeBytes(of: laneOffsets) { raw in
                let o = raw.bindMemory(to: Int32.self)
                let t = j + Int(o[slot])
                var n = 0
                for i in 0..<laneSlots {
                    let a = t - Int(o[i])
                    n += Swift.min(Swift.max(a, 0), k)
                    if i < slot && a >= 0 && a < k { n += 1 }
                }
                return n
            }
        }

        /// The role of channel `c` (an index into this iterator's channels).
        @inlinable @inline(__always)
        func _role(_ c: Int) -> _Role { c == 0 ? role0 : otherRoles[c - 1] }

        /// Steps a role has in `phase` (children, one, one, children; none without a parent for
        /// the two middle phases).
        @inlinable
        func _slots(_ role: _Role, _ phase: Int) -> Int {
            switch phase {
            case 0, 3: Int(role.childCount)
            default: role.hasParent ? 1 : 0
            }
        }

        /// The round offset of a slot: chunk j of it is in round j + offset. Chunk j travels up
        /// from a rank at depth d, child q of its parent, in round j + 3(D - d) + q, and down to
        /// a rank at depth d in round j + 3D + L + d.
        @inlinable
        func _offset(_ role: _Role, _ phase: Int, _ q: Int) -> Int {
            let d = Int(role.depth), D = depthBound
            switch phase {
            case 0: return 3 * (D - d - 1) + q
            case 1: return 3 * (D - d) + Int(role.indexAtParent)
            case 2: return 3 * D + lag + d
            default: return 3 * D + lag + d + 1
            }
        }

        /// Steps in rounds before `t`, over every channel and slot.
        @inlinable
        func _before(_ t: Int) -> Int {
            var n = 0
            for c in 0..<roleCount {
                let role = _role(c)
                for ph in 0..<4 {
                    for qq in 0..<_slots(role, ph) { n += Swift.min(Swift.max(t - _offset(role, ph, qq), 0), k) }
                }
            }
            return n
        }

        /// Index of the step of channel `c` (into `roles`), phase `ph`, child `qq`, for chunk `j`.
        @inlinable
        func _index(_ c: Int, _ ph: Int, _ qq: Int, chunk j: Int) -> Int {
            if roleCount == 1 { return _laneIndex(_laneSlot(ph, qq), chunk: j) }
            let t = j + _offset(_role(c), ph, qq)
            var n = _before(t)
            // Steps of round t that come first: earlier phases, then earlier channels, then earlier children.
            for p2 in 0...ph {
                for c2 in 0..<roleCount {
                    let role = _role(c2)
                    if p2 == ph && c2 > c { break }
                    for q2 in 0..<_slots(role, p2) {
                        if p2 == ph && c2 == c && q2 >= qq { break }
                        let chunk = t - _offset(role, p2, q2)
                        if chunk >= 0 && chunk < k { n += 1 }
                    }
                }
            }
            return n
        }

        /// Moves the cursor to a step that exists, from where it stands.
        @inlinable
        mutating func _settle() {
            while true {
                if ci < roleCount {
                    let role = _role(ci)
                    if q < _slots(role, phase) {
                        let chunk = round - _offset(role, phase, q)
                        if chunk >= 0 && chunk < k { return }
                        q += 1
                        continue
                    }
                    ci += 1; q = 0
                    continue
                }
                ci = 0; q = 0
                if phase < 3 { phase += 1 } else { phase = 0; round += 1 }
            }
        }

        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            index += 1
            let role = _role(ci)
            let chunk = round - _offset(role, phase, q)
            let r = _range(chunk: chunk, channel: firstChannel + ci)
            let m = Int(role.childCount)
            var deps = StepDependencies()
            let step: Step
            switch phase {
            case 0:
                if q > 0 { deps.append(_index(ci, 0, q - 1, chunk: chunk)) }
                step = Step(kind: .recvReduce, peer: role.child(q), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps)
            case 1:
                if m > 0 { deps.append(_index(ci, 0, m - 1, chunk: chunk)) }
                step = Step(kind: .send, peer: Int(role.parent), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps)
            case 2:
                deps.append(_index(ci, 1, 0, chunk: chunk))
                step = Step(kind: .recvCopy, peer: Int(role.parent), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps)
            default:
                deps.append(role.hasParent ? _index(ci, 2, 0, chunk: chunk) : _index(ci, 0, m - 1, chunk: chunk))
                step = Step(kind: .send, peer: role.child(q), offset: r.lowerBound, count: r.count, chunk: chunk, dependencies: deps)
            }
            q += 1
            if index < stepCount { _settle() }
            return step
        }

        /// Chunk `chunk` of channel `channel`'s slice.
        @inlinable
        func _range(chunk: Int, channel: Int) -> Range<Int> {
            let slice = slices.range(channel)
            let pieces = BlockPartition(count: slice.count, parts: k)
            let o = slice.lowerBound + pieces.offset(chunk)
            return o..<(o + pieces.size(chunk))
        }
    }
}
