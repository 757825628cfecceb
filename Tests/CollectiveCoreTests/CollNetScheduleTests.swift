import Testing
@testable import CollectiveCore
import CollectiveKernels

@Suite("CollNet Direct: the GPUs of a node add each other's shards, the network's switches the node sums")
struct CollNetScheduleTests {
    static let shapes: [(Int, Int)] = [(2, 2), (3, 3), (8, 8), (4, 2), (6, 2), (8, 4), (9, 3), (12, 3), (16, 8), (4, 1), (20, 4), (13, 13)]

    func schedule(_ p: Int, _ g: Int, count: Int, chunkBytes: Int = 16, channels: Int = 3) throws -> NVLSSchedule {
        try NVLSSchedule(ScheduleParameters(rankCount: p, elementCount: count, elementSizeBytes: 4, chunkBytes: chunkBytes,
                                            ranksPerNode: g, channelCount: channels), inNode: .direct)
    }

    @Test("verified on every completion order: one node and several, counts around the shard count, several rounds",
          arguments: shapes)
    func verified(_ shape: (Int, Int)) throws {
        let (p, g) = shape
        let nodes = p / g
        for count in [0, 1, g - 1, g + 1, p + 1, 257] {
            for chunk in [4, 1 << 20] {
                let s = try schedule(p, g, count: count, chunkBytes: chunk)
                #expect(s.algorithm == .ncclCollNet)
                // The nodes' NVSwitch endpoints stay in the numbering, idle; one network reduction per GPU index.
                #expect(s.switchCount == (nodes == 1 ? 0 : nodes + g))
                #expect(!s.reducesInNodeSwitches)
                for k in 0..<(nodes > 1 ? nodes : 0) { #expect(s.steps(forRank: p + k).isEmpty) }
                try ScheduleVerifier().verify(s)
            }
        }
    }

    @Test("real data across 3 nodes of 4 and on one node of 8, every operator", arguments: ReductionOp.allCases, [(12, 4), (8, 8)])
    func realData(_ op: ReductionOp, _ shape: (Int, Int)) throws {
        let s = try NVLSSchedule(ScheduleParameters(rankCount: shape.0, elementCount: 1000, elementSizeBytes: 8, chunkBytes: 64,
                                                    ranksPerNode: shape.1, channelCount: 2), inNode: .direct)
        let result = try AllreduceCheck(dataType: .float64, op: op, seed: 5).run(s, executor: InProcessExecutor(threadCount: 2))
        #expect(result.wrong == 0)
    }

    @Test("a GPU sends 2(g-1)/g of the buffer to its node's GPUs, like a ring, and its own shards once each way to the network")
    func volume() throws {
        let (p, g, n) = (16, 8, 8 * 1000)
        let s = try schedule(p, g, count: n, chunkBytes: 1 << 20, channels: 1)
        let network = p + p / g
        for r in 0..<p {
            let steps = s.steps(forRank: r)
            let inNode = steps.filter { $0.peer < p }
            #expect(inNode.allSatisfy { $0.peer / g == r / g })
            #expect(inNode.filter { $0.kind == .send }.reduce(0) { $0 + $1.count } == 2 * (g - 1) * n / g)
            #expect(inNode.filter { $0.kind.isReceive }.reduce(0) { $0 + $1.count } == 2 * (g - 1) * n / g)
            let out = steps.filter { $0.peer >= p }
            #expect(out.allSatisfy { $0.peer == network + r % g })
            #expect(out.filter { $0.kind == .send }.reduce(0) { $0 + $1.count } == n / g)
        }
        // Rounds take turns in lanes, so a round waiting for the network holds back only its own.
        #expect(s.lanesPerChannel == min(NVLSSchedule.roundsInFlight, s.rounds))
    }

    @Test("an owner that forgets one GPU's copy is caught by the verifier")
    func verifierCatchesOwner() throws {
        let s = try schedule(4, 4, count: 40, chunkBytes: 1 << 20, channels: 1)
        try ScheduleVerifier().verify(s)
        // Rank 0's second receive-reduce (positions: 3 sends, then 3 receives) turned into a copy.
        let bad = AlteredSchedule(base: s, change: .kind(rank: 0, step: 4, to: .recvCopy))
        #expect(throws: ScheduleError.self) { try ScheduleVerifier().verify(bad) }
        // Without its dependencies a GPU could overwrite a shard before sending it, or add before the sum is in.
        let racy = AlteredSchedule(base: try schedule(8, 4, count: 40, chunkBytes: 1 << 20, channels: 1), change: .clearDependencies(rank: 1))
        #expect(throws: ScheduleError.self) { try ScheduleVerifier().verify(racy) }
    }

    @Test("CollNet Chain (the tree with the GPUs' own reduction) is refused with a one-line error")
    func chainRefused() throws {
        #expect(throws: ScheduleError.self) {
            try NVLSSchedule(ScheduleParameters(rankCount: 8, elementCount: 8, elementSizeBytes: 4, ranksPerNode: 4),
                             betweenNodes: .tree, inNode: .direct)
        }
        #expect(AllreduceAlgorithm.ncclCollNet.reducesInSwitches && AllreduceAlgorithm(name: "NCCL_CollNet") == .ncclCollNet)
    }
}
