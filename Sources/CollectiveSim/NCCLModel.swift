import CollectiveCore
import CollectiveFabric
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cluster as NCCL's topology search sees it: the GPU generation, the per-GPU bandwidths in
/// NCCL's own figures, and the channels and per-channel speed its ring search settles on
/// (NCCL src/graph/search.cc, connect.cc; src/graph/topo.h).
///
/// - Inside a node NCCL counts NVLink at its per-link figure (``NCCLTuningTables/nvlinkPerLinkGBps``)
///   times the GPU's links, or PCIe at 75% of its line rate (12 / 24 / 48 GB/s for Gen3 / 4 / 5
///   x16); a NIC at its line rate (Gb/s / 8).
/// - One node: the search takes, among its per-channel speeds, the one that gives the most
///   channels x speed within the GPU's bandwidth (the highest speed on a tie), duplicates the
///   channels at half the speed when the speed is 25 GB/s or more, and connect.cc doubles the
///   channels again: 24 channels on an A100 or H100 node, 16 on an H800 node.
/// - Several nodes: each channel crosses the node through one NIC, so a NIC carries
///   floor(NIC / speed) channels, and the GPUs carry the channels on NVLink for all but the NIC
///   hop: the speed with the most channels x speed wins, and connect.cc doubles the channels
///   (twice on Hopper and later when the speed is above 45 GB/s and fewer than 16 channels).
public struct NCCLTopology: Sendable, Hashable {
    public let architecture: GPUArchitecture
    public let rankCount: Int
    public let nodeCount: Int
    public let ranksPerNode: Int
    /// NVLink or PCI inside a node.
    public let intraHardware: NCCLHardware
    /// A GPU's bandwidth inside the node, GB/s per direction, NCCL's figure.
    public let intraGBps: Double
    /// One NIC, GB/s per direction (line rate / 8).
    public let nicGBps: Double
    public let nicsPerNode: Int
    /// Channels of the ring search (before connect.cc doubles them): what NCCL's tuning counts.
    public let searchChannels: Int
    /// Per-channel speed of the search, GB/s.
    public let speedGBps: Double
    /// Channels a collective runs with (after the doubling).
    public let channels: Int
    /// NVLS (NVLink SHARP) on one node: the heads of NCCL's NVLS graph (one per GPU; 0 when the
    /// node's NVSwitch does not reduce), its per-head speed (the fastest search speed at which
    /// every head fits the GPU's NVLink bandwidth), and the switch's efficiency (NCCL's
    /// `nvlsEfficiency`, the fabric's ``NVLinkSpec/switchReductionEfficiency``).
    public let nvlsHeads: Int
    public let nvlsSpeedGBps: Double
    public let nvlsEfficiency: Double
    /// The network's switches reduce (SHARP): NVLS runs across nodes (NCCL's NVLS with CollNet).
    public let networkReduces: Bool
    /// CollNet Direct across nodes whose network reduces: the heads of its graph (one per NIC, at
    /// most one per GPU; 0 without SHARP or on one node) and their speed, the fastest
    /// inter-node search speed within the NIC at which every head fits the GPU's NVLink: a head
    /// takes the g - 1 other GPUs' shards in and sends them the sum, and each other head takes
    /// one shard of it, so a GPU carries (g - 1 + heads - 1) x speed each way
    /// (src/graph/search.cc, ncclTopoSearchTryCollnetDirect).
    public let collnetHeads: Int
    public let collnetSpeedGBps: Double

    public init(fabric: FabricMap) {
        let node = fabric.topology.node
        architecture = GPUArchitecture(node: node)
        rankCount = fabric.rankCount
        nodeCount = fabric.nodeCount
        ranksPerNode = fabric.gpusPerNode
        if let nv = node.nvlink {
            intraHardware = .nvlink
            let perLink = nv.link.kind?.isNVLink == true ? NCCLTuningTables.nvlinkPerLinkGBps[architecture.column] : nv.link.achievableGBps
            if nv.fabric == .nvswitch {
                intraGBps = perLink * Double(nv.linksPerGPU)
            } else {
                // A mesh: the busiest GPU's links.
                intraGBps = perLink * Double(nv.pairs.filter { $0.a == 0 || $0.b == 0 }.reduce(0) { $0 + $1.links })
            }
        } else if let pcie = node.pcie {
            intraHardware = .pci
            intraGBps = pcie.bandwidthGBps * 0.75
        } else {
            intraHardware = .pci
            intraGBps = node.nic?.bandwidthGBps ?? 0
        }
        nicGBps = node.nic?.bandwidthGBps ?? 0
        nicsPerNode = node.nic == nil ? 0 : node.nicCount
        let g = fabric.gpusPerNode
        networkReduces = fabric.networkReduces
        if let nv = node.nvlink, nv.fabric == .nvswitch, let e = nv.switchReductionEfficiency, g >= 2 {
            let total = intraGBps
            let speed = NCCLTuningTables.searchSpeedsGBps(architecture, interNode: false).first { Double(g) * $0 <= total + 1e-9 }
            nvlsHeads = speed == nil ? 0 : g
            nvlsSpeedGBps = speed ?? 0
            nvlsEfficiency = e
        } else {
            nvlsHeads = 0
            nvlsSpeedGBps = 0
            nvlsEfficiency = 0
        }
        if networkReduces && fabric.nodeCount > 1 && nicsPerNode > 0 && nicGBps > 0 {
            let heads = min(g, nicsPerNode)
            let load = Double(max(1, g - 1 + heads - 1))
            let nic = nicGBps, intra = intraGBps
            let speed = NCCLTuningTables.searchSpeedsGBps(architecture, interNode: true)
                .first { $0 <= nic + 1e-9 && (g == 1 || $0 * load <= intra + 1e-9) }
            collnetHeads = speed == nil ? 0 : heads
            collnetSpeedGBps = speed ?? 0
        } else {
            collnetHeads = 0
            collnetSpeedGBps = 0
        }
        var best = (channels: 1, speed: 0.0)
        if fabric.nodeCount <= 1 || nicsPerNode == 0 || nicGBps <= 0 {
            let total = g > 1 ? intraGBps : max(intraGBps, 1)
            for speed in NCCLTuningTables.searchSpeedsGBps(architecture, interNode: false) where speed <= total {
                let n = min(16, Int((total / speed + 1e-9).rounded(.down)))
                if Double(n) * speed > Double(best.channels) * best.speed + 1e-9 { best = (n, speed) }
            }
            if best.speed == 0 { best = (1, total) }
            if best.speed >= 25 { best = (min(32, 2 * best.channels), best.speed / 2) }
            searchChannels = best.channels
            speedGBps = best.speed
            channels = min(ScheduleParameters.maxChannels, 2 * best.channels)
        } else {
            let nvShare = g > 1 ? Double(g - 1) / Double(g) : 0
            for speed in NCCLTuningTables.searchSpeedsGBps(architecture, interNode: true) where speed <= nicGBps {
                var n = min(16, nicsPerNode * Int((nicGBps / speed + 1e-9).rounded(.down)))
                if nvShare > 0 { n = min(n, Int((intraGBps / (speed * nvShare) + 1e-9).rounded(.down))) }
                if n >= 1 && Double(n) * speed > Double(best.channels) * best.speed + 1e-9 { best = (n, speed) }
            }
            if best.speed == 0 { best = (1, nicGBps) }
            searchChannels = best.channels
            speedGBps = best.speed
            var c = 2 * best.channels
            if architecture.column >= GPUArchitecture.hopper.column && best.speed > 45 && c < 16 { c *= 2 }
            channels = min(ScheduleParameters.maxChannels, c)
        }
    }

    /// 0, 1 or 2 for one node, two nodes, more: the column of NCCL's per-node-count caps.
    public var nodesColumn: Int { nodeCount <= 1 ? 0 : (nodeCount == 2 ? 1 : 2) }

    /// Channels NCCL runs an operation of `bytes` with: fewer for small operations, while each
    /// thread would move less than the protocol's threshold (src/enqueue.cc; ring LL's threshold
    /// grows with the rank count).
    public func channels(for algorithm: NCCLAlgorithm, _ proto: NCCLProtocol, bytes: Double) -> Int {
        var threshold = Double(NCCLTuningTables.threadThresholdBytes[proto.column])
        if algorithm == .ring && proto == .ll { threshold *= Double(rankCount) }
        let threads = Double(NCCLTuningTables.threadsPerChannel[proto.column])
        // NVLS and NVLS tree run on the NVLS channels (comm->nvlsChannels).
        var nc = algorithm == .nvls || algorithm == .nvlsTree ? min(NCCLTuningTables.nvlsChannels, ScheduleParameters.maxChannels) : channels
        while nc > 1 && bytes < Double(nc) * threads * threshold { nc -= 1 }
        return nc
    }
}

/// NCCL's tuning model for allreduce (src/graph/tuning.cc, v2.30.7), re-derived:
/// `time_us = latency + bytes / (1000 x algBw)` for each algorithm and protocol, with the
/// constants of ``NCCLTuningTables`` and the channels and speeds of ``NCCLTopology``. NCCL picks
/// the pair with the least time. It is a closed form: the event engine plays the pick
/// (``NCCLPlanner``), and this model is kept as the comparison `--model nccl` prints.
///
/// - Latency: ring `base + (2(n-1) - 2(nNodes-1)) intraHop + 2(nNodes-1) netHop` (x1.4 for Simple
///   across nodes on Ampere and later); tree `base + 2((ranksPerNode-1) intraHop + log2(nNodes) netHop)`;
///   NVLS NCCL's NVLS NVLink latency alone (25 us; src/tuning/nvls.cc).
/// - Bandwidth: bus bandwidth = search channels x speed; ring LL min(llMaxBw, 0.5 x bus), ring
///   LL128 min(0.92 x bus, channels x perChMaxRingLL128Bw); tree min(0.92 x bus, channels x
///   perChMaxTreeBw) x 0.85 for the tree pattern, LL /3.8, LL128 x 7/9 (one node) or 120/128.
///   NVLS (Simple only, one node): heads x speed x nvlsEfficiency x (heads-1)/heads x 2
///   (src/tuning/nvls.cc, NCCL 2.30). Algorithm bandwidth = bus x n / (2(n-1)) for the ring and
///   NVLS, bus / 2 for the tree.
public struct NCCLModel: Sendable {
    public let topology: NCCLTopology

    public init(fabric: FabricMap) { topology = NCCLTopology(fabric: fabric) }

    public var rankCount: Int { topology.rankCount }
    public var nodeCount: Int { topology.nodeCount }
    public var ranksPerNode: Int { topology.ranksPerNode }

    /// The algorithms this model times and may pick here: ring and tree; where the NVSwitch
    /// reduces, NVLS on one node, and NVLS tree across nodes (with NVLS too where the network
    /// reduces, SHARP). CollNet Direct, across nodes whose network reduces, is played when forced
    /// (``forcible``): its
    /// bandwidth in NCCL's model comes from a topology search of its own (the CollNet graph's
    /// heads and speed) that this model approximates, not from published constants, so it does
    /// not decide NCCL's pick here. CollNet Chain is not modelled.
    public var algorithms: [NCCLAlgorithm] {
        guard topology.nvlsHeads > 0 else { return [.ring, .tree] }
        if topology.nodeCount == 1 { return [.ring, .tree, .nvls] }
        return topology.networkReduces ? [.ring, .tree, .nvls, .nvlsTree] : [.ring, .tree, .nvlsTree]
    }

    /// What may be forced (NCCL_ALGO) for an allreduce: the picks, and CollNet Direct across
    /// nodes whose network reduces. (PAT, for a reduce-scatter or an all-gather, is forced through
    /// the planner, which plans it with Simple.)
    public var forcible: [NCCLAlgorithm] {
        topology.networkReduces && topology.nodeCount > 1 ? algorithms + [.collnetDirect] : algorithms
    }

    /// Bus bandwidth, GB/s.
    public func busGBps(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol) -> Double {
        let t = topology
        let arch = t.architecture.column, nodes = t.nodesColumn
        let channels = Double(t.searchChannels)
        var bw = channels * t.speedGBps
        switch algorithm {
        case .ring:
            switch proto {
            case .ll: bw = min(NCCLTuningTables.llMaxBusGBps[arch][nodes], 0.5 * bw)
            case .ll128: bw = min(0.92 * bw, channels * NCCLTuningTables.perChannelMaxRingLL128GBps[arch])
            case .simple: break
            }
        case .nvls, .nvlsTree:
            guard proto == .simple, t.nvlsHeads > 0 else { return 0 }
            let heads = Double(t.nvlsHeads)
            return heads * t.nvlsSpeedGBps * t.nvlsEfficiency * (heads - 1) / heads * 2
        case .collnetDirect:
            // heads x speed of the CollNet graph, divided by the GPU-per-NIC factor softened by
            // half, x 0.85 on Hopper and later (tuning.cc).
            guard proto == .simple, t.collnetHeads > 0 else { return 0 }
            var factor = Double(t.ranksPerNode) / Double(t.collnetHeads)
            factor -= (factor - 1) / 2
            bw = Double(t.collnetHeads) * t.collnetSpeedGBps / factor
            if arch >= GPUArchitecture.hopper.column { bw *= 0.85 }
        case .tree:
            bw = min(0.92 * bw, channels * NCCLTuningTables.perChannelMaxTreeGBps[arch][nodes]) * 0.85
            switch proto {
            case .ll: bw /= 3.8
            case .ll128: bw *= t.nodeCount == 1 ? 7.0 / 9.0 : 120.0 / 128.0
            case .simple: break
            }
        default:
            return 0
        }
        return bw
    }

    /// Algorithm bandwidth, GB/s.
    public func algorithmGBps(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol) -> Double {
        let bus = busGBps(algorithm, proto)
        if algorithm == .ring { return bus * Double(rankCount) / Double(2 * (rankCount - 1)) }
        if algorithm == .nvls {
            // The node's NVLS part, and across nodes each NIC carrying its GPUs' shards once each way.
            let g = Double(max(2, ranksPerNode))
            let intra = bus * g / (2 * (g - 1))
            return nodeCount > 1 ? min(intra, Double(topology.nicsPerNode) * topology.nicGBps) : intra
        }
        if algorithm == .nvlsTree {
            // NVLS in the node, a tree of the nodes: a NIC carries its shards once each way to and
            // from its parent on two nodes, twice on more (NCCL's bwInter / 2; src/tuning).
            let g = Double(max(2, ranksPerNode))
            let net = Double(topology.nicsPerNode) * topology.nicGBps * (nodeCount <= 2 ? 1 : 0.5)
            return min(bus * g / (2 * (g - 1)), net)
        }
        return bus * 0.5
    }

    /// Latency of one allreduce, microseconds.
    public func latencyMicroseconds(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol) -> Double {
        let t = topology
        let base = NCCLTuningTables.baseLatencyMicroseconds[algorithm.row][proto.column]
        let intra = NCCLTuningTables.hopLatencyMicroseconds[t.intraHardware.rawValue][algorithm.row][proto.column]
        let net = NCCLTuningTables.hopLatencyMicroseconds[NCCLHardware.network.rawValue][algorithm.row][proto.column]
        switch algorithm {
        case .ring:
            let steps = 2 * (rankCount - 1), netSteps = 2 * (nodeCount - 1)
            var lat = base + Double(steps - netSteps) * intra + Double(netSteps) * net
            if proto == .simple && nodeCount > 1 && t.architecture.column >= GPUArchitecture.ampere.column {
                lat *= NCCLTuningTables.multiNodeRingSimpleLatencyFactor
            }
            return lat
        case .nvls:
            return intra + (nodeCount > 1 ? net : 0)
        case .nvlsTree:
            let lg = nodeCount > 1 ? log2(Double(nodeCount)).rounded(.up) : 0
            return intra + 2 * lg * net
        case .collnetDirect:
            // Scatter to and gather from the heads (one intra hop each way while there are other
            // GPUs, plus 0.4 us per GPU for the arity's serialization) and one network round trip.
            let ppn = Double(ranksPerNode)
            return base + 2 * (min(1, ppn - 1) * intra + (ppn - 1) * 0.4) + net
        default:
            let lg = nodeCount > 1 ? log2(Double(nodeCount)).rounded(.up) : 0
            return base + 2 * (Double(ranksPerNode - 1) * intra + lg * net)
        }
    }

    /// Whether NCCL enables PAT here (`ncclPatEnable`, src/graph/tuning.cc): one GPU per node
    /// (nNodes == nRanks), on more than one node.
    public var patEnabled: Bool { topology.ranksPerNode == 1 && topology.nodeCount > 1 }

    /// Latency of one `collective`, microseconds: ``latencyMicroseconds(_:_:)`` for an allreduce;
    /// for a reduce-scatter or an all-gather, the ring's n - 1 steps (nNodes - 1 of them across
    /// the network, x1.4 as for the allreduce) and PAT's own formula,
    /// `8 + log2i(nNodes) x interLat / 3.5 + 2.8 x nRanks`, with interLat the tree's network hop
    /// (at one GPU per node NCCL takes the tree's; src/graph/tuning.cc, NCCL 2.23+).
    public func latencyMicroseconds(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol, collective: Collective) -> Double {
        guard collective != .allreduce else { return latencyMicroseconds(algorithm, proto) }
        let t = topology
        if algorithm == .pat {
            let lg = Double(Int.bitWidth - 1 - max(1, t.nodeCount).leadingZeroBitCount)
            return 8 + lg * patHopMicroseconds(proto) + 2.8 * Double(rankCount)
        }
        let base = NCCLTuningTables.baseLatencyMicroseconds[algorithm.row][proto.column]
        let intra = NCCLTuningTables.hopLatencyMicroseconds[t.intraHardware.rawValue][algorithm.row][proto.column]
        let net = NCCLTuningTables.hopLatencyMicroseconds[NCCLHardware.network.rawValue][algorithm.row][proto.column]
        let steps = rankCount - 1, netSteps = nodeCount - 1
        var lat = base + Double(steps - netSteps) * intra + Double(netSteps) * net
        if proto == .simple && nodeCount > 1 && t.architecture.column >= GPUArchitecture.ampere.column {
            lat *= NCCLTuningTables.multiNodeRingSimpleLatencyFactor
        }
        return lat
    }

    /// PAT's latency per round: the tree's network hop over 3.5 (NCCL's `interLat / 3.5`).
    public func patHopMicroseconds(_ proto: NCCLProtocol) -> Double {
        NCCLTuningTables.hopLatencyMicroseconds[NCCLHardware.network.rawValue][NCCLAlgorithm.tree.row][proto.column] / 3.5
    }

    /// Algorithm bandwidth of one `collective`, GB/s: ``algorithmGBps(_:_:)`` for an allreduce;
    /// for a reduce-scatter or an all-gather, the ring's bus bandwidth x n / (n - 1) and PAT's
    /// 0.75 x the ring's Simple bus bandwidth, unconverted (NCCL converts only the ring's; PAT
    /// runs on the ring's channels here).
    public func algorithmGBps(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol, collective: Collective) -> Double {
        guard collective != .allreduce else { return algorithmGBps(algorithm, proto) }
        if algorithm == .pat { return proto == .simple ? 0.75 * busGBps(.ring, .simple) : 0 }
        guard algorithm == .ring else { return 0 }
        return busGBps(.ring, proto) * Double(rankCount) / Double(rankCount - 1)
    }

    /// The share of its bandwidth an allreduce of `bytes` gets in NCCL's model: the tree's
    /// measured efficiency by size (``NCCLTuningTables/treeCorrection(_:bytes:)``), 1 for the
    /// other algorithms.
    public func sizeEfficiency(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol, bytes: Double) -> Double {
        algorithm == .tree ? NCCLTuningTables.treeCorrection(proto, bytes: bytes) : 1
    }

    /// Seconds for `bytes` (the full buffer) of `collective` with `algorithm` and `proto`.
    public func seconds(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol, bytes: Double, collective: Collective) -> Double {
        guard rankCount > 1 else { return 0 }
        var bw = algorithmGBps(algorithm, proto, collective: collective)
        if collective == .allreduce { bw *= sizeEfficiency(algorithm, proto, bytes: bytes) }
        guard bw > 0 else { return .infinity }
        return (latencyMicroseconds(algorithm, proto, collective: collective) + bytes / (1000 * bw)) * 1e-6
    }

    /// NCCL's algorithm for a reduce-scatter or an all-gather of `bytes`: the ring, or PAT where
    /// NCCL enables it and its model's time is less (PAT runs Simple only). NVLS and CollNet,
    /// which NCCL also weighs for these collectives, are not modelled.
    public func bestAlgorithm(collective: Collective, bytes: Double) -> NCCLAlgorithm {
        guard collective != .allreduce else { return best(algorithms: algorithms, bytes: bytes).algorithm }
        var ring = Double.infinity
        for p in NCCLProtocol.allCases where isEnabled(p) { ring = min(ring, seconds(.ring, p, bytes: bytes, collective: collective)) }
        return patEnabled && seconds(.pat, .simple, bytes: bytes, collective: collective) < ring ? .pat : .ring
    }

    /// Whether NCCL runs `proto` here: LL128 needs NVLink inside nodes; NVLS runs Simple only.
    public func isEnabled(_ proto: NCCLProtocol, for algorithm: NCCLAlgorithm = .ring) -> Bool {
        if algorithm == .nvls || algorithm == .nvlsTree || algorithm == .collnetDirect || algorithm == .pat { return proto == .simple }
        return proto != .ll128 || topology.intraHardware == .nvlink
    }

    /// Seconds for an allreduce of `bytes` with `algorithm` and `proto`.
    public func seconds(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol, bytes: Double) -> Double {
        seconds(algorithm, proto, bytes: bytes, collective: .allreduce)
    }

    /// NCCL's pick among `algorithms` x `protocols` (every enabled protocol when nil).
    public func best(algorithms: [NCCLAlgorithm], protocols: [NCCLProtocol]? = nil, bytes: Double)
        -> (algorithm: NCCLAlgorithm, protocol: NCCLProtocol, seconds: Double)
    {
        var best: (NCCLAlgorithm, NCCLProtocol, Double) = (algorithms.first ?? .ring, .simple, .infinity)
        for a in algorithms where (algorithms.count == 1 ? forcible : self.algorithms).contains(a) {
            for p in protocols ?? NCCLProtocol.allCases where isEnabled(p, for: a) {
                let s = seconds(a, p, bytes: bytes)
                if s < best.2 { best = (a, p, s) }
            }
        }
        return best
    }
}
