import CollectiveCore
import CollectiveFabric

/// The footer notes of the rows a ``SimulationRun`` measured: the cluster, its bottlenecks, what
/// `auto` and NCCL chose, the engine's work.
extension SimulationRun {
    /// `topology: dgx-h100 x 4 nodes = 32 GPUs (...)`.
    public var topologyNote: String {
        let t = fabric.topology
        let nodes = t.name == "switch" ? "\(fabric.rankCount) rank\(fabric.rankCount == 1 ? "" : "s")" : "\(fabric.nodeCount) node\(fabric.nodeCount == 1 ? "" : "s") x \(fabric.gpusPerNode) GPUs = \(fabric.rankCount) ranks"
        let service = simulator.model == .event && simulator.linkService == .fair ? " (links shared max-min fairly)" : ""
        return "topology: \(t.name), \(nodes); model: \(simulator.model.rawValue)\(service)"
    }

    /// `faults: node 3 nic 2 at 50%; rank 5 late 20us (healthy: the same runs without them)`.
    public var faultNote: String? {
        guard let f = fabric.faults else { return nil }
        return "faults: " + f.specs.map(\.description).joined(separator: "; ") + " (healthy: the same schedule on the cluster without them; slowdown = time / healthy)"
    }

    /// `busiest links: NIC tx 98% (node 0 nic 2 tx), ...` of `outcome`, or nil when it has none.
    /// A folded run's links are its played nodes' (node `a * k + d`: tree a's place at depth d).
    public static func busiestLinks(_ outcome: SimulationOutcome, label: String = "busiest links") -> String? {
        guard let links = outcome.linkUtilization, !links.isEmpty else { return nil }
        let played = outcome.fold.map { " of the \($0.playedNodeCount) played nodes (node a x \($0.depth) + d: tree a's depth d)" } ?? ""
        return "\(label)\(played): " + links.map { "\($0.linkClass.rawValue) \(formatFixed($0.busyFraction * 100, decimals: 0))% (\($0.busiestLink))" }.joined(separator: ", ")
    }

    /// `dgx-h100, 4 nodes x 8 GPUs` or `switch, 8 ranks`.
    public var clusterName: String {
        let t = fabric.topology
        return t.name == "switch" ? "switch, \(fabric.rankCount) rank\(fabric.rankCount == 1 ? "" : "s")"
            : "\(t.name), \(fabric.nodeCount) node\(fabric.nodeCount == 1 ? "" : "s") x \(fabric.gpusPerNode) GPUs"
    }

    /// Why the time is what it is: the bottleneck costs the closed forms see.
    public var bottleneckNote: String {
        var parts: [String] = []
        if fabric.gpusPerNode > 1 {
            let c = fabric.intraNodeAlphaBeta
            parts.append("intra-node \(formatFixed(1 / c.betaSecondsPerByte / 1e9, decimals: 1)) GB/s, \(formatFixed(c.alphaSeconds * 1e6, decimals: 2)) us per step")
        }
        if fabric.nodeCount > 1 {
            let c = fabric.interNodeAlphaBeta()
            parts.append("inter-node \(formatFixed(1 / c.betaSecondsPerByte / 1e9, decimals: 1)) GB/s, \(formatFixed(c.alphaSeconds * 1e6, decimals: 2)) us per step")
        }
        if fabric.gammaSecondsPerByte > 0 {
            parts.append("reduction \(formatFixed(1 / fabric.gammaSecondsPerByte / 1e9, decimals: 0)) GB/s")
        }
        return parts.isEmpty ? "paths: none (a single rank)" : "paths (achievable): " + parts.joined(separator: "; ")
    }

    /// `hierarchical between nodes (--inter-node auto): ring from 8 B, tree from 64 KiB`: where the
    /// automatic inter-node choice changes over the sizes measured (nil when it did not choose).
    public var interNodeNote: String? {
        guard !interNodeChoices.isEmpty else { return nil }
        var runs: [(bytes: Int, algorithm: AllreduceAlgorithm)] = []
        for c in interNodeChoices.sorted(by: { $0.bytes < $1.bytes }) where runs.last?.algorithm != c.algorithm { runs.append(c) }
        let list = runs.map { "\($0.algorithm.rawValue) from \(ByteCount.format($0.bytes))" }
        return "hierarchical between nodes (--inter-node auto, the faster closed form): " + list.joined(separator: ", ")
    }

    /// `nccl: NCCL's search: 24 channels ...; ring/Simple/24ch: start 20.4 us, hops NVLink 3.4 us ...`:
    /// what the nccl rows played and with which protocol figures.
    public var ncclNote: String? {
        guard !ncclPlans.isEmpty else { return nil }
        let planner = NCCLPlanner(fabric: fabric)
        let t = planner.topology
        var parts = ["nccl (\(t.architecture.rawValue)): search \(t.searchChannels) x \(formatFixed(t.speedGBps, decimals: 1)) GB/s, \(t.channels) channels"
                     + (t.nvlsHeads > 0 ? ", NVLS \(t.nvlsHeads) heads x \(formatFixed(t.nvlsSpeedGBps, decimals: 1)) GB/s at \(formatFixed(t.nvlsEfficiency, decimals: 2))" : "")]
        for plan in ncclPlans.prefix(4) {
            let timing = planner.timing(plan)
            var hops = ["NVLink \(formatFixed(timing.nvlinkHopSeconds * 1e6, decimals: 2))"]
            if fabric.nodeCount > 1 { hops.append("network \(formatFixed(timing.networkHopSeconds * 1e6, decimals: 2))") }
            let cap = timing.channelCapGBps > 0 ? ", \(formatFixed(timing.channelCapGBps, decimals: 1)) GB/s per channel" : ""
            parts.append("\(plan): start \(formatFixed(timing.startSeconds * 1e6, decimals: 1)) us, hop \(hops.joined(separator: " / ")) us\(cap), chunk \(ByteCount.format(plan.chunkBytes))")
        }
        for fold in folds {
            parts.append("folded: the NVLS tree over \(fold.nodeCount) nodes played as \(fold.playedNodeCount), one per place in the trees (--fold off plays every node)")
        }
        if settings.treeFolding == .on && folds.isEmpty && ncclPlans.contains(where: { $0.algorithm == .nvlsTree }) {
            parts.append("not folded: --fold on folds the NVLS tree over a power of two of at least 8 nodes on a healthy cluster; every node was played")
        }
        return parts.joined(separator: "; ")
    }

    /// `engine: ...` over every event-model run so far.
    public var engineNote: String? {
        guard ranEvent else { return nil }
        return EngineStatistics(events: engineEvents, transfers: engineTransfers, wallSeconds: engineWall, cpuSeconds: engineCPU, peakMemoryBytes: peakResidentBytes()).summary
    }
}
