import Testing
@testable import CollectiveCore
@testable import CollectiveFabric
@testable import CollectiveSim

private func dgxH100(nodes: Int) throws -> FabricMap {
    try FabricMap(Topology.preset("dgx-h100")!.with(nodes: nodes))
}

@Suite("Folded playback of NCCL's NVLS tree")
struct FoldedPlaybackTests {
    /// NCCL's NVLS tree on DGX H100 nodes (forced, as NCCL_ALGO=NVLSTree; NCCL's pick from
    /// 32 MiB or so), timed with `folding`.
    private func time(nodes: Int, bytes: Int, _ folding: TreeFolding, maxSteps: Int = WorkLimit.defaultMaxSteps) throws -> SimulationOutcome {
        var sim = Simulator(fabric: try dgxH100(nodes: nodes), model: .event, maxSteps: maxSteps)
        sim.treeFolding = folding
        return try sim.timeNCCL(elementCount: bytes / 4, dataType: .float32, algorithm: .nvlsTree)
    }

    @Test("folded times are the full playback's within 1% where every node sits under one leaf per rail",
          arguments: [(8, 1 << 26), (16, 1 << 26), (32, 1 << 24), (32, 1 << 26)])
    func foldedMatchesFull(nodes: Int, bytes: Int) throws {
        let full = try time(nodes: nodes, bytes: bytes, .off)
        let folded = try time(nodes: nodes, bytes: bytes, .on)
        #expect(full.ncclPlan?.algorithm == .nvlsTree && full.fold == nil)
        #expect(folded.fold?.nodeCount == nodes && folded.fold?.playedNodeCount == 2 * nodes.trailingZeroBitCount)
        let ratio = folded.timeSeconds / full.timeSeconds
        #expect(abs(ratio - 1) < 0.01, "folded \(folded.timeSeconds) s, full \(full.timeSeconds) s")
        // The played cluster is smaller: fewer events.
        #expect(folded.statistics!.events < full.statistics!.events)
    }

    @Test("where NICs are not rail-aligned (nd-h100-v5) the played nodes share one leaf: within 1% at 16 nodes")
    func playedNodesShareALeaf() throws {
        func time(_ folding: TreeFolding) throws -> Double {
            var sim = Simulator(fabric: try FabricMap(Topology.preset("nd-h100-v5")!.with(nodes: 16)), model: .event)
            sim.treeFolding = folding
            return try sim.timeNCCL(elementCount: 1 << 22, dataType: .float32, algorithm: .nvlsTree).timeSeconds
        }
        let ratio = try time(.on) / time(.off)
        #expect(abs(ratio - 1) < 0.01, "folded / full \(ratio)")
    }

    @Test("auto folds only past --max-steps; on folds every power of two of at least 8 nodes; off never")
    func when() throws {
        #expect(try time(nodes: 16, bytes: 1 << 24, .auto).fold == nil)
        #expect(try time(nodes: 16, bytes: 1 << 24, .on).fold != nil)
        #expect(try time(nodes: 12, bytes: 1 << 24, .on).fold == nil)
        // 256 MiB over 16 nodes plays about 3.1 M steps in full, 1.6 M folded (8 nodes).
        #expect(try time(nodes: 16, bytes: 1 << 28, .auto, maxSteps: 2_000_000).fold != nil)
        #expect(throws: SimulationError.self) { try time(nodes: 16, bytes: 1 << 28, .off, maxSteps: 2_000_000) }
    }

    @Test("a folded playback past --max-steps is refused too, naming the fold")
    func foldedLimit() throws {
        #expect { try time(nodes: 16, bytes: 1 << 28, .on, maxSteps: 1_000_000) } throws: { error in
            "\(error)".contains("folded (16 nodes played as 8)") && "\(error)".contains("more than 1000000")
        }
    }

    @Test("16,384 GPUs (2,048 DGX H100 nodes) play folded: 22 nodes, every rank finishes")
    func scale() throws {
        let o = try time(nodes: 2048, bytes: 1 << 24, .auto, maxSteps: 10_000_000)
        #expect(o.fold?.playedNodeCount == 22 && o.ncclPlan?.algorithm == .nvlsTree)
        #expect(o.timeSeconds > 0)
        // Deeper trees take longer: more network hops up and down.
        #expect(o.timeSeconds > (try time(nodes: 16, bytes: 1 << 24, .on)).timeSeconds)
    }

    @Test("a faulted cluster is played whole")
    func faultsUnfolded() throws {
        var t = Topology.preset("dgx-h100")!.with(nodes: 16)
        t.faults = [try Fault(parsing: "node 3 nic 2 at 50%")]
        var sim = Simulator(fabric: try FabricMap(t), model: .event)
        sim.treeFolding = .on
        #expect(try sim.timeNCCL(elementCount: 1 << 20, dataType: .float32, algorithm: .nvlsTree).fold == nil)
    }
}
