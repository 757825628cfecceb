import Testing
@testable import CollectiveFabric
@testable import CollectiveSim

/// The event engine on a CPU node (``NodeMemorySpec``): transfers share the node's memory link,
/// and a reduction follows its data instead of streaming with it, on its rank's core.
@Suite("CPU node memory in the event engine")
struct CPUMemoryEngineTests {
    /// Ranks playing the steps listed for each (one list per rank).
    struct Listed: Schedule {
        var elementCount: Int
        var steps: [[Step]]
        var algorithm: AllreduceAlgorithm { .ring }
        var rankCount: Int { steps.count }
        func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> { steps[rank].makeIterator() }
    }

    /// One node of `ranks` CPU ranks (1000 GB/s links without latency) with `memory`.
    static func node(ranks: Int = 2, memory: NodeMemorySpec?) throws -> FabricMap {
        let node = NodeSpec(gpuName: "CPU rank", gpuCount: ranks, nvlink: nil, pcie: LinkSpec(bandwidthGBps: 1000, latencyMicroseconds: 0), nic: nil,
                            nicCount: 0, reduceGBps: 5, stepOverheadMicroseconds: 0, memory: memory)
        return try FabricMap(Topology(name: "cpu", summary: "", nodeCount: 1, node: node,
                                      network: NetworkSpec(leafPorts: 1, oversubscription: 1, railOptimized: false, switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0)))
    }

    @Test("two ranks, one chunk: the ring's four transfers share the memory, each rank reduces its half on its core: 2S/transfer + S/reduce")
    func ringOnOneMemory() throws {
        let bytes = 8 << 20
        let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2)
        let cpu = try Simulator(fabric: Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5)), model: .event)
        let t = try cpu.time(.ring, parameters: parameters).timeSeconds
        let expected = 2 * Double(bytes) / 10e9 + Double(bytes) / 5e9
        #expect(abs(t / expected - 1) < 1e-9, "\(t) vs \(expected)")
        // Without the memory, each direction has its own link and the reduction streams with
        // its data at 5 GB/s: S/(2 x 5 GB/s) per half, plus the all-gather at 1000 GB/s.
        let gpu = try Simulator(fabric: Self.node(memory: nil), model: .event)
        let free = try gpu.time(.ring, parameters: parameters).timeSeconds
        #expect(abs(free / (Double(bytes) / 2 / 5e9 + Double(bytes) / 2 / 1000e9) - 1) < 1e-9)
        #expect(t > 3 * free)
    }

    @Test("messages in the cache regime move and reduce at the cache's rates; larger ones do not")
    func cacheRegime() throws {
        let cache = NodeMemorySpec.Regime(bytes: 1 << 20, transferGBps: 40, reduceGBps: 20)
        let small = NodeMemorySpec.Regime(bytes: 256 << 10, transferGBps: 80, reduceGBps: 40)
        let cpu = try Simulator(fabric: Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5, cache: [small, cache])), model: .event)
        // Messages of 128 KiB, 1 MiB and 4 MiB: the first entry of at least their size, or none.
        for (bytes, transfer, reduce) in [(256 << 10, 80e9, 40e9), (2 << 20, 40e9, 20e9), (8 << 20, 10e9, 5e9)] {
            let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2)
            let t = try cpu.time(.ring, parameters: parameters).timeSeconds
            let expected = 2 * Double(bytes) / transfer + Double(bytes) / reduce
            #expect(abs(t / expected - 1) < 1e-9, "\(bytes): \(t) vs \(expected)")
        }
        // Once the collective's working set (its input and output) reaches a working-set regime
        // its messages are no longer in the cache: the same 1 MiB messages take the working
        // set's rates, beyond the caches.
        let dram = NodeMemorySpec.Regime(bytes: 2 << 20, transferGBps: 4, reduceGBps: 2)
        let both = try Simulator(fabric: Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5, cache: [small, cache], workingSets: [dram])), model: .event)
        let bytes = 2 << 20
        let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2)
        let t = try both.time(.ring, parameters: parameters).timeSeconds
        #expect(abs(t / Self.ringBeyondCaches(bytes: bytes, transferGBps: 4, reduceGBps: 2) - 1) < 1e-9, "\(t)")
    }

    /// A two-rank ring of one chunk per block beyond the caches, on a memory of these rates: the
    /// first transfer of the reduce-scatter takes the memory for S/2T, then its reduction (taken
    /// when the transfer is issued) its S/2R turn; the second transfer follows, then its
    /// reduction's turn, from which the second rank's core reduces for S/R (its share of the
    /// node's rate); the all-gather's two transfers follow in turn: 2S/T + 1.5 S/R, where
    /// reductions that left the memory to the transfers would give 2S/T + S/R.
    static func ringBeyondCaches(bytes: Int, transferGBps: Double, reduceGBps: Double) -> Double {
        2 * Double(bytes) / (transferGBps * 1e9) + 1.5 * Double(bytes) / (reduceGBps * 1e9)
    }

    @Test("on a CPU node NCCL's schedules play each rank's program in order, channels interleaved, as the MPI runner issues it; on GPUs the channels run apart")
    func channelsInOrderOnCPUs() throws {
        let bytes = 8 << 20
        for algorithm in [AllreduceAlgorithm.ncclRing, .ncclTree] {
            let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: 1 << 20, ranksPerNode: 2,
                                                channelCount: 2)
            let schedule = try algorithm.makeSchedule(parameters)
            let cpu = try Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5))
            let gpu = try Self.node(memory: nil)
            #expect(!cpu.channelsRunApart && gpu.channelsRunApart)
            let onCPU = try Simulator(fabric: cpu, model: .event).time(algorithm, parameters: parameters).timeSeconds
            let inOrder = try EventEngine(fabric: cpu)._runOpened(schedule, elementSizeBytes: 4).timeSeconds
            #expect(onCPU == inOrder, "\(algorithm): \(onCPU) played, \(inOrder) in order")
            let onGPU = try Simulator(fabric: gpu, model: .event).time(algorithm, parameters: parameters).timeSeconds
            let apart = if let ring = schedule as? ChannelRingSchedule {
                try EventEngine(fabric: gpu).run(lanes: ring, elementSizeBytes: 4).timeSeconds
            } else {
                try EventEngine(fabric: gpu).run(lanes: try #require(schedule as? ChannelTreeSchedule), elementSizeBytes: 4).timeSeconds
            }
            #expect(onGPU == apart, "\(algorithm): \(onGPU) played, \(apart) apart")
        }
        // Where it matters: a channel's reduction holds up the other channel's steps issued
        // after it. With lanes the CPU ring would be faster than the program the runner issues.
        let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: 1 << 20, ranksPerNode: 2,
                                            channelCount: 2)
        let ring = try ChannelRingSchedule(parameters)
        let cpu = try Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5))
        let inOrder = try EventEngine(fabric: cpu).run(ring, elementSizeBytes: 4).timeSeconds
        let apart = try EventEngine(fabric: cpu).run(lanes: ring, elementSizeBytes: 4).timeSeconds
        #expect(inOrder > apart * 1.01, "in order \(inOrder), apart \(apart)")
    }

    /// Records when each transfer completes, in order.
    final class Completions: EngineObserver, @unchecked Sendable {
        var seconds: [Double] = []
        func transferStarted(_ transfer: ObservedTransfer) {}
        func transferCompleting(slot: Int, atSeconds seconds: Double) { self.seconds.append(seconds) }
    }

    @Test("on a CPU node two messages in flight between one pair progress together: both end when the pair has moved both; on GPUs one after the other")
    func pairInterleaves() throws {
        let bytes = 1 << 20, count = bytes / 4
        // Rank 0 sends two messages to rank 1 at once; rank 1 receives both (copies).
        let two = Listed(elementCount: 2 * count, steps: [
            [Step(kind: .send, peer: 1, offset: 0, count: count), Step(kind: .send, peer: 1, offset: count, count: count)],
            [Step(kind: .recvCopy, peer: 0, offset: 0, count: count), Step(kind: .recvCopy, peer: 0, offset: count, count: count)],
        ])
        let s = Double(bytes) / 10e9
        let cpu = try Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5))
        #expect(!cpu.channelsRunApart)
        var engine = EventEngine(fabric: cpu)
        let watched = Completions()
        engine.observer = watched
        let t = try engine.run(two, elementSizeBytes: 4).timeSeconds
        // Each message alone takes s at the memory's 10 GB/s: together they take 2s, and the
        // first no longer ends at s.
        #expect(watched.seconds.count == 2)
        #expect(watched.seconds.allSatisfy { abs($0 / (2 * s) - 1) < 1e-9 }, "\(watched.seconds)")
        #expect(abs(t / (2 * s) - 1) < 1e-9)
        // A GPU node's link serves them in turn (a 10 GB/s path, no memory).
        let node = NodeSpec(gpuName: "GPU", gpuCount: 2, nvlink: nil, pcie: LinkSpec(bandwidthGBps: 10, latencyMicroseconds: 0), nic: nil,
                            nicCount: 0, reduceGBps: 5, stepOverheadMicroseconds: 0, memory: nil)
        let gpu = try FabricMap(Topology(name: "gpu", summary: "", nodeCount: 1, node: node,
                                         network: NetworkSpec(leafPorts: 1, oversubscription: 1, railOptimized: false, switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0)))
        var gpuEngine = EventEngine(fabric: gpu)
        let gpuWatched = Completions()
        gpuEngine.observer = gpuWatched
        _ = try gpuEngine.run(two, elementSizeBytes: 4)
        let link = Double(bytes) / (node.pcie?.achievableBytesPerSecond ?? 10e9)
        #expect(gpuWatched.seconds.count == 2 && abs(gpuWatched.seconds[0] / link - 1) < 1e-9 && abs(gpuWatched.seconds[1] / (2 * link) - 1) < 1e-9,
                "\(gpuWatched.seconds)")
    }

    @Test("a lone transfer in the cache regime is bounded by its rank's path; the cache's rate is the node's, shared")
    func cacheRegimeKeepsThePath() throws {
        // The rank's path moves 8 GB/s; the node's memory 9 GB/s, and 12 GB/s for messages of
        // at most 1 MiB. NCCL's tree on two ranks and one channel sends S up and S back down,
        // one transfer at a time: each at the path's 8 GB/s, not at the cache's 12, with the
        // root's reduction (S at its half of 100 GB/s) between them.
        let node = NodeSpec(gpuName: "CPU rank", gpuCount: 2, nvlink: nil, pcie: LinkSpec(bandwidthGBps: 8, latencyMicroseconds: 0), nic: nil,
                            nicCount: 0, reduceGBps: 100, stepOverheadMicroseconds: 0,
                            memory: NodeMemorySpec(transferGBps: 9, reduceGBps: 100, cache: [.init(bytes: 1 << 20, transferGBps: 12, reduceGBps: 100)]))
        let fabric = try FabricMap(Topology(name: "cpu", summary: "", nodeCount: 1, node: node,
                                            network: NetworkSpec(leafPorts: 1, oversubscription: 1, railOptimized: false, switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0)))
        let bytes = 1 << 20
        let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2, channelCount: 1)
        let t = try Simulator(fabric: fabric, model: .event).time(.ncclTree, parameters: parameters).timeSeconds
        let s = Double(bytes)
        #expect(abs(t / (2 * s / 8e9 + s / 50e9) - 1) < 1e-9, "\(t)")
    }

    @Test("one transfer alone takes its regime's pair rate; two at once still share the memory's rate")
    func pairRate() throws {
        // The node's memory moves 10 GB/s for messages of at most 1 MiB, and one transfer alone
        // 6 GB/s (the regime's pairBandwidth). NCCL's tree on two ranks: S up, then S down, one
        // at a time, each at 6 GB/s, with the root's reduction (S at its half of 100 GB/s)
        // between them. The ring's two transfers per step run at once: the memory's 10 GB/s
        // for both (2 x S/2 per step), slower than either alone.
        let bytes = 1 << 20, s = Double(1 << 20)
        let regime = NodeMemorySpec.Regime(bytes: 1 << 20, transferGBps: 10, reduceGBps: 100, pairGBps: 6)
        let fabric = try Self.node(memory: NodeMemorySpec(transferGBps: 9, reduceGBps: 100, cache: [regime]))
        let tree = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2, channelCount: 1)
        let t = try Simulator(fabric: fabric, model: .event).time(.ncclTree, parameters: tree).timeSeconds
        #expect(abs(t / (2 * s / 6e9 + s / 50e9) - 1) < 1e-9, "\(t)")
        let ring = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2)
        let r = try Simulator(fabric: fabric, model: .event).time(.ring, parameters: ring).timeSeconds
        #expect(abs(r / (2 * s / 10e9 + s / 100e9) - 1) < 1e-9, "\(r)")
        // A working-set regime's pair rate applies to a collective of its size, outside the cache.
        let dram = NodeMemorySpec.Regime(bytes: 2 << 20, transferGBps: 4, reduceGBps: 100, pairGBps: 3)
        let big = try Self.node(memory: NodeMemorySpec(transferGBps: 9, reduceGBps: 100, cache: [regime], workingSets: [dram]))
        let two = ScheduleParameters(rankCount: 2, elementCount: (2 << 20) / 4, elementSizeBytes: 4, chunkBytes: 2 << 20, ranksPerNode: 2, channelCount: 1)
        let d = try Simulator(fabric: big, model: .event).time(.ncclTree, parameters: two).timeSeconds
        #expect(abs(d / (2 * 2 * s / 3e9 + 2 * s / 50e9) - 1) < 1e-9, "\(d)")
    }

    @Test("a collective whose working set (input and output, or one buffer in place) reaches a working-set regime moves and reduces at its rates; a smaller one does not")
    func workingSetRegime() throws {
        let dram = NodeMemorySpec.Regime(bytes: 8 << 20, transferGBps: 4, reduceGBps: 2)
        let cpu = try Simulator(fabric: Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5, workingSets: [dram])), model: .event)
        // (bytes per rank, in place, beyond the caches): 2 MiB out of place and 4 MiB in place
        // span 4 MiB, below the regime; 4 MiB out of place and 8 MiB in place span 8 MiB.
        for (bytes, inPlace, beyond) in [(2 << 20, false, false), (4 << 20, true, false), (4 << 20, false, true), (8 << 20, true, true), (16 << 20, false, true)] {
            let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2, inPlace: inPlace)
            #expect(parameters.workingSetBytes == Double(bytes) * (inPlace ? 1 : 2))
            let t = try cpu.time(.ring, parameters: parameters).timeSeconds
            let expected = beyond ? Self.ringBeyondCaches(bytes: bytes, transferGBps: 4, reduceGBps: 2) : 2 * Double(bytes) / 10e9 + Double(bytes) / 5e9
            #expect(abs(t / expected - 1) < 1e-9, "\(bytes), in place \(inPlace): \(t) vs \(expected)")
        }
        // The regime is the collective's, not the message's: 1 MiB chunks of a 16 MiB collective
        // still cross DRAM, where a rank's reduction takes the node's memory for its bytes at the
        // node's rate, in turn with the transfers: the memory carries every transfer (32 MiB at
        // 4 GB/s) and every reduction (16 MiB at 2 GB/s) without a gap, 16.8 ms, and one chunk's
        // reduction on a rank's core (1 MiB at its half of 2 GB/s) is not hidden behind it.
        // Reductions that left the memory to the transfers gave 15.7 ms: the transfers' 8.4 ms
        // and seven chunks' reductions, each holding its rank's incoming link (the core that
        // copies).
        let chunked = ScheduleParameters(rankCount: 2, elementCount: (16 << 20) / 4, elementSizeBytes: 4, chunkBytes: 1 << 20, ranksPerNode: 2)
        let t = try cpu.time(.ring, parameters: chunked).timeSeconds
        let memory = 2 * Double(16 << 20) / 4e9 + Double(16 << 20) / 2e9, chunkReduce = 2 * Double(1 << 20) / 2e9
        #expect(abs(t / (memory + chunkReduce) - 1) < 1e-9, "\(t) vs \(memory) + \(chunkReduce)")
    }

    @Test("beyond the caches a reduction takes the node's memory for its bytes at the node's rate: a transfer waits for it; in the caches it does not")
    func reductionHoldsMemoryBeyondCaches() throws {
        // Rank 1 sends S to rank 0, which reduces it; rank 2 sends S to rank 1, issued after it.
        let count = (4 << 20) / 4
        let steps = Listed(elementCount: count, steps: [
            [Step(kind: .recvReduce, peer: 1, offset: 0, count: count)],
            [Step(kind: .send, peer: 0, offset: 0, count: count), Step(kind: .recvCopy, peer: 2, offset: 0, count: count)],
            [Step(kind: .send, peer: 1, offset: 0, count: count)],
        ])
        let s = Double(4 << 20)
        let dram = NodeMemorySpec.Regime(bytes: 1 << 20, transferGBps: 10, reduceGBps: 60)
        let beyond = try EventEngine(fabric: Self.node(ranks: 3, memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 60, workingSets: [dram])))
            .run(steps, elementSizeBytes: 4).timeSeconds
        // The first transfer (S/10) and rank 0's reduction's turn (S/60, taken when the transfer
        // is issued) take the memory before the second transfer (S/10), which ends last (rank
        // 0's core reduces for 3S/60 from S/10).
        #expect(abs(beyond / (s / 10e9 + s / 60e9 + s / 10e9) - 1) < 1e-9, "\(beyond)")
        let inCaches = try EventEngine(fabric: Self.node(ranks: 3, memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 60)))
            .run(steps, elementSizeBytes: 4).timeSeconds
        // In the caches the second transfer follows the first at once (2S/10), beside the reduction.
        #expect(abs(inCaches / (2 * s / 10e9) - 1) < 1e-9, "\(inCaches)")
        #expect(beyond > inCaches * 1.05)
    }

    @Test("a file with 100 x the bandwidths, working sets included, predicts a DRAM-bound collective far too fast")
    func wrongBandwidthsStillShow() throws {
        let right = NodeMemorySpec(transferGBps: 10, reduceGBps: 5, workingSets: [.init(bytes: 8 << 20, transferGBps: 4, reduceGBps: 2)])
        let wrong = NodeMemorySpec(transferGBps: 1000, reduceGBps: 500, workingSets: [.init(bytes: 8 << 20, transferGBps: 400, reduceGBps: 200)])
        let parameters = ScheduleParameters(rankCount: 2, elementCount: (32 << 20) / 4, elementSizeBytes: 4, chunkBytes: 1 << 20, ranksPerNode: 2)
        let measured = try Simulator(fabric: Self.node(memory: right), model: .event).time(.ring, parameters: parameters).timeSeconds
        let predicted = try Simulator(fabric: Self.node(memory: wrong), model: .event).time(.ring, parameters: parameters).timeSeconds
        let error = PredictionError.geometricMean(logErrors: [PredictionError.logError(predicted: predicted, measured: measured)])
        #expect(error > 0.5, "\(predicted) vs \(measured)")
    }

    @Test("two ranks exchanging at once share the memory at its own rate when each rank's link is slower: 2S/memory, not 2S/link")
    func sharedMemory() throws {
        /// Rank r sends the first half of its buffer to the other rank and receives into the second.
        func exchange(count: Int) -> Listed {
            Listed(elementCount: 2 * count, steps: (0..<2).map { rank in
                [Step(kind: .send, peer: 1 - rank, offset: 0, count: count), Step(kind: .recvCopy, peer: 1 - rank, offset: count, count: count)]
            })
        }
        let node = NodeSpec(gpuName: "CPU rank", gpuCount: 2, nvlink: nil, pcie: LinkSpec(bandwidthGBps: 6, latencyMicroseconds: 0), nic: nil,
                            nicCount: 0, reduceGBps: 5, stepOverheadMicroseconds: 0, memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5))
        let fabric = try FabricMap(Topology(name: "cpu", summary: "", nodeCount: 1, node: node,
                                            network: NetworkSpec(leafPorts: 1, oversubscription: 1, railOptimized: false, switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0)))
        let bytes = 6 << 20
        let t = try EventEngine(fabric: fabric).run(exchange(count: bytes / 4), elementSizeBytes: 4).timeSeconds
        // The first transfer arrives after S / 6 GB/s; the second uses the memory after the first's
        // S / 10 GB/s and arrives when both have carried it: max(S / 6, 2 S / 10) = 2S / 10.
        let pcie = try #require(node.pcie).achievableBytesPerSecond
        let expected = max(Double(bytes) / pcie, 2 * Double(bytes) / 10e9)
        #expect(abs(t / expected - 1) < 1e-9, "\(t) vs \(expected)")
        #expect(t < 2 * Double(bytes) / pcie * 0.99, "the two transfers took turns at the link's rate")
    }

    @Test("a rank's reduction overlaps the transfers still in flight: two chunks each way take 4c/transfer + 2c/reduce, not 4c/transfer + 4c/reduce")
    func reductionOverlapsTransfers() throws {
        // Rank r sends its two chunks to the other rank and reduces the two it receives.
        let chunk = (1 << 20) / 4
        let twoChunks = Listed(elementCount: 4 * chunk, steps: (0..<2).map { rank in
            let mine = 2 * chunk * rank, theirs = 2 * chunk * (1 - rank)
            return [Step(kind: .send, peer: 1 - rank, offset: mine, count: chunk), Step(kind: .send, peer: 1 - rank, offset: mine + chunk, count: chunk),
                    Step(kind: .recvReduce, peer: 1 - rank, offset: theirs, count: chunk), Step(kind: .recvReduce, peer: 1 - rank, offset: theirs + chunk, count: chunk)]
        })
        let fabric = try Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 20))
        let c = Double(1 << 20)
        let t = try EventEngine(fabric: fabric).run(twoChunks, elementSizeBytes: 4).timeSeconds
        // The memory carries the four transfers back to back (4c / 10 GB/s); each rank reduces a
        // chunk at its share of the node's rate (c / 10 GB/s) while the next transfers run, so only
        // the last chunk's reduction adds to the time. Taking turns on the memory would add all four.
        let expected = 4 * c / 10e9 + 2 * c / 20e9
        #expect(abs(t / expected - 1) < 1e-9, "\(t) vs \(expected)")
        #expect(t < (4 * c / 10e9 + 4 * c / 20e9) * 0.9)
    }

    @Test("one rank reducing while the other idles gets its share of the node's rate, not all of it: S/transfer + 2S/reduce on two ranks")
    func reductionShare() throws {
        // Rank 1 sends its buffer to rank 0, which reduces it.
        let count = (4 << 20) / 4
        let toRoot = Listed(elementCount: count, steps: [[Step(kind: .recvReduce, peer: 1, offset: 0, count: count)], [Step(kind: .send, peer: 0, offset: 0, count: count)]])
        let fabric = try Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 20))
        let bytes = Double(4 << 20)
        let t = try EventEngine(fabric: fabric).run(toRoot, elementSizeBytes: 4).timeSeconds
        let expected = bytes / 10e9 + NodeMemorySpec.coreReduceShare(ranksPerNode: 2) * bytes / 20e9
        #expect(NodeMemorySpec.coreReduceShare(ranksPerNode: 2) == 2)
        #expect(abs(t / expected - 1) < 1e-9, "\(t) vs \(expected)")
    }

    @Test("the parameters must match the fabric's ranks")
    func mismatch() throws {
        let cpu = try Simulator(fabric: Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5)), model: .event)
        #expect(throws: SimulationError.self) {
            try cpu.time(.ring, parameters: ScheduleParameters(rankCount: 4, elementCount: 8, elementSizeBytes: 4, chunkBytes: 64, ranksPerNode: 2))
        }
    }

    @Test("geometric-mean error: exp(mean |ln(predicted/measured)|) - 1, symmetric")
    func geometricMean() {
        let e = [PredictionError.logError(predicted: 2, measured: 1), PredictionError.logError(predicted: 1, measured: 2)]
        #expect(abs(PredictionError.geometricMean(logErrors: e) - 1) < 1e-12)
        #expect(PredictionError.geometricMean(logErrors: []) == 0)
    }
}
