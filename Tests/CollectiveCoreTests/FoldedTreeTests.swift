import Testing
@testable import CollectiveCore

/// A cluster node's place in NCCL's double binary tree over 2^k nodes: the tree it forwards in and
/// its depth there (found by walking to the root).
private func place(of node: Int, nodes: Int) -> (tree: Int, depth: Int) {
    for t in 0..<2 where DoubleBinaryTree.node(tree: t, ranks: nodes, rank: node).childCount > 0 {
        var depth = 0, x = node
        while true {
            let p = DoubleBinaryTree.node(tree: t, ranks: nodes, rank: x).parent
            if p < 0 { break }
            depth += 1
            x = p
        }
        return (t, depth)
    }
    preconditionFailure("node \(node) forwards in no tree")
}

@Suite("FoldedTree: one played node per place in NCCL's double binary tree")
struct FoldedTreeTests {
    @Test("only powers of two of at least 8 nodes fold, into 2 log2(N) played nodes")
    func shapes() {
        #expect(FoldedTree(nodes: 4) == nil)
        #expect(FoldedTree(nodes: 12) == nil)
        #expect(FoldedTree(nodes: 0) == nil)
        #expect(FoldedTree(nodes: 8)?.playedNodeCount == 6)
        #expect(FoldedTree(nodes: 2048)?.playedNodeCount == 22)
        // The wire sits in the byte after the kind: a step stays 64 bytes, one cache line.
        #expect(MemoryLayout<Step>.size == 64)
    }

    @Test("the places are the trees': weights count their nodes, representatives hold them, neighbours' places are the folded ones",
          arguments: [8, 16, 64, 256, 1024])
    func placesMatchTheTrees(nodes: Int) throws {
        let fold = try #require(FoldedTree(nodes: nodes))
        let k = fold.depth
        var members = [Int](repeating: 0, count: fold.playedNodeCount)
        var secondChildDepths: [Int: Int] = [:]
        for r in 0..<nodes {
            let (a, d) = place(of: r, nodes: nodes)
            let f = fold.node(tree: a, depth: d)
            members[f] += 1
            let mine = DoubleBinaryTree.node(tree: a, ranks: nodes, rank: r)
            if d > 0 { #expect(fold.node(tree: a, depth: d - 1) == { let p = place(of: mine.parent, nodes: nodes); return fold.node(tree: p.tree, depth: p.depth) }()) }
            let kids = [mine.child0, mine.child1].filter { $0 >= 0 }
            #expect(kids.count == (d == 0 ? 1 : 2))
            let kidPlaces = kids.map { place(of: $0, nodes: nodes) }
            if d < k - 1 {
                #expect(kidPlaces.allSatisfy { $0.tree == a && $0.depth == d + 1 })
            } else {
                // Leaves of tree a: forwarders of the other tree at depth k-1 and one shallower.
                #expect(kidPlaces.allSatisfy { $0.tree == 1 - a })
                #expect(kidPlaces.map(\.depth).sorted().last == k - 1)
                secondChildDepths[kidPlaces.map(\.depth).sorted()[0], default: 0] += 1
            }
            // In the other tree it is a leaf under a depth k-1 node.
            let leaf = DoubleBinaryTree.node(tree: 1 - a, ranks: nodes, rank: r)
            #expect(leaf.childCount == 0)
            let up = place(of: leaf.parent, nodes: nodes)
            #expect(up.tree == 1 - a && up.depth == k - 1)
        }
        for f in 0..<fold.playedNodeCount {
            #expect(members[f] == fold.weight(of: f))
            let p = place(of: fold.representative(of: f), nodes: nodes)
            #expect(fold.node(tree: p.tree, depth: p.depth) == f)
        }
        // The played second child of a depth k-1 node is the most common one: depth k-2 (half of
        // them from 16 nodes on; at 8, one of two).
        #expect(secondChildDepths[k - 2] == secondChildDepths.values.max())
    }

    @Test("every send between played nodes has its receive, in the same order, in each tree", arguments: [8, 32, 2048])
    func exchangesMatch(nodes: Int) throws {
        let fold = try #require(FoldedTree(nodes: nodes))
        for tree in 0..<2 {
            var sends: [[Int]: [StepWire]] = [:], receives: [[Int]: Int] = [:]
            for f in 0..<fold.playedNodeCount {
                for i in 0..<fold.counts(node: f, tree: tree).total {
                    let e = fold.exchange(node: f, tree: tree, i)
                    #expect(e.peer != f && e.peer >= 0 && e.peer < fold.playedNodeCount)
                    if e.kind == .send { sends[[f, e.peer], default: []].append(e.wire) } else { receives[[e.peer, f], default: 0] += 1 }
                }
            }
            #expect(sends.mapValues(\.count) == receives)
            // A pair's sends: the whole path at most twice and first, then one side.
            for (_, wires) in sends {
                let side = wires.firstIndex { $0 != .full } ?? wires.count
                #expect(wires[side...].allSatisfy { $0 != .full })
            }
        }
    }

    @Test("a folded NVLS tree needs its played nodes' ranks")
    func foldedScheduleRanks() throws {
        let fold = try #require(FoldedTree(nodes: 16))
        let wrong = ScheduleParameters(rankCount: 16 * 8, elementCount: 1 << 20, elementSizeBytes: 4, chunkBytes: 65536, ranksPerNode: 8)
        #expect(throws: ScheduleError.self) { try NVLSSchedule(wrong, fold: fold) }
        var right = wrong
        right.rankCount = fold.playedNodeCount * 8
        let s = try NVLSSchedule(right, fold: fold)
        #expect(s.nodeCount == fold.playedNodeCount && s.fold == fold)
    }
}
