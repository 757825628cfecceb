import Testing
@testable import CollectiveCore

@Suite("NCCL's channelized schedules")
struct ChannelScheduleTests {
    /// Shapes (ranks, GPUs per node) with one node, several nodes, odd node counts and ranks that
    /// do not fill whole nodes.
    static let shapes: [(Int, Int)] = [(8, 8), (16, 8), (24, 8), (32, 8), (12, 4), (9, 3), (10, 4), (7, 1), (2, 2), (4, 2)]

    @Test("ring orders: position and rank are inverses, every rank once")
    func orderInverse() {
        for (p, g) in Self.shapes {
            for c in 0..<(2 * g + 1) {
                let o = RailRingOrder(ranks: p, ranksPerNode: g, channel: c)
                var seen = Set<Int>()
                for pos in 0..<p {
                    let r = o.rank(at: pos)
                    #expect(r >= 0 && r < p)
                    #expect(o.position(of: r) == pos)
                    seen.insert(r)
                }
                #expect(seen.count == p)
                for r in 0..<p { #expect(o.previous(of: o.next(of: r)) == r) }
            }
        }
    }

    @Test("ring orders on whole nodes: NVLink hops go GPU a to a+1, node hops stay on one rail, every NIC carries one channel of g")
    func railAligned() {
        for (p, g) in Self.shapes where p % g == 0 && p / g > 1 && g > 1 {
            let nodes = p / g
            var txPerGPU = Array(repeating: 0, count: p)
            var rxPerGPU = Array(repeating: 0, count: p)
            for c in 0..<g {
                let o = RailRingOrder(ranks: p, ranksPerNode: g, channel: c)
                for pos in 0..<p {
                    let a = o.rank(at: pos), b = o.rank(at: (pos + 1) % p)
                    if a / g == b / g {
                        #expect(b % g == (a % g + 1) % g, "channel \(c): \(a) -> \(b) is not the node's cycle")
                    } else {
                        txPerGPU[a] += 1
                        rxPerGPU[b] += 1
                        // The wrap from the last node to node 0 keeps the rail when g divides the node count.
                        let wraps = b / g == 0 && a / g == nodes - 1
                        if !wraps || nodes % g == 0 { #expect(a % g == b % g, "channel \(c): \(a) -> \(b) changes rail") }
                    }
                }
            }
            // Over g channels every GPU sends into the network once and receives once.
            #expect(txPerGPU.allSatisfy { $0 == 1 })
            #expect(rxPerGPU.allSatisfy { $0 == 1 })
        }
    }

    @Test("the channelized ring sends 2(p-1)/p of the buffer from every rank, split over the channels",
          arguments: [(8, 8, 1), (16, 8, 16), (12, 4, 5), (5, 1, 3)])
    func ringVolume(_ shape: (Int, Int, Int)) throws {
        let (p, g, channels) = shape
        let n = p * channels * 60
        let s = try ChannelRingSchedule(ScheduleParameters(rankCount: p, elementCount: n, elementSizeBytes: 4, chunkBytes: 64,
                                                           ranksPerNode: g, channelCount: channels))
        for r in 0..<p {
            let sent = s.steps(forRank: r).filter { $0.kind == .send }.reduce(0) { $0 + $1.count }
            #expect(sent == 2 * (p - 1) * n / p)
        }
    }

    @Test("every channel of the tree is a tree: one root, parents and children agree, heads talk between nodes")
    func treeRoles() throws {
        for (p, g) in Self.shapes {
            let s = try ChannelTreeSchedule(ScheduleParameters(rankCount: p, elementCount: 1000, elementSizeBytes: 4, ranksPerNode: g, channelCount: 4))
            for c in 0..<4 {
                var roots = 0
                for r in 0..<p {
                    let role = s.role(rank: r, channel: c)
                    if role.parent < 0 { roots += 1 } else { #expect(s.role(rank: role.parent, channel: c).children.contains(r)) }
                    #expect(role.children.count <= 3)
                    for child in role.children {
                        #expect(s.role(rank: child, channel: c).parent == r)
                        // Between nodes only the channel's head GPUs talk.
                        if child / s.ranksPerNode != r / s.ranksPerNode {
                            #expect(r % s.ranksPerNode == (c / 2) % s.ranksPerNode)
                        }
                    }
                }
                #expect(roots == 1)
            }
        }
    }

    @Test("lanes: each channel's own steps, in the order the interleaved program issues them", arguments: [AllreduceAlgorithm.ncclRing, .ncclTree])
    func lanesMatchInterleaving(_ a: AllreduceAlgorithm) throws {
        let params = ScheduleParameters(rankCount: 12, elementCount: 3001, elementSizeBytes: 4, chunkBytes: 256, ranksPerNode: 4, channelCount: 3)
        let schedule = try a.makeSchedule(params)
        let laned = try #require(schedule as? any LanedSchedule)
        for rank in [0, 5, 11] {
            let all = schedule.steps(forRank: rank)
            var lanes: [[Step]] = []
            for l in 0..<laned.laneCount {
                var it = laned.makeSteps(forRank: rank, lane: l) as any IteratorProtocol<Step>
                var steps: [Step] = []
                while let s = it.next() { steps.append(s) }
                lanes.append(steps)
            }
            #expect(lanes.reduce(0) { $0 + $1.count } == all.count)
            // Each lane's steps (without dependencies, which index the lane) appear in the
            // interleaved program in the same order.
            for lane in lanes {
                var i = 0
                for s in all where i < lane.count {
                    let l = lane[i]
                    if s.kind == l.kind && s.peer == l.peer && s.offset == l.offset && s.count == l.count && s.chunk == l.chunk { i += 1 }
                }
                #expect(i == lane.count)
            }
        }
    }

    @Test("channels out of range are refused")
    func badChannels() {
        #expect(throws: ScheduleError.self) {
            try AllreduceAlgorithm.ncclRing.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 8, elementSizeBytes: 4, channelCount: 0))
        }
        #expect(throws: ScheduleError.self) {
            try AllreduceAlgorithm.ncclTree.makeSchedule(ScheduleParameters(rankCount: 4, elementCount: 8, elementSizeBytes: 4, channelCount: 65))
        }
    }
}
