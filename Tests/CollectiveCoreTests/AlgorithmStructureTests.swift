import Testing
@testable import CollectiveCore

@Suite("Double binary tree")
struct DoubleBinaryTreeTests {
    @Test("tree 0 for 14 ranks is NCCL's documented tree")
    func ncclExample() {
        // NCCL src/graph/trees.cc: 0 -> 8; 8 -> 4, 12; 4 -> 2, 6; 12 -> 10, 13; 2 -> 1, 3; ...
        let expected: [Int: (Int, Int, Int)] = [
            0: (-1, -1, 8), 8: (0, 4, 12), 4: (8, 2, 6), 12: (8, 10, 13), 2: (4, 1, 3), 6: (4, 5, 7),
            10: (12, 9, 11), 13: (12, -1, -1), 1: (2, -1, -1), 11: (10, -1, -1),
        ]
        for (r, e) in expected {
            let n = DoubleBinaryTree.tree0(ranks: 14, rank: r)
            #expect(n == TreeNode(parent: e.0, child0: e.1, child1: e.2), "rank \(r)")
        }
        // Tree 1 mirrors it: rank 13 is the root, 5 its child.
        #expect(DoubleBinaryTree.root(tree: 1, ranks: 14) == 13)
        #expect(DoubleBinaryTree.node(tree: 1, ranks: 14, rank: 5).parent == 13)
        // For odd p tree 1 is shifted: the 13-rank example has root 1 and 9 below it.
        #expect(DoubleBinaryTree.root(tree: 1, ranks: 13) == 1)
        #expect(DoubleBinaryTree.node(tree: 1, ranks: 13, rank: 9).parent == 1)
        #expect(DoubleBinaryTree.node(tree: 1, ranks: 13, rank: 0).parent == 9)
    }

    @Test("both trees are spanning binary trees with consistent links", arguments: Array(1...70) + [255, 256, 1000])
    func spanning(ranks: Int) {
        for t in 0..<2 {
            var reached = Set<Int>()
            var stack = [DoubleBinaryTree.root(tree: t, ranks: ranks)]
            while let r = stack.popLast() {
                #expect(reached.insert(r).inserted, "rank \(r) reached twice in tree \(t)")
                let node = DoubleBinaryTree.node(tree: t, ranks: ranks, rank: r)
                for c in [node.child0, node.child1] where c >= 0 {
                    #expect(DoubleBinaryTree.node(tree: t, ranks: ranks, rank: c).parent == r)
                    stack.append(c)
                }
            }
            #expect(reached.count == ranks)
        }
    }

    @Test("every rank has children in at most one tree (rank 0 excepted for odd p)", arguments: Array(2...70) + [1000, 1001])
    func interiorOnce(ranks: Int) {
        for r in 0..<ranks {
            let a = DoubleBinaryTree.node(tree: 0, ranks: ranks, rank: r).childCount
            let b = DoubleBinaryTree.node(tree: 1, ranks: ranks, rank: r).childCount
            if ranks % 2 == 1 && r == 0 { continue }
            #expect(a == 0 || b == 0, "rank \(r) of \(ranks) has children in both trees")
        }
    }
}

@Suite("Cost structure of the schedules")
struct CostStructureTests {
    func perRank(_ s: some Schedule) -> [(messages: Int, sent: Int, reduced: Int)] {
        (0..<s.rankCount).map { r in
            let steps = s.steps(forRank: r)
            return (steps.filter { $0.kind == .send }.count,
                    steps.filter { $0.kind == .send }.reduce(0) { $0 + $1.count },
                    steps.filter { $0.kind == .recvReduce }.reduce(0) { $0 + $1.count })
        }
    }

    @Test("rabenseifner: 2 lg q messages per core rank, +2 for folding ranks; 2(q-1)/q n sent by core ranks",
          arguments: [2, 3, 4, 5, 6, 7, 8, 12, 16, 17, 31, 32])
    func rabenseifner(ranks: Int) throws {
        let n = 4096
        let s = try RabenseifnerSchedule(ScheduleParameters(rankCount: ranks, elementCount: n, elementSizeBytes: 4, chunkBytes: 1 << 30))
        let q = s.fold.coreCount, lgq = q.trailingZeroBitCount, extra = ranks - q
        for (r, c) in perRank(s).enumerated() {
            let folds = r < 2 * extra
            let core = s.fold.virtualRank(of: r) != nil
            if !core {
                #expect(c.messages == 1 && c.sent == n)  // the fold's full-buffer send; the unfold is a receive
            } else {
                #expect(c.messages == 2 * lgq + (folds ? 1 : 0))
                #expect(c.sent == 2 * (q - 1) * n / q + (folds ? n : 0))
                #expect(c.reduced == (q - 1) * n / q + (folds ? n : 0))
            }
        }
    }

    @Test("recursive doubling: n sent per round, lg q rounds", arguments: [2, 3, 4, 8, 13, 16])
    func recursiveDoubling(ranks: Int) throws {
        let n = 4096
        let s = try RecursiveDoublingSchedule(ScheduleParameters(rankCount: ranks, elementCount: n, elementSizeBytes: 4, chunkBytes: 1 << 30))
        let lgq = s.fold.coreCount.trailingZeroBitCount
        for (r, c) in perRank(s).enumerated() where s.fold.virtualRank(of: r) != nil {
            let folds = s.fold.foldPartner(of: r) != nil
            #expect(c.sent == lgq * n + (folds ? n : 0))
        }
    }

    @Test("tree: every rank sends at most 2n, and the roots' children carry each half up once", arguments: [2, 3, 7, 8, 14, 33])
    func tree(ranks: Int) throws {
        let n = 1000
        let s = try TreeSchedule(ScheduleParameters(rankCount: ranks, elementCount: n, elementSizeBytes: 4, chunkBytes: 64))
        for c in perRank(s) { #expect(c.sent <= 2 * n) }
        let total = perRank(s).reduce(0) { $0 + $1.reduced }
        // Each half is reduced once per non-root rank of its tree: (p-1) n in all.
        #expect(total == (ranks - 1) * n)
    }

    @Test("step iterators hold no per-step storage: producing steps does not grow the iterator")
    func iteratorSize() {
        #expect(MemoryLayout<TreeSchedule.Iterator>.size < 1024)
        #expect(MemoryLayout<RabenseifnerSchedule.Iterator>.size < 512)
        #expect(MemoryLayout<RecursiveDoublingSchedule.Iterator>.size < 512)
        #expect(MemoryLayout<HierarchicalSchedule.Iterator>.size < 2048)
    }
}

@Suite("Schedules at scale")
struct ScaleTests {
    @Test("100,000 ranks: any rank's steps come on demand, well formed", arguments: AlgorithmCase.all)
    func hundredThousandRanks(_ c: AlgorithmCase) throws {
        let p = 100_000, n = 1_000_003
        // One channel of the channelized ring (every channel is the same ring, rotated).
        var c = c
        if c.algorithm == .ncclRing { c.channels = 1 }
        let schedule = try c.algorithm.makeSchedule(c.parameters(ranks: p, count: n, chunkBytes: 1 << 21))
        for rank in [0, 1, 77_777, p - 1] {
            var it = schedule.makeSteps(forRank: rank)
            var index = 0
            var sent = 0
            while let step = it.next() {
                #expect(step.peer >= 0 && step.peer < schedule.endpointCount && step.peer != rank)
                #expect(step.offset >= 0 && step.count >= 0 && step.offset + step.count <= n)
                for d in step.dependencies { #expect(d < index) }
                if step.kind == .send { sent += step.count }
                index += 1
            }
            #expect(index > 0)
            #expect(sent >= n / p)  // every rank sends at least its share
        }
    }
}
