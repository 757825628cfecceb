import Testing
@testable import CollectiveFabric
@testable import CollectiveSim

/// The event engine on a CPU node (``NodeMemorySpec``): transfers and reductions share the
/// node's memory link, and a reduction follows its data instead of streaming with it.
@Suite("CPU node memory in the event engine")
struct CPUMemoryEngineTests {
    static func node(memory: NodeMemorySpec?) throws -> FabricMap {
        let node = NodeSpec(gpuName: "CPU rank", gpuCount: 2, nvlink: nil, pcie: LinkSpec(bandwidthGBps: 1000, latencyMicroseconds: 0), nic: nil,
                            nicCount: 0, reduceGBps: 5, stepOverheadMicroseconds: 0, memory: memory)
        return try FabricMap(Topology(name: "cpu", summary: "", nodeCount: 1, node: node,
                                      network: NetworkSpec(leafPorts: 1, oversubscription: 1, railOptimized: false, switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0)))
    }

    @Test("two ranks, one chunk: the ring's four transfers and two reductions take turns on the memory: 2S/transfer + S/reduce")
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
        let cpu = try Simulator(fabric: Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5, cache: cache)), model: .event)
        for (bytes, transfer, reduce) in [(2 << 20, 40e9, 20e9), (8 << 20, 10e9, 5e9)] {  // messages of 1 MiB and 4 MiB
            let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2)
            let t = try cpu.time(.ring, parameters: parameters).timeSeconds
            let expected = 2 * Double(bytes) / transfer + Double(bytes) / reduce
            #expect(abs(t / expected - 1) < 1e-9, "\(bytes): \(t) vs \(expected)")
        }
    }

    @Test("a collective whose bytes per rank reach a working-set regime moves and reduces at its rates; a smaller one does not")
    func workingSetRegime() throws {
        let dram = NodeMemorySpec.Regime(bytes: 8 << 20, transferGBps: 4, reduceGBps: 2)
        let cpu = try Simulator(fabric: Self.node(memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5, workingSets: [dram])), model: .event)
        for (bytes, transfer, reduce) in [(4 << 20, 10e9, 5e9), (8 << 20, 4e9, 2e9), (16 << 20, 4e9, 2e9)] {
            let parameters = ScheduleParameters(rankCount: 2, elementCount: bytes / 4, elementSizeBytes: 4, chunkBytes: bytes, ranksPerNode: 2)
            let t = try cpu.time(.ring, parameters: parameters).timeSeconds
            let expected = 2 * Double(bytes) / transfer + Double(bytes) / reduce
            #expect(abs(t / expected - 1) < 1e-9, "\(bytes): \(t) vs \(expected)")
        }
        // The regime is the collective's, not the message's: 1 MiB chunks of a 16 MiB collective
        // still cross DRAM.
        let chunked = ScheduleParameters(rankCount: 2, elementCount: (16 << 20) / 4, elementSizeBytes: 4, chunkBytes: 1 << 20, ranksPerNode: 2)
        let t = try cpu.time(.ring, parameters: chunked).timeSeconds
        #expect(abs(t / (2 * Double(16 << 20) / 4e9 + Double(16 << 20) / 2e9) - 1) < 0.05, "\(t)")
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
        struct Exchange: Schedule {
            var count: Int
            var algorithm: AllreduceAlgorithm { .ring }
            var rankCount: Int { 2 }
            var elementCount: Int { 2 * count }
            func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
                [Step(kind: .send, peer: 1 - rank, offset: 0, count: count),
                 Step(kind: .recvCopy, peer: 1 - rank, offset: count, count: count)].makeIterator()
            }
        }
        let node = NodeSpec(gpuName: "CPU rank", gpuCount: 2, nvlink: nil, pcie: LinkSpec(bandwidthGBps: 6, latencyMicroseconds: 0), nic: nil,
                            nicCount: 0, reduceGBps: 5, stepOverheadMicroseconds: 0, memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 5))
        let fabric = try FabricMap(Topology(name: "cpu", summary: "", nodeCount: 1, node: node,
                                            network: NetworkSpec(leafPorts: 1, oversubscription: 1, railOptimized: false, switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0)))
        let bytes = 6 << 20
        let t = try EventEngine(fabric: fabric).run(Exchange(count: bytes / 4), elementSizeBytes: 4).timeSeconds
        // The first transfer arrives after S / 6 GB/s; the second uses the memory after the first's
        // S / 10 GB/s and arrives when both have carried it: max(S / 6, 2 S / 10) = 2S / 10.
        let pcie = try #require(node.pcie).achievableBytesPerSecond
        let expected = max(Double(bytes) / pcie, 2 * Double(bytes) / 10e9)
        #expect(abs(t / expected - 1) < 1e-9, "\(t) vs \(expected)")
        #expect(t < 2 * Double(bytes) / pcie * 0.99, "the two transfers took turns at the link's rate")
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
