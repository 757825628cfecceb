// Building blocks shared by the schedules: a ring and a double binary tree over a subset of the
// ranks and a sub-range of the buffer, producing steps on demand with O(1) state.

/// Which rank plays member `i` of a group: `i * stride + local`, except the last member, which is
/// rank `lastMember * stride + lastLocal` (the smaller last node of `hierarchical`).
@usableFromInline
struct _MemberMap: Sendable, Hashable {
    var stride: Int
    var local: Int
    var lastMember: Int
    var lastLocal: Int

    static func identity(_ members: Int) -> _MemberMap {
        _MemberMap(stride: 1, local: 0, lastMember: members - 1, lastLocal: 0)
    }

    @inline(__always)
    func rank(_ member: Int) -> Int {
        member * stride + (member == lastMember ? lastLocal : local)
    }
}

/// `parts` contiguous blocks of a buffer range: the range's elements are split into `units`
/// Open MPI blocks, and the units are grouped into `parts` contiguous groups (the first
/// `units % parts` groups one unit larger). With `units == parts` it is a plain block partition.
@usableFromInline
struct _Layout: Sendable, Hashable {
    var base: Int
    var elements: BlockPartition
    var groups: BlockPartition

    init(base: Int, count: Int, units: Int, parts: Int) {
        self.base = base
        elements = BlockPartition(count: count, parts: units)
        groups = BlockPartition(count: units, parts: parts)
    }

    @inline(__always)
    func range(_ part: Int) -> Range<Int> {
        let u0 = groups.offset(part)
        let u1 = u0 + groups.size(part)
        return (base + elements.offset(u0))..<(base + elements.offset(u1))
    }

    /// The largest part (the first: earlier units and groups are the larger ones).
    var maxSize: Int { range(0).count }
}

/// Piece `c` of `k` near-equal pieces of `range` (the first `count % k` one element longer).
@inline(__always)
func _piece(_ c: Int, of range: Range<Int>, pieces k: Int) -> Range<Int> {
    let part = BlockPartition(count: range.count, parts: k)
    let o = range.lowerBound + part.offset(c)
    return o..<(o + part.size(c))
}

/// Ring steps `firstStep ..< lastStep` of a ring reduce-scatter (steps 0 ..< n-1) and allgather
/// (steps n-1 ..< 2(n-1)) among `n` members, each block moved as `k` pipelined chunks.
///
/// At ring step s member m sends block (m + shift - 1 - s) mod n to member m+1 and receives block
/// (m + shift - 2 - s) mod n from member m-1 (reducing during the reduce-scatter, copying during
/// the allgather), so after the reduce-scatter member m owns block (m + shift) mod n.
@usableFromInline
struct _RingProgram: Sendable {
    // One cache line: counts of members, units and steps as Int32, element counts as Int.
    @usableFromInline let _n: Int32
    @usableFromInline let _member: Int32
    @usableFromInline let _next: Int32
    @usableFromInline let _prev: Int32
    @usableFromInline let _unitExtra: Int32
    @usableFromInline let _groupBase: Int32
    @usableFromInline let _groupExtra: Int32
    @usableFromInline let _shift: Int32
    @usableFromInline let _firstStep: Int32
    @usableFromInline let _lastStep: Int32
    /// The layout's partitions as quotient and remainder (no division per step): unit u starts
    /// at element `base + u * unitBase + min(u, unitExtra)`; group g starts at unit
    /// `g * groupBase + min(g, groupExtra)` and holds `groupBase (+1 if g < groupExtra)` units.
    @usableFromInline let base: Int
    @usableFromInline let unitBase: Int
    @usableFromInline let k: Int

    @inlinable var n: Int { Int(_n) }
    @inlinable var member: Int { Int(_member) }
    @inlinable var next: Int { Int(_next) }
    @inlinable var prev: Int { Int(_prev) }
    @inlinable var unitExtra: Int { Int(_unitExtra) }
    @inlinable var groupBase: Int { Int(_groupBase) }
    @inlinable var groupExtra: Int { Int(_groupExtra) }
    @inlinable var shift: Int { Int(_shift) }
    @inlinable var firstStep: Int { Int(_firstStep) }
    @inlinable var lastStep: Int { Int(_lastStep) }

    init(members n: Int, member: Int, map: _MemberMap, layout: _Layout, shift: Int, steps: Range<Int>, elementSize: Int, chunkBytes: Int) {
        precondition(n < Int(Int32.max) / 4 && layout.groups.count < Int(Int32.max), "ring sub-program: too many members")
        _n = Int32(n)
        _member = Int32(member)
        _next = Int32(map.rank((member + 1) % n))
        _prev = Int32(map.rank((member + n - 1) % n))
        base = layout.base
        unitBase = layout.elements.count / layout.elements.parts
        _unitExtra = Int32(layout.elements.count % layout.elements.parts)
        _groupBase = Int32(layout.groups.count / layout.groups.parts)
        _groupExtra = Int32(layout.groups.count % layout.groups.parts)
        _shift = Int32(shift)
        _firstStep = Int32(steps.lowerBound)
        _lastStep = Int32(steps.upperBound)
        k = chunkCount(elements: layout.maxSize, elementSize: elementSize, chunkBytes: chunkBytes)
    }

    /// A ring of one member (no steps).
    static var empty: _RingProgram {
        _RingProgram(members: 1, member: 0, map: .identity(1), layout: _Layout(base: 0, count: 0, units: 1, parts: 1),
                     shift: 0, steps: 0..<0, elementSize: 1, chunkBytes: 1)
    }

    /// Steps of this member.
    @inlinable var stepCount: Int { n <= 1 ? 0 : (lastStep - firstStep) * k * 2 }

    @inlinable @inline(__always)
    func _index(_ s: Int, _ c: Int, receive: Bool) -> Int { ((s - firstStep) * k + c) * 2 + (receive ? 1 : 0) }

    /// `x mod n` for `-2n <= x < 2n`.
    @inlinable @inline(__always)
    func _wrap(_ x: Int) -> Int {
        assert(x >= -2 * n && x < 2 * n)
        var b = x
        if b < 0 { b += n }
        if b < 0 { b += n }
        if b >= n { b -= n }
        return b
    }

    /// Chunk `c` of block `block` (the layout's group `block`, cut into k near-equal pieces).
    @inlinable @inline(__always)
    func _chunk(_ block: Int, _ c: Int) -> Range<Int> {
        let u0 = block * groupBase + Swift.min(block, groupExtra)
        let u1 = u0 + groupBase + (block < groupExtra ? 1 : 0)
        let lower = base + u0 * unitBase + Swift.min(u0, unitExtra)
        let upper = base + u1 * unitBase + Swift.min(u1, unitExtra)
        if k == 1 { return lower..<upper }
        // Piece c of k near-equal pieces (the first `count % k` one element longer).
        let count = upper - lower
        let q = count / k, r = count - (count / k) * k
        let o = lower + c * q + Swift.min(c, r)
        return o..<(o + q + (c < r ? 1 : 0))
    }

    /// Step `i` (0 ..< stepCount); dependencies are offset by `base`, and the first step carries a
    /// fence when `fenceFirst` is set.
    @inlinable @inline(__always)
    func step(_ i: Int, base: Int, fenceFirst: Bool) -> Step {
        let pair = i >> 1
        let s: Int, c: Int
        if k == 1 { s = firstStep + pair; c = 0 } else { let q = pair / k; s = firstStep + q; c = pair - q * k }
        var deps = StepDependencies()
        if i == 0 && fenceFirst { deps.fence = true }
        // At most one dependency: it goes to the first slot.
        if i & 1 == 0 {
            let block = _wrap(member + shift - 1 - s)
            if s > firstStep { deps._d0 = Self._dependency(base + _index(s - 1, c, receive: true)) }
            let r = _chunk(block, c)
            return Step(kind: .send, peer: next, offset: r.lowerBound, count: r.count, chunk: c, dependencies: deps)
        } else {
            let block = _wrap(member + shift - 2 - s)
            if s >= n - 1 && s + 1 - n >= firstStep { deps._d0 = Self._dependency(base + _index(s + 1 - n, c, receive: false)) }
            let r = _chunk(block, c)
            return Step(kind: s < n - 1 ? .recvReduce : .recvCopy, peer: prev, offset: r.lowerBound, count: r.count, chunk: c, dependencies: deps)
        }
    }

    /// A step index as a dependency (``StepDependencies`` holds 32-bit indices).
    @inlinable @inline(__always)
    static func _dependency(_ index: Int) -> Int32 {
        precondition(index >= 0 && index <= Int(Int32.max), "StepDependencies: step index \(index) out of range")
        return Int32(truncatingIfNeeded: index)
    }
}

/// One stream of a tree program: the steps of one kind with one peer, chunk c at slot start + c.
@usableFromInline
struct _TreeStream: Sendable {
    var active = false
    var kind: StepKind = .send
    var peer = -1
    var start = 0
    var tree = 0
}

/// A double binary tree allreduce among `n` members over `range`: half the range reduced up and
/// broadcast down each tree of ``DoubleBinaryTree``, every half cut into `k` chunks.
///
/// Order of a member's steps. Every message (a chunk crossing one tree edge in one direction) has
/// a *slot*, the same at both ends, and a member issues its steps by slot, then tree (0, 1), then
/// stream: up-receive from child 0, up-receive from child 1, send to parent, receive from parent,
/// send to child 0, send to child 1. With the same key at both ends, the messages between any two
/// members are issued in the same order by sender and receiver, even when the two members are
/// neighbours in both trees. Slots (tree-0 ranks v, level h(v) = trailing zero bits):
///
///     up message v -> parent, chunk c:   c + 2 h(v) + (1 if v is its parent's larger child)
///     down message parent -> v, chunk c: c + L + depth(v),  L = 2 lg(2^ceil(lg n))
///
/// The two children of a node always differ in slot parity, so a parent reduces chunk c from one
/// child while the other child's chunk c-1 arrives: the two receives into the same chunk never
/// overlap (the later depends on the earlier), yet both links stay busy. A member sends chunk c
/// up once both children's chunk c arrived, receives chunk c back from its parent once its own
/// send of chunk c completed, and forwards it to its children once received.
///
/// The slots are also stages: the first step of each slot carries a fence, so a member starts
/// slot s once its messages of earlier slots completed. Every message depends only on messages
/// of earlier slots, so the fence costs no concurrency inside a slot, and it makes the run a
/// sequence of stages: with ports shared fairly the time is `sum over slots (alpha + L_s c beta)`,
/// L_s the most messages one port carries in slot s
/// (``AlphaBetaGamma/doubleBinaryTreeStages(ranks:bytes:chunks:)``).
@usableFromInline
struct _TreeProgram: Sendable {
    static let streamsPerTree = 6
    let n: Int
    let halves: BlockPartition
    let base: Int
    let k: Int
    let slots: Int
    var streams: InlineArray<12, _TreeStream>
    /// The active streams' indices, in order, and their number.
    var active: InlineArray<12, Int8>
    var activeCount = 0
    /// Start slots of the active streams, in order, and each stream's place among them.
    var starts: InlineArray<12, Int>
    var position: InlineArray<12, Int8>
    // Iteration state.
    var slot = 0
    var stream = 0
    var produced = 0
    /// The slot of the last step produced.
    var lastSlot = -1

    init(members n: Int, member: Int, map: _MemberMap, range: Range<Int>, elementSize: Int, chunkBytes: Int) {
        self.n = n
        base = range.lowerBound
        halves = BlockPartition(count: range.count, parts: 2)
        k = chunkCount(elements: halves.maxSize, elementSize: elementSize, chunkBytes: chunkBytes)
        streams = InlineArray(repeating: _TreeStream())
        active = InlineArray(repeating: 0)
        starts = InlineArray(repeating: 0)
        position = InlineArray(repeating: -1)
        var top = 1
        while top < n { top <<= 1 }
        let lag = 2 * top.trailingZeroBitCount
        var maxStart = 0
        if n >= 2 {
            for t in 0..<2 {
                let v = DoubleBinaryTree.virtualRank(of: member, inTree: t, ranks: n)
                let node = DoubleBinaryTree.tree0(ranks: n, rank: v)
                let depth = DoubleBinaryTree._depth(v, ranks: n)
                func sigma(_ x: Int, parent: Int) -> Int { 2 * DoubleBinaryTree._level(x, ranks: n) + (x > parent ? 1 : 0) }
                func rankOf(_ x: Int) -> Int { map.rank(DoubleBinaryTree.rank(playing: x, inTree: t, ranks: n)) }
                let b = t * Self.streamsPerTree
                for (j, child) in [node.child0, node.child1].enumerated() where child >= 0 {
                    streams[b + j] = _TreeStream(active: true, kind: .recvReduce, peer: rankOf(child), start: sigma(child, parent: v), tree: t)
                    streams[b + 4 + j] = _TreeStream(active: true, kind: .send, peer: rankOf(child), start: lag + depth + 1, tree: t)
                }
                if node.parent >= 0 {
                    streams[b + 2] = _TreeStream(active: true, kind: .send, peer: rankOf(node.parent), start: sigma(v, parent: node.parent), tree: t)
                    streams[b + 3] = _TreeStream(active: true, kind: .recvCopy, peer: rankOf(node.parent), start: lag + depth, tree: t)
                }
                for j in b..<(b + Self.streamsPerTree) where streams[j].active { maxStart = max(maxStart, streams[j].start) }
            }
        }
        slots = n >= 2 ? maxStart + k : 0
        for j in 0..<12 where streams[j].active {
            active[activeCount] = Int8(j)
            starts[activeCount] = streams[j].start
            position[j] = Int8(activeCount)
            activeCount += 1
        }
    }

    /// Index (among this member's steps) of stream `j`'s chunk `c`.
    @inline(__always)
    func _index(_ j: Int, _ c: Int) -> Int {
        let pj = Int(position[j])
        let s = starts[pj] + c
        var i = 0
        for a in 0..<activeCount {
            let before = s - starts[a]
            i += Swift.min(Swift.max(before, 0), k)
            if a < pj && before >= 0 && before < k { i += 1 }
        }
        return i
    }

    /// The next step, dependencies offset by `stepBase`; the first carries a fence if `fenceFirst`.
    @inline(__always)
    mutating func next(stepBase: Int, fenceFirst: Bool) -> Step? {
        while slot < slots {
            while stream < activeCount {
                let j = Int(active[stream])
                stream += 1
                let st = streams[j]
                let c = slot - st.start
                guard c >= 0, c < k else { continue }
                var deps = StepDependencies()
                // A fence opens every slot: the first step of the program (when asked) and the
                // first of each later slot wait for every earlier step of the rank.
                if produced == 0 ? fenceFirst : slot != lastSlot { deps.fence = true }
                lastSlot = slot
                produced += 1
                let b = st.tree * Self.streamsPerTree
                switch j - b {
                case 0, 1:  // receive from a child: after the other child's receive of the chunk, if earlier
                    let other = b + 1 - (j - b)
                    if streams[other].active && streams[other].start < st.start { deps.append(stepBase + _index(other, c)) }
                case 2:  // send to the parent: after both children's chunk arrived
                    for x in b..<(b + 2) where streams[x].active { deps.append(stepBase + _index(x, c)) }
                case 3:  // receive from the parent: after this chunk's send up completed
                    deps.append(stepBase + _index(b + 2, c))
                default:  // send to a child: after the chunk came down (or, at the root, was reduced)
                    if streams[b + 3].active {
                        deps.append(stepBase + _index(b + 3, c))
                    } else {
                        for x in b..<(b + 2) where streams[x].active { deps.append(stepBase + _index(x, c)) }
                    }
                }
                let half = halves.range(st.tree)
                let r = _piece(c, of: (base + half.lowerBound)..<(base + half.upperBound), pieces: k)
                return Step(kind: st.kind, peer: st.peer, offset: r.lowerBound, count: r.count, chunk: c, dependencies: deps)
            }
            stream = 0
            slot += 1
        }
        return nil
    }
}
