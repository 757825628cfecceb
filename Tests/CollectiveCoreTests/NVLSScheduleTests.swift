import Testing
@testable import CollectiveCore
import CollectiveKernels

@Suite("NVLS: the NVSwitch reduces and multicasts")
struct NVLSScheduleTests {
    func schedule(ranks p: Int, count: Int, chunkBytes: Int = 64, channels: Int = 2) throws -> NVLSSchedule {
        try NVLSSchedule(ScheduleParameters(rankCount: p, elementCount: count, elementSizeBytes: 4, chunkBytes: chunkBytes,
                                            ranksPerNode: p, channelCount: channels))
    }

    @Test("a rank sends the buffer once to the switch plus its own shards, and receives its shards plus the buffer",
          arguments: [2, 3, 8, 13])
    func volume(_ p: Int) throws {
        let n = 1009
        let s = try schedule(ranks: p, count: n)
        #expect(s.switchCount == 1 && s.endpointCount == p + 1)
        var own = Array(repeating: 0, count: p)
        for c in 0..<s.channelCount { for j in 0..<s.rounds { for r in 0..<p { own[r] += s.shard(channel: c, round: j, r).count } } }
        #expect(own.reduce(0, +) == n)
        for r in 0..<p {
            let steps = s.steps(forRank: r)
            #expect(steps.allSatisfy { $0.peer == p }, "rank \(r) talks to the switch only")
            #expect(steps.filter { $0.kind == .send }.reduce(0) { $0 + $1.count } == n + own[r])
            #expect(steps.filter { $0.kind.isReceive }.reduce(0) { $0 + $1.count } == n + own[r])
        }
        // The switch receives every rank's buffer and the owners' stores, and sends the sums and the copies.
        let sw = s.steps(forRank: p)
        #expect(sw.filter { $0.kind == .recvReduce }.reduce(0) { $0 + $1.count } == (p - 1) * n)
        #expect(sw.filter { $0.kind == .send }.reduce(0) { $0 + $1.count } == n + p * n)
    }

    @Test("real data: every type and operator on 8 ranks, the switch reducing in its own buffer",
          arguments: DataType.allCases, ReductionOp.allCases)
    func realData(_ type: DataType, _ op: ReductionOp) throws {
        let s = try NVLSSchedule(ScheduleParameters(rankCount: 8, elementCount: 1031, elementSizeBytes: type.sizeInBytes, chunkBytes: 40,
                                                    ranksPerNode: 8, channelCount: 3))
        let result = try AllreduceCheck(dataType: type, op: op, seed: 7).run(s, executor: InProcessExecutor(threadCount: 2))
        #expect(result.wrong == 0)
    }

    @Test("one rank has nothing to do")
    func shapes() throws {
        let one = try schedule(ranks: 1, count: 10)
        #expect(one.switchCount == 0 && one.steps(forRank: 0).isEmpty)
    }

    @Test("one rank per process has no switch to play: Schedule.run refuses before the first step")
    func transportRefuses() throws {
        struct NoTransport: RankTransport {
            mutating func start(_ step: Step, index: Int) throws(ExecutionError) { Issue.record("started a step") }
            mutating func waitForCompletions(_ completed: inout [Int]) throws(ExecutionError) {}
        }
        var t = NoTransport()
        let s = try schedule(ranks: 4, count: 100)
        #expect(throws: ExecutionError.self) { try s.run(rank: 0, transport: &t) }
        #expect(AllreduceAlgorithm.ncclNVLS.reducesInSwitches && !AllreduceAlgorithm.ncclRing.reducesInSwitches)
    }

    @Test("the verifier tracks the switch's partial sums: a switch that forgets one rank is caught")
    func verifierCatchesSwitch() throws {
        let s = try schedule(ranks: 4, count: 40, chunkBytes: 1 << 20, channels: 1)
        try ScheduleVerifier().verify(s)
        // Turn the switch's receive-reduce from rank 3 into a copy: rank 3's contribution to shard 0 is lost.
        let bad = AlteredSchedule(base: s, change: .kind(rank: 4, step: 3, to: .recvCopy))
        #expect(throws: ScheduleError.self) { try ScheduleVerifier().verify(bad) }
    }
}

@Suite("NVLS across nodes: NVSwitches inside; the network's switches (SHARP) or a tree of the nodes between")
struct NVLSAcrossNodesTests {
    static let shapes: [(Int, Int)] = [(4, 2), (6, 2), (8, 4), (9, 3), (12, 3), (16, 8), (4, 1), (20, 4)]

    @Test("verified on every completion order, counts around the shard count, several rounds",
          arguments: shapes, [NVLSSchedule.BetweenNodes.networkReduction, .tree])
    func verified(_ shape: (Int, Int), _ between: NVLSSchedule.BetweenNodes) throws {
        let (p, g) = shape
        for count in [0, 1, g - 1, g + 1, p + 1, 257] {
            for chunk in [4, 1 << 20] {
                let s = try NVLSSchedule(ScheduleParameters(rankCount: p, elementCount: count, elementSizeBytes: 4, chunkBytes: chunk,
                                                            ranksPerNode: g, channelCount: 3), betweenNodes: between)
                #expect(s.switchCount == (p / g) + (between == .tree ? 0 : g))
                #expect(s.algorithm == (between == .tree ? .ncclNVLSTree : .ncclNVLS))
                try ScheduleVerifier().verify(s)
            }
        }
    }

    @Test("real data across 3 nodes of 4, every operator, both ways between nodes",
          arguments: ReductionOp.allCases, [NVLSSchedule.BetweenNodes.networkReduction, .tree])
    func realData(_ op: ReductionOp, _ between: NVLSSchedule.BetweenNodes) throws {
        let s = try NVLSSchedule(ScheduleParameters(rankCount: 12, elementCount: 1000, elementSizeBytes: 8, chunkBytes: 64,
                                                    ranksPerNode: 4, channelCount: 2), betweenNodes: between)
        let result = try AllreduceCheck(dataType: .float64, op: op, seed: 3).run(s, executor: InProcessExecutor(threadCount: 2))
        #expect(result.wrong == 0)
    }

    @Test("the tree: GPU i talks only to GPU i of its parent and children nodes, and a channel's rounds take turns in 8 lanes (NCCL_STEPS)")
    func tree() throws {
        let (p, g) = (32, 8)
        let s = try NVLSSchedule(ScheduleParameters(rankCount: p, elementCount: 100_000, elementSizeBytes: 4, chunkBytes: 256,
                                                    ranksPerNode: g, channelCount: 2), betweenNodes: .tree)
        #expect(s.lanesPerChannel == 8 && s.laneCount == 16)
        for r in 0..<p {
            for step in s.steps(forRank: r) where step.peer < p && step.peer / g != r / g {
                #expect(step.peer % g == r % g)
            }
        }
        // Lanes of a channel split its rounds.
        #expect((0..<8).map { s.roundsOfLane($0) }.reduce(0, +) == s.rounds)
    }

    @Test("a GPU sends a round's shards to its switch one after another, as NCCL's scatter writes one peer after another")
    func orderedScatter() throws {
        let (p, g) = (16, 8)
        for between in [NVLSSchedule.BetweenNodes.tree, .networkReduction] {
            let s = try NVLSSchedule(ScheduleParameters(rankCount: p, elementCount: 100_000, elementSizeBytes: 4, chunkBytes: 256,
                                                        ranksPerNode: g, channelCount: 2), betweenNodes: between)
            for r in [0, 5, 11] {
                let steps = Array(s.steps(forRank: r).prefix(g))
                #expect(steps.allSatisfy { $0.kind == .send && $0.peer == p + r / g })
                #expect(Array(steps[0].dependencies).isEmpty)
                for q in 1..<g { #expect(Array(steps[q].dependencies) == [q - 1]) }
            }
        }
    }

    @Test("a GPU's NIC carries its own shards once each way; partial nodes are refused")
    func volume() throws {
        let (p, g, n) = (8, 4, 400)
        let s = try NVLSSchedule(ScheduleParameters(rankCount: p, elementCount: n, elementSizeBytes: 4, chunkBytes: 16, ranksPerNode: g))
        for r in 0..<p {
            let toNetwork = s.steps(forRank: r).filter { $0.peer >= p + p / g }
            #expect(toNetwork.allSatisfy { $0.peer == p + p / g + r % g })
            #expect(toNetwork.filter { $0.kind == .send }.reduce(0) { $0 + $1.count } == n / g)
        }
        #expect(throws: ScheduleError.self) {
            try NVLSSchedule(ScheduleParameters(rankCount: 10, elementCount: 10, elementSizeBytes: 4, ranksPerNode: 4))
        }
    }
}
