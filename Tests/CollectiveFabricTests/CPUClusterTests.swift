import Foundation
import Testing
@testable import CollectiveFabric

/// A CPU node's shared memory (`node.memory`) and the files `allreduce calibrate` writes.
@Suite("CPU clusters")
struct CPUClusterTests {
    static let yaml = """
        name: two-cpus
        node:
          gpus: 2
          pcie: {bandwidth: 6GB/s, latency: 0.5us}
          reduceBandwidth: 4GB/s
          memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}
          stepOverhead: 2us
        """

    @Test("node.memory reads, validates and writes back; one memory link per node, crossed by same-node paths only")
    func memoryLink() throws {
        let t = try Topology.parse(data: Data(Self.yaml.utf8), fileName: "t.yaml", format: .yaml)
        #expect(t.node.memory == NodeMemorySpec(transferGBps: 9, reduceGBps: 5))
        #expect(try Topology.parse(data: Data(t.fileText().utf8)) == t)
        #expect(try Topology.parse(data: Data(t.fileText(format: .yaml).utf8), format: .yaml) == t)
        var four = t.with(nodes: 2)
        four.node.nic = LinkSpec(bandwidthGBps: 1, latencyMicroseconds: 10)
        four.node.nicCount = 1
        let fabric = try FabricMap(four)
        #expect(fabric.memoryLink(ofNode: 1) >= 0 && fabric.linkClass(fabric.memoryLink(ofNode: 1)) == .memory)
        #expect(fabric.linkName(fabric.memoryLink(ofNode: 1)) == "node 1 memory")
        let links = UnsafeMutablePointer<Int>.allocate(capacity: FabricMap.maxPathLinks)
        defer { links.deallocate() }
        let same = fabric.route(from: 2, to: 3, links: links)
        #expect((0..<same.count).contains { links[$0] == fabric.memoryLink(ofNode: 1) })
        #expect(same.bytesPerSecond == 6e9, "the pair's own link is slower than the node's memory")
        let across = fabric.route(from: 0, to: 2, links: links)
        #expect(!(0..<across.count).contains { fabric.linkClass(links[$0]) == .memory })
        #expect(abs(fabric.memoryReduceSecondsPerByte - 1 / 5e9) < 1e-20)
    }

    @Test("node.memory.cache reads and writes back, one regime or a list; it applies below every working set")
    func cacheRegime() throws {
        let text = Self.yaml.replacingOccurrences(of: "reduceBandwidth: 5GB/s}", with: "reduceBandwidth: 5GB/s, cache: {bytes: 256K, transferBandwidth: 40GB/s, reduceBandwidth: 50GB/s}}")
        let t = try Topology.parse(data: Data(text.utf8), fileName: "t.yaml", format: .yaml)
        #expect(t.node.memory?.cache == [NodeMemorySpec.Regime(bytes: 256 << 10, transferGBps: 40, reduceGBps: 50)])
        #expect(try Topology.parse(data: Data(t.fileText(format: .yaml).utf8), format: .yaml) == t)
        #expect(try FabricMap(t).memoryCache(workingSetBytes: Double(1 << 30)).map(\.bytes) == [Double(256 << 10)], "no working sets: any size")

        let list = "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, cache: [{bytes: 64K, transferBandwidth: 40GB/s, reduceBandwidth: 50GB/s}, "
            + "{bytes: 512K, transferBandwidth: 20GB/s, reduceBandwidth: 10GB/s}], workingSets: [{bytes: 2M, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s}]}"
        let u = try Topology.parse(data: Data(Self.yaml.replacingOccurrences(of: "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}", with: list).utf8),
                                   fileName: "u.yaml", format: .yaml)
        let memory = try #require(u.node.memory)
        #expect(memory.cache.map(\.bytes) == [64 << 10, 512 << 10])
        for format in [Topology.FileFormat.yaml, .json] {
            #expect(try Topology.parse(data: Data(u.fileText(format: format).utf8), format: format) == u)
        }
        // A message takes the first entry of at least its size; larger ones, and every message of
        // a collective whose working set reaches a working-set regime, the rates above.
        #expect(memory.cacheRates(messageBytes: 1000, workingSetBytes: Double(1 << 20))! == (40, 50))
        #expect(memory.cacheRates(messageBytes: Double(64 << 10) + 1, workingSetBytes: Double(1 << 20))! == (20, 10))
        #expect(memory.cacheRates(messageBytes: Double(1 << 20), workingSetBytes: Double(1 << 20)) == nil)
        #expect(memory.cacheRates(messageBytes: 1000, workingSetBytes: Double(2 << 20)) == nil)
        #expect(memory.cacheApplies(workingSetBytes: Double(1 << 20)))
        #expect(!memory.cacheApplies(workingSetBytes: Double(2 << 20)))
        #expect(!NodeMemorySpec(transferGBps: 9, reduceGBps: 5).cacheApplies(workingSetBytes: 0), "no cache entries")
        #expect(try FabricMap(u).memoryCache(workingSetBytes: Double(1 << 20)).count == 2)
        #expect(try FabricMap(u).memoryCache(workingSetBytes: Double(2 << 20)).isEmpty)
    }

    static let workingSetsLine = "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, workingSets: "
        + "[{bytes: 8M, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s}, {bytes: 32M, transferBandwidth: 4GB/s, reduceBandwidth: 2GB/s}]}"

    @Test("node.memory.workingSets reads and writes back; a working set takes the largest entry it reaches, else the rates above")
    func workingSetRegimes() throws {
        let text = Self.yaml.replacingOccurrences(of: "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}", with: Self.workingSetsLine)
        let t = try Topology.parse(data: Data(text.utf8), fileName: "t.yaml", format: .yaml)
        let memory = try #require(t.node.memory)
        #expect(memory.workingSets == [NodeMemorySpec.Regime(bytes: 8 << 20, transferGBps: 6, reduceGBps: 3),
                                       NodeMemorySpec.Regime(bytes: 32 << 20, transferGBps: 4, reduceGBps: 2)])
        #expect(try Topology.parse(data: Data(t.fileText(format: .yaml).utf8), format: .yaml) == t)
        #expect(try Topology.parse(data: Data(t.fileText().utf8)) == t)
        for (bytes, transfer, reduce) in [(1 << 20, 9.0, 5.0), ((8 << 20) - 1, 9, 5), (8 << 20, 6, 3), (31 << 20, 6, 3), (32 << 20, 4, 2), (1 << 30, 4, 2)] {
            let rates = memory.rates(workingSetBytes: Double(bytes))
            #expect(rates.transferGBps == transfer && rates.reduceGBps == reduce, "\(bytes) bytes")
        }
        let fabric = try FabricMap(t)
        let dram = fabric.memorySecondsPerByte(workingSetBytes: Double(64 << 20))
        #expect(abs(dram.transfer - 1 / 4e9) < 1e-20 && abs(dram.reduce - 1 / 2e9) < 1e-20)
        #expect(fabric.memorySecondsPerByte(workingSetBytes: 1024).reduce == fabric.memoryReduceSecondsPerByte)
        let gpu = try FabricMap(Topology.preset("dgx-h100")!).memorySecondsPerByte(workingSetBytes: 1e9)
        #expect(gpu.transfer == 0 && gpu.reduce == 0)
    }

    @Test("bad node.memory.workingSets are one-line errors naming the entry", arguments: [
        ("workingSets: {bytes: 8M}", "node.memory.workingSets"),
        ("workingSets: [{bytes: 0, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s}]", "node.memory.workingSets[0].bytes"),
        ("workingSets: [{bytes: lots, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s}]", "node.memory.workingSets[0].bytes"),
        ("workingSets: [{bytes: 8M, reduceBandwidth: 3GB/s}]", "node.memory.workingSets[0].transferBandwidth"),
        ("workingSets: [{bytes: 8M, transferBandwidth: 0GB/s, reduceBandwidth: 3GB/s}]", "node.memory.workingSets[0].transferBandwidth"),
        ("workingSets: [{bytes: 8M, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s, when: 1}]", "node.memory.workingSets[0].when"),
        ("workingSets: [{bytes: 8M, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s}, {bytes: 8M, transferBandwidth: 4GB/s, reduceBandwidth: 2GB/s}]",
         "node.memory.workingSets[1].bytes"),
        ("workingSets: [{bytes: 32M, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s}, {bytes: 8M, transferBandwidth: 4GB/s, reduceBandwidth: 2GB/s}]",
         "node.memory.workingSets[1].bytes"),
    ])
    func badWorkingSets(entry: String, field: String) { Self.expectRefused(memoryEntry: entry, field: field) }

    /// The file with `entry` added to `node.memory` is refused in one line naming `field`.
    static func expectRefused(memoryEntry entry: String, field: String) {
        expectRefused(memoryLine: "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, \(entry)}", field: field)
    }

    /// The file with its `node.memory` line replaced by `line` is refused in one line naming `field`.
    static func expectRefused(memoryLine line: String, field: String) {
        let text = Self.yaml.replacingOccurrences(of: "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}", with: line)
        do {
            _ = try Topology.parse(data: Data(text.utf8), fileName: "t.yaml", format: .yaml)
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.description.contains(field), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("a calibration's working-set scan becomes the memory's working sets, commented in the file")
    func calibratedWorkingSets() throws {
        var m = Self.measured(across: false)
        m.workingSetScan = [.init(bytes: 2 << 20, transferGBps: 8.5, reduceGBps: 5), .init(bytes: 64 << 20, transferGBps: 3.21234, reduceGBps: 1.5)]
        let sets = try #require(m.topology.node.memory?.workingSets)
        #expect(sets == [NodeMemorySpec.Regime(bytes: 2 << 20, transferGBps: 8.5, reduceGBps: 5), NodeMemorySpec.Regime(bytes: 64 << 20, transferGBps: 3.212, reduceGBps: 1.5)])
        let text = m.fileText()
        #expect(try Topology.parse(data: Data(text.utf8), fileName: "lab.yaml", format: .yaml) == m.topology)
        #expect(text.contains("# workingSets: transfers and reductions as our runner's ring all-gather and reduce-scatter, in place on one buffer of each size\n"))
        #expect(text.contains("# per rank (its working set), chunked at 1M, move and reduce them, the node's ranks at once"))
        #expect(text.contains("# working set (its buffers per rank: an input and an output, twice its size; in place, its size) reaches an entry's bytes crosses"))
        #expect(!text.contains("inFlight"), "no in-flight scan, no table")
        #expect(text.contains("# reduceBandwidth: float operand bytes the node's ranks reduce per second in our runner's ring reduce-scatter of 1M"))
        // Rates out of order (a larger working set measured faster) are pooled: 4 and 9 -> 6.
        m.workingSetScan = [.init(bytes: 2 << 20, transferGBps: 8, reduceGBps: 20), .init(bytes: 4 << 20, transferGBps: 4, reduceGBps: 10),
                            .init(bytes: 8 << 20, transferGBps: 9, reduceGBps: 5), .init(bytes: 16 << 20, transferGBps: 2, reduceGBps: 5)]
        let fitted = m.workingSetRegimes
        #expect(fitted.map(\.bytes) == [2 << 20, 4 << 20, 8 << 20, 16 << 20])
        #expect(fitted.map(\.transferGBps) == [8, 6, 6, 2])
        #expect(fitted.map(\.reduceGBps) == [20, 10, 5, 5])
        #expect(text.contains("the file keeps the closest rates that never grow"))
    }

    @Test("a calibration's in-flight scan becomes the memory's factors, and takes each working set's transfer rate back to one message in flight")
    func calibratedInFlight() throws {
        var m = Self.measured(across: false)  // probe 1M, 2 ranks per node
        m.workingSetScan = [.init(bytes: 2 << 20, transferGBps: 8, reduceGBps: 5), .init(bytes: 8 << 20, transferGBps: 12, reduceGBps: 4),
                            .init(bytes: 32 << 20, transferGBps: 14, reduceGBps: 3)]
        m.inFlightScan = [.init(messages: 1, gbps: 5), .init(messages: 2, gbps: 6), .init(messages: 4, gbps: 8), .init(messages: 8, gbps: 10),
                          .init(messages: 16, gbps: 10)]
        #expect(m.inFlightRegimes.map(\.factor) == [1, 1.2, 1.6, 2, 2])
        // The all-gather of w per rank over 2 ranks in 1M chunks keeps w / 2M in flight per rank:
        // 2M -> 1 (8 / 1), 8M -> 4 (12 / 1.6 = 7.5), 32M -> 16 (14 / 2 = 7).
        #expect(m.workingSetRegimes.map(\.transferGBps) == [8, 7.5, 7])
        let memory = try #require(m.topology.node.memory)
        #expect(memory.inFlight == m.inFlightRegimes)
        let text = m.fileText()
        #expect(try Topology.parse(data: Data(text.utf8), fileName: "lab.yaml", format: .yaml) == m.topology)
        #expect(text.contains("# inFlight: our runner's ring all-gather (in place) with k 1M chunks in each rank's block, k messages per rank in flight, walking\n"))
        #expect(text.contains("# the same 16M per rank for every k, each block timing every k in turn: the node's rate (k = 1: 5GB/s"))
        #expect(text.contains("k = 1: 5GB/s, k = 2: 6GB/s"))
        #expect(text.contains("by inFlight's factor there"))
        // Factors measured side by side win over the ratio of the median rates.
        m.inFlightScan[3].factor = 1.8
        #expect(m.inFlightRegimes.map(\.factor) == [1, 1.2, 1.6, 1.8, 2])
        // Without a count of one the scan gives no factors.
        m.inFlightScan.removeFirst()
        #expect(m.inFlightRegimes.isEmpty)
        #expect(m.topology.node.memory?.inFlight == [])
    }

    @Test("node.memory.inFlight reads and writes back")
    func inFlightFile() throws {
        let line = "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, workingSets: [{bytes: 8M, transferBandwidth: 6GB/s, reduceBandwidth: 3GB/s}], "
            + "inFlight: [{messages: 1, factor: 1}, {messages: 4, factor: 1.5}]}"
        let text = Self.yaml.replacingOccurrences(of: "memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}", with: line)
        let t = try Topology.parse(data: Data(text.utf8), fileName: "t.yaml", format: .yaml)
        #expect(t.node.memory?.inFlight == [.init(messages: 1, factor: 1), .init(messages: 4, factor: 1.5)])
        #expect(try Topology.parse(data: Data(t.fileText(format: .yaml).utf8), format: .yaml) == t)
        #expect(try Topology.parse(data: Data(t.fileText().utf8)) == t)
        let fabric = try FabricMap(t)
        #expect(fabric.memoryInFlightFactors(workingSetBytes: Double(4 << 20)).isEmpty, "in the caches")
        let factors = fabric.memoryInFlightFactors(workingSetBytes: Double(8 << 20))
        #expect(factors.count == FabricMap.maxInFlightCount + 1 && factors[1] == 1 && factors[4] == 1.5 && factors[64] == 1.5)
        #expect(fabric.memoryBeyondCaches(workingSetBytes: Double(8 << 20)) && !fabric.memoryBeyondCaches(workingSetBytes: Double(4 << 20)))
    }

    @Test("bad node.memory.inFlight entries are one-line errors naming the entry", arguments: [
        ("inFlight: {messages: 1, factor: 1}", "node.memory.inFlight"),
        ("inFlight: [{messages: 0, factor: 1}]", "node.memory.inFlight[0].messages"),
        ("inFlight: [{messages: 1.5, factor: 1}]", "node.memory.inFlight[0].messages"),
        ("inFlight: [{messages: 2}]", "node.memory.inFlight[0].factor"),
        ("inFlight: [{messages: 2, factor: 0}]", "node.memory.inFlight[0].factor"),
        ("inFlight: [{messages: 2, factor: fast}]", "node.memory.inFlight[0].factor"),
        ("inFlight: [{messages: 2, factor: 1, when: 1}]", "node.memory.inFlight[0].when"),
        ("inFlight: [{messages: 4, factor: 1}, {messages: 2, factor: 2}]", "node.memory.inFlight[1].messages"),
    ])
    func badInFlight(entry: String, field: String) { Self.expectRefused(memoryEntry: entry, field: field) }

    @Test("the cache regimes of a calibration: transfers as measured, reductions never growing with the size nor below the probe's")
    func calibratedCache() throws {
        var m = Self.measured(across: false)  // probe: transfers 9 GB/s, reductions 5.556 GB/s
        m.sizeScan = [.init(bytes: 64 << 10, transferGBps: 40, reduceGBps: 50), .init(bytes: 128 << 10, transferGBps: 30, reduceGBps: 44),
                      .init(bytes: 256 << 10, transferGBps: 20, reduceGBps: 40), .init(bytes: 512 << 10, transferGBps: 17, reduceGBps: 3)]
        #expect(m.cacheRegimes == [NodeMemorySpec.Regime(bytes: 64 << 10, transferGBps: 40, reduceGBps: 50),
                                   NodeMemorySpec.Regime(bytes: 128 << 10, transferGBps: 30, reduceGBps: 44),
                                   NodeMemorySpec.Regime(bytes: 256 << 10, transferGBps: 20, reduceGBps: 40),
                                   NodeMemorySpec.Regime(bytes: 512 << 10, transferGBps: 17, reduceGBps: 5.556)], "a reduction rate below the probe's is the probe's")
        #expect(m.topology.node.memory?.cache == m.cacheRegimes)
        let text = m.fileText()
        #expect(try Topology.parse(data: Data(text.utf8), fileName: "lab.yaml", format: .yaml) == m.topology)
        #expect(text.contains("the file keeps the transfer rates as measured"))
        #expect(text.contains("reduction rates that never grow with the size nor fall below 1M's"))
        // Transfers keep their measured rates, slower than the probe's or growing with the size
        // (a rendezvous above the eager limit); reductions out of order are pooled (6 and 8 ->
        // 6.928). A size at the end with the probe's transfer rate and no faster reduction is
        // left out.
        m.sizeScan = [.init(bytes: 8 << 10, transferGBps: 3, reduceGBps: 6), .init(bytes: 64 << 10, transferGBps: 2, reduceGBps: 8),
                      .init(bytes: 256 << 10, transferGBps: 7, reduceGBps: 5), .init(bytes: 512 << 10, transferGBps: 9, reduceGBps: 2)]
        #expect(m.cacheRegimes == [NodeMemorySpec.Regime(bytes: 8 << 10, transferGBps: 3, reduceGBps: 6.928),
                                   NodeMemorySpec.Regime(bytes: 64 << 10, transferGBps: 2, reduceGBps: 6.928),
                                   NodeMemorySpec.Regime(bytes: 256 << 10, transferGBps: 7, reduceGBps: 5.556)])
        m.sizeScan = [.init(bytes: 64 << 10, transferGBps: 9, reduceGBps: 5)]
        #expect(m.cacheRegimes.isEmpty, "every size at the probe's rates: one regime")
        #expect(m.fileText().contains("no size moved at other rates than 1M: one regime."))
    }

    @Test("a regime's pairBandwidth (one transfer alone) reads, writes back and is checked; calibrate's scans carry it to the file, never below a rank's share")
    func pairBandwidth() throws {
        let yaml = """
        name: lab
        nodes: 1
        node:
          gpu: CPU rank
          gpus: 2
          pcie: {bandwidth: 8GB/s, latency: 0.2us}
          memory:
            transferBandwidth: 9GB/s
            reduceBandwidth: 50GB/s
            cache: [{bytes: 64K, transferBandwidth: 10GB/s, reduceBandwidth: 80GB/s, pairBandwidth: 6GB/s}, {bytes: 512K, transferBandwidth: 9GB/s, reduceBandwidth: 60GB/s}]
            workingSets: [{bytes: 8M, transferBandwidth: 5GB/s, reduceBandwidth: 30GB/s, pairBandwidth: 4.5GB/s}]
        """
        let t = try Topology.parse(data: Data(yaml.utf8), fileName: "lab.yaml", format: .yaml)
        #expect(t.node.memory?.cache.map(\.pairGBps) == [6, nil])
        #expect(t.node.memory?.workingSets.first?.pairGBps == 4.5)
        #expect(t.node.memory?.rates(workingSetBytes: Double(16 << 20)).pairGBps == 4.5 && t.node.memory?.rates(workingSetBytes: Double(1 << 20)).pairGBps == nil)
        for format in [Topology.FileFormat.json, .yaml] {
            #expect(try Topology.parse(data: Data(t.fileText(format: format).utf8), fileName: "x", format: format) == t)
        }
        let bad = yaml.replacingOccurrences(of: "pairBandwidth: 6GB/s", with: "pairBandwidth: 0GB/s")
        #expect { try Topology.parse(data: Data(bad.utf8), fileName: "lab.yaml", format: .yaml) } throws: { "\($0)".contains("node.memory.cache[0].pairBandwidth") }
        // calibrate's scans: each size's and working set's pair rate goes to its regime (working
        // sets pooled as their other rates are: 5 then 6 -> 5.477 both).
        var m = Self.measured(across: false)
        m.sizeScan = [.init(bytes: 64 << 10, transferGBps: 12, reduceGBps: 50, pairGBps: 7)]
        m.workingSetScan = [.init(bytes: 2 << 20, transferGBps: 8, reduceGBps: 20, pairGBps: 5), .init(bytes: 4 << 20, transferGBps: 6, reduceGBps: 10, pairGBps: 6)]
        #expect(m.cacheRegimes.map(\.pairGBps) == [7])
        #expect(m.workingSetRegimes.map(\.pairGBps) == [5.477, 5.477])
        // A lone rate below each rank's share of the node's (2 ranks: 12 / 2) is the share.
        m.sizeScan = [.init(bytes: 64 << 10, transferGBps: 12, reduceGBps: 50, pairGBps: 2)]
        #expect(m.cacheRegimes.map(\.pairGBps) == [6])
        #expect(m.fileText().contains("pairBandwidth: one transfer alone"))
    }

    @Test("GPU presets have no memory link")
    func gpuUnchanged() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!)
        #expect(fabric.memoryLink(ofNode: 0) == -1)
        #expect(fabric.memoryReduceSecondsPerByte == 0)
    }

    @Test("bad node.memory fields are one-line errors naming the field", arguments: [
        ("memory: {transferBandwidth: 9GB/s}", "node.memory.reduceBandwidth"),
        ("memory: {transferBandwidth: 0GB/s, reduceBandwidth: 5GB/s}", "node.memory.transferBandwidth"),
        ("memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, speed: 3}", "node.memory.speed"),
        ("memory: 9GB/s", "node.memory"),
        ("memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, cache: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}}", "node.memory.cache.bytes"),
        ("memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, cache: {bytes: 0, transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}}", "node.memory.cache.bytes"),
        ("memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, cache: {bytes: 64K, reduceBandwidth: 5GB/s}}", "node.memory.cache.transferBandwidth"),
        ("memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, cache: [{bytes: 64K, transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}, "
            + "{bytes: 64K, transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s}]}", "node.memory.cache[1].bytes"),
        ("memory: {transferBandwidth: 9GB/s, reduceBandwidth: 5GB/s, cache: 5}", "node.memory.cache: expected {bytes, transferBandwidth, reduceBandwidth} or a list of them"),
    ])
    func badMemory(line: String, field: String) { Self.expectRefused(memoryLine: line, field: field) }

    static func measured(across: Bool) -> MeasuredCluster {
        MeasuredCluster(
            name: "lab", hostnames: across ? ["a", "b"] : ["a"], ranksPerNode: 2, transport: "--mca btl self,vader", probeBytes: 1 << 20,
            latencyProbeBytes: 8, sameNode: .init(latencyMicroseconds: 0.523456, pingPongGBps: 6.123456, concurrentGBps: 4.5, concurrentRanks: 2),
            acrossNodes: across ? .init(latencyMicroseconds: 12, pingPongGBps: 1.1, concurrentGBps: 0.9, concurrentRanks: 4) : nil,
            memoryCopyGBps: 20, memoryTransferGBps: 9, memoryReduceGBps: 5.55555, reduceType: "float",
            reduceGBpsByType: ["float": 5.55555, "double": 5.1], singleRankReduceGBps: 3, stepOverheadMicroseconds: 1.25,
            overheadProbe: "a ring of one float per rank")
    }

    @Test("a calibration's file: every figure commented, read back as the topology it describes")
    func calibrationFile() throws {
        for across in [false, true] {
            let m = Self.measured(across: across)
            let text = m.fileText()
            let back = try Topology.parse(data: Data(text.utf8), fileName: "lab.yaml", format: .yaml)
            #expect(back == m.topology)
            #expect(back.nodeCount == (across ? 2 : 1))
            #expect(back.node.memory == NodeMemorySpec(transferGBps: 9, reduceGBps: 5.556), "figures keep 4 significant digits")
            #expect(back.node.pcie?.bandwidthGBps == 6.123 && back.node.pcie?.latencyMicroseconds == 0.5235)
            #expect(back.node.stepOverheadMicroseconds == 1.25)
            #expect((back.node.nicCount == 1) == across)
            for key in ["pcie:", "memory:", "reduceBandwidth:", "stepOverhead:"] + (across ? ["nics:"] : []) {
                let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                let k = try #require(lines.firstIndex { $0.hasPrefix(key) })
                #expect(k > 0 && lines[k - 1].hasPrefix("#"), "\(key) has a comment above it")
            }
            #expect(text.contains("ping-pong") && text.contains("MPI_Sendrecv") && text.contains("hostfile") != across)
        }
    }
}
