import Testing
@testable import CollectiveCore

// The hierarchical step iterator and its ring program as they were before they were reorganised
// for speed (hot fields first, the inter-node tree boxed, no division per ring step): kept as the
// reference the current iterator must match step for step.
extension HierarchicalSchedule {
    struct ReferenceHierarchicalIterator: IteratorProtocol {
        let s: HierarchicalSchedule
        let node: Int
        let local: Int
        let intra: ReferenceRingProgram?
        let owned: Range<Int>
        /// 0: reduce-scatter, 1: inter-node, 2: allgather, 3: done.
        var phase = 0
        var i = 0
        var block = 0
        /// The inter-node program of the current block (one of the two).
        var interRing: ReferenceRingProgram?
        var interTree: _TreeProgram?
        var interIndex = 0
        var produced = 0
        var phaseStart = true

        init(schedule: HierarchicalSchedule, rank: Int) {
            s = schedule
            node = rank / schedule.ranksPerNode
            local = rank % schedule.ranksPerNode
            let m = schedule.nodeSize(node)
            owned = schedule.ownedBlocks(node: node, local: local)
            if schedule.elementCount == 0 || schedule.rankCount == 1 {
                intra = nil
                phase = 3
            } else {
                let layout = _Layout(base: 0, count: schedule.elementCount, units: schedule.ranksPerNode, parts: m)
                intra = ReferenceRingProgram(members: m, member: local, map: _MemberMap(stride: 1, local: node * schedule.ranksPerNode, lastMember: -1, lastLocal: 0),
                                     layout: layout, shift: 0, steps: 0..<(2 * (m - 1)),
                                     elementSize: schedule.elementSizeBytes, chunkBytes: schedule.chunkBytes)
            }
            block = owned.lowerBound
        }

        mutating func startInter(_ b: Int) {
            let nodes = s.nodeCount
            let last = nodes - 1
            let map = _MemberMap(stride: s.ranksPerNode, local: b, lastMember: last, lastLocal: s.owner(ofBlock: b, node: last))
            let range = s.blocks.range(b)
            interIndex = 0
            if s.interNodeAlgorithm == .tree {
                interTree = _TreeProgram(members: nodes, member: node, map: map, range: range, elementSize: s.elementSizeBytes, chunkBytes: s.chunkBytes)
            } else {
                interRing = ReferenceRingProgram(members: nodes, member: node, map: map, layout: _Layout(base: range.lowerBound, count: range.count, units: nodes, parts: nodes),
                                         shift: 1, steps: 0..<(2 * (nodes - 1)), elementSize: s.elementSizeBytes, chunkBytes: s.chunkBytes)
            }
        }

        mutating func next() -> Step? {
            while phase < 3 {
                let fence = phaseStart && produced > 0
                switch phase {
                case 0, 2:
                    let ring = intra!
                    // Reduce-scatter: ring steps 0 ..< m-1; allgather: m-1 ..< 2(m-1).
                    let half = ring.stepCount / 2
                    if i < half {
                        let index = phase == 0 ? i : half + i
                        var step = ring.step(index, base: produced - index, fenceFirst: false)
                        if phase == 2 {
                            // Allgather steps depend only on steps of the allgather itself.
                            var deps = StepDependencies()
                            for d in step.dependencies where d - (produced - index) >= half { deps.append(d) }
                            step.dependencies = deps
                        }
                        if fence && i == 0 { step.dependencies.fence = true }
                        i += 1
                        produced += 1
                        phaseStart = false
                        return step
                    }
                    phase += 1
                    i = 0
                    phaseStart = true
                default:
                    if s.nodeCount <= 1 || block >= owned.upperBound {
                        phase = 2
                        i = 0
                        if s.nodeCount > 1 { phaseStart = true }
                        continue
                    }
                    if interRing == nil && interTree == nil { startInter(block) }
                    let firstOfPhase = phaseStart
                    if let ring = interRing {
                        if interIndex < ring.stepCount {
                            var step = ring.step(interIndex, base: produced - interIndex, fenceFirst: false)
                            if firstOfPhase && fence { step.dependencies.fence = true }
                            interIndex += 1
                            produced += 1
                            phaseStart = false
                            return step
                        }
                    } else if let step = interTree!.next(stepBase: produced - interIndex, fenceFirst: firstOfPhase && fence) {
                        interIndex += 1
                        produced += 1
                        phaseStart = false
                        return step
                    }
                    interRing = nil
                    interTree = nil
                    block += 1
                }
            }
            return nil
        }
    }
}

/// The ring program as it was (divisions per step through `_Layout` and `_piece`).
struct ReferenceRingProgram: Sendable {
    let n: Int
    let member: Int
    let next: Int
    let prev: Int
    let layout: _Layout
    let shift: Int
    let firstStep: Int
    let lastStep: Int
    let k: Int

    init(members n: Int, member: Int, map: _MemberMap, layout: _Layout, shift: Int, steps: Range<Int>, elementSize: Int, chunkBytes: Int) {
        self.n = n
        self.member = member
        next = map.rank((member + 1) % n)
        prev = map.rank((member + n - 1) % n)
        self.layout = layout
        self.shift = shift
        firstStep = steps.lowerBound
        lastStep = steps.upperBound
        k = chunkCount(elements: layout.maxSize, elementSize: elementSize, chunkBytes: chunkBytes)
    }

    /// Steps of this member.
    var stepCount: Int { n <= 1 ? 0 : (lastStep - firstStep) * k * 2 }

    @inline(__always)
    func _index(_ s: Int, _ c: Int, receive: Bool) -> Int { ((s - firstStep) * k + c) * 2 + (receive ? 1 : 0) }

    /// Step `i` (0 ..< stepCount); dependencies are offset by `base`, and the first step carries a
    /// fence when `fenceFirst` is set.
    @inline(__always)
    func step(_ i: Int, base: Int, fenceFirst: Bool) -> Step {
        let pair = i >> 1
        let s = firstStep + pair / k
        let c = pair % k
        var deps = StepDependencies()
        if i == 0 && fenceFirst { deps.fence = true }
        if i & 1 == 0 {
            let block = ((member + shift - 1 - s) % n + 2 * n) % n
            if s - 1 >= firstStep { deps.append(base + _index(s - 1, c, receive: true)) }
            let r = _piece(c, of: layout.range(block), pieces: k)
            return Step(kind: .send, peer: next, offset: r.lowerBound, count: r.count, chunk: c, dependencies: deps)
        } else {
            let block = ((member + shift - 2 - s) % n + 2 * n) % n
            if s >= n - 1 && s + 1 - n >= firstStep { deps.append(base + _index(s + 1 - n, c, receive: false)) }
            let r = _piece(c, of: layout.range(block), pieces: k)
            return Step(kind: s < n - 1 ? .recvReduce : .recvCopy, peer: prev, offset: r.lowerBound, count: r.count, chunk: c, dependencies: deps)
        }
    }
}

@Suite("Hierarchical step iterator")
struct HierarchicalIteratorTests {
    @Test("produces exactly the steps of the reference iterator",
          arguments: [(1, 1), (2, 1), (8, 8), (10, 4), (12, 8), (13, 4), (24, 8), (27, 8), (64, 8)],
          [AllreduceAlgorithm.ring, .tree])
    func sameSteps(ranksAndNode: (Int, Int), inter: AllreduceAlgorithm) throws {
        let (p, g) = ranksAndNode
        for (count, chunk) in [(0, 64), (1, 64), (1000, 64), (4099, 256), (40_000, 1 << 21)] {
            let s = try HierarchicalSchedule(ScheduleParameters(rankCount: p, elementCount: count, elementSizeBytes: 4, chunkBytes: chunk,
                                                                ranksPerNode: g, interNodeAlgorithm: inter))
            for r in 0..<p {
                var a = s.makeSteps(forRank: r)
                var b = HierarchicalSchedule.ReferenceHierarchicalIterator(schedule: s, rank: r)
                var n = 0
                while true {
                    let x = a.next(), y = b.next()
                    #expect(x == y, "p=\(p) g=\(g) count=\(count) rank \(r) step \(n)")
                    if x == nil || y == nil || x != y { break }
                    n += 1
                }
            }
        }
    }

    @Test("the iterator is small: one ring program inline, the schedule shared, the inter-node tree boxed")
    func size() {
        #expect(MemoryLayout<HierarchicalSchedule.Iterator>.size <= 144)
        // With a rank's progress (counters, flags and the next step first), what producing a
        // ring step reads lies in the first 192 bytes, the part the event engine prefetches.
        let ringEnd = MemoryLayout<HierarchicalSchedule.Iterator>.offset(of: \.ring)! + MemoryLayout<_RingProgram>.size
        let stepsOffset = MemoryLayout<RankProgress<HierarchicalSchedule.Iterator>>.offset(of: \._steps)!
        #expect(stepsOffset + ringEnd <= 192)
        #expect(RankProgress<HierarchicalSchedule.Iterator>.hotBytes <= 192)
    }
}

/// The flat ring's step iterator as it was before it moved to a (ring step, chunk) cursor:
/// every step computed from its index, blocks and chunks from ``BlockPartition``.
struct ReferenceRingIterator: IteratorProtocol {
    let schedule: RingSchedule
    let rank: Int
    var index = 0

    mutating func next() -> Step? {
        guard index < schedule.stepsPerRank else { return nil }
        defer { index += 1 }
        let p = schedule.rankCount, k = schedule.chunksPerBlock
        let pair = index / 2, s = pair / k, c = pair % k
        func piece(_ block: Int) -> Range<Int> {
            let b = schedule.blocks.range(block)
            let r = BlockPartition(count: b.count, parts: k).range(c)
            return (b.lowerBound + r.lowerBound)..<(b.lowerBound + r.upperBound)
        }
        if index % 2 == 0 {
            let r = piece(((rank - s) % p + p) % p)
            var deps = StepDependencies()
            if s >= 1 { deps.append(((s - 1) * k + c) * 2 + 1) }
            return Step(kind: .send, peer: (rank + 1) % p, offset: r.lowerBound, count: r.count, chunk: c, dependencies: deps)
        } else {
            let r = piece(((rank - s - 1) % p + 2 * p) % p)
            var deps = StepDependencies()
            if s >= p - 1 { deps.append(((s + 1 - p) * k + c) * 2) }
            return Step(kind: s < p - 1 ? .recvReduce : .recvCopy, peer: (rank - 1 + p) % p, offset: r.lowerBound, count: r.count, chunk: c, dependencies: deps)
        }
    }
}

@Suite("Ring step iterator")
struct RingIteratorTests {
    @Test("produces exactly the steps of the reference iterator", arguments: [1, 2, 3, 5, 8, 13, 16])
    func sameSteps(p: Int) throws {
        for (count, chunk) in [(0, 64), (1, 64), (7, 4), (1000, 64), (4099, 256), (40_000, 1 << 21)] {
            let s = try RingSchedule(ScheduleParameters(rankCount: p, elementCount: count, elementSizeBytes: 4, chunkBytes: chunk))
            for r in 0..<p {
                var a = s.makeSteps(forRank: r)
                var b = ReferenceRingIterator(schedule: s, rank: r)
                var n = 0
                while true {
                    let x = a.next(), y = b.next()
                    #expect(x == y, "p=\(p) count=\(count) rank \(r) step \(n)")
                    if x == nil || y == nil || x != y { break }
                    n += 1
                }
                #expect(n == s.stepsPerRank)
            }
        }
    }
}
