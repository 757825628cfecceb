import Testing
@testable import CollectiveSim
import CollectiveFabric
import CollectiveCore
import CollectiveKernels

@Suite("SimulationRun: the rows of simulate, sweep and what-if")
struct SimulationRunTests {
    static let ranks = 8, bytes = 1 << 20
    static func fabric(_ faults: [String] = []) throws -> FabricMap {
        try FabricMap(try faulted(Topology.switchCluster(ranks: ranks, bandwidthGBps: 50, latencyMicroseconds: 2), faults))
    }

    @Test("a ring row: nccl-tests' columns, the time the simulator gives, busbw = algbw x 2(n-1)/n")
    func ringRow() throws {
        let fabric = try Self.fabric()
        var run = try SimulationRun(settings: SimulationRun.Settings(), fabric: fabric)
        let m = try run.measure(.fixed(.ring), bytes: Self.bytes)
        let direct = try Simulator(fabric: fabric, model: .event).time(.ring, elementCount: Self.bytes / 4, dataType: .float32,
                                                                      chunkBytes: ScheduleParameters.defaultChunkBytes)
        #expect(run.columns.map(\.key) == ReportColumn.allreducePerf.map(\.key))
        #expect(m.row.count == ReportColumn.allreducePerf.count)
        guard case .int(let size) = m.row[0], case .int(let count) = m.row[1], case .text(let type) = m.row[2], case .text(let redop) = m.row[3],
              case .text(let name) = m.row[5], case .number(let us) = m.row[6], case .number(let algbw) = m.row[7], case .number(let busbw) = m.row[8] else {
            Issue.record("unexpected row \(m.row)")
            return
        }
        #expect(size == Self.bytes && count == Self.bytes / 4 && type == "float" && redop == "sum" && name == "ring")
        #expect(us == direct.timeSeconds * 1e6 && us > 0)
        #expect(abs(algbw - Double(Self.bytes) / direct.timeSeconds / 1e9) < 1e-9 * algbw)
        #expect(abs(busbw - algbw * 2 * 7 / 8) < 1e-9 * busbw)
        #expect(run.engineNote?.hasPrefix("engine: ") == true)
        #expect(run.clusterName == "switch, 8 ranks")
    }

    @Test("auto: every candidate timed, the fastest chosen and named auto(...)")
    func auto() throws {
        var run = try SimulationRun(settings: SimulationRun.Settings(), fabric: try Self.fabric())
        let m = try run.measure(.auto, bytes: 64 << 10)
        #expect(m.candidates.map(\.algorithm) == run.simulator.autoCandidates)
        #expect(m.outcome.timeSeconds == m.candidates.map(\.timeSeconds).min())
        guard case .text(let name) = m.row[5] else { Issue.record("unexpected row \(m.row)"); return }
        #expect(name == "auto(\(m.outcome.rowName))")
    }

    @Test("with faults, each row carries the healthy time and the slowdown")
    func faults() throws {
        var run = try SimulationRun(settings: SimulationRun.Settings(), fabric: try Self.fabric(["rank 3 slow 2x"]))
        let m = try run.measure(.fixed(.ring), bytes: Self.bytes)
        #expect(run.columns.count == ReportColumn.allreducePerf.count + ReportColumn.faultComparison.count)
        guard case .number(let us) = m.row[6], case .number(let healthy) = m.row[9], case .number(let slowdown) = m.row[10] else {
            Issue.record("unexpected row \(m.row)")
            return
        }
        #expect(healthy == run.healthyOutcomes.last!.timeSeconds * 1e6)
        #expect(us > healthy && abs(slowdown - us / healthy) < 1e-12)
        #expect(run.faultNote?.contains("rank 3 slow 2x") == true)
    }

    @Test("the work limit: refused before anything runs, naming the figure and --max-steps")
    func workLimit() throws {
        var settings = SimulationRun.Settings()
        settings.maxSteps = 100
        let run = try SimulationRun(settings: settings, fabric: try Self.fabric())
        let steps = run.estimatedSteps(.fixed(.ring), bytes: Self.bytes)
        #expect(steps > 100)
        #expect(throws: SimulationError.self) { try run.checkWork([(.fixed(.ring), Self.bytes)]) }
        do {
            try run.checkWork([(.fixed(.ring), Self.bytes), (.auto, Self.bytes)])
        } catch {
            #expect("\(error)".contains("more than --max-steps 100") && "\(error)".contains("2 runs") && "\(error)".contains("--model analytic"))
        }
        settings.maxSteps = Int(steps.rounded(.up))
        try SimulationRun(settings: settings, fabric: try Self.fabric()).checkWork([(.fixed(.ring), Self.bytes)])
    }

    @Test("--links fair on more ranks than its engine plays is refused")
    func fairLimit() throws {
        var settings = SimulationRun.Settings()
        settings.linkService = .fair
        let big = try FabricMap(Topology.switchCluster(ranks: FairShareEngine.maxRanks + 1, bandwidthGBps: 50, latencyMicroseconds: 2))
        #expect(throws: SimulationError.self) { try SimulationRun(settings: settings, fabric: big) }
    }
}

@Suite("AlgorithmChoice names")
struct AlgorithmChoiceTests {
    @Test("every choice reads back from its name, in any case")
    func roundTrip() {
        for c in AlgorithmChoice.allChoices {
            #expect(AlgorithmChoice(name: c.name) == c)
            #expect(AlgorithmChoice(name: " \(c.name.uppercased()) ") == c)
        }
        #expect(AlgorithmChoice(name: "nccl:nvls_tree") == .nccl(.nvlsTree))
        #expect(AlgorithmChoice(name: "nccl:collnet") == .nccl(.collnetDirect))
    }

    @Test("unknown names and NCCL algorithms this build does not play are refused", arguments: ["bogus", "", "nccl:", "nccl:bogus", "nccl:collnet-chain", "all"])
    func refused(_ name: String) {
        #expect(AlgorithmChoice(name: name) == nil)
    }
}
