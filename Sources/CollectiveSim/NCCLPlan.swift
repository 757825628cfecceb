import CollectiveCore
import CollectiveFabric
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How one of NCCL's protocols moves data, as the event engine applies it to every transfer of a
/// played schedule:
/// - the run starts after the protocol's base latency and, on one node, the GPU's launch
///   overhead (``NCCLTuningTables/playedLaunchOverheadMicroseconds(architectureColumn:nodeCount:)``);
/// - a transfer arrives one *hop latency* after its last byte leaves, NCCL's figure for its path
///   (NVLink, PCI or the network; ``NCCLTuningTables/hopLatencyMicroseconds``), in place of the
///   fabric's own latencies and software overheads;
/// - the links carry the protocol's wire bytes (LL: 2 per payload byte; LL128: 128/120);
/// - a sender runs ahead of its receiver by at most `fifoBytes` (eager sends into the FIFO);
/// - one channel moves at most `channelCapGBps` of payload (one thread block per channel): the
///   bus-bandwidth caps of NCCL's tuning shared by the channels that run (the ring's LL cap and
///   LL128 per-channel cap times the search's channels; the tree's whole bus bandwidth,
///   ``NCCLModel/busGBps(_:_:)``, which holds its per-channel cap, pattern and protocol
///   factors, times NCCL's measured tree efficiency at the operation's size,
///   ``NCCLTuningTables/treeCorrection(_:bytes:)``); 0 means no cap, the links set the pace
///   (Simple rings).
public struct ProtocolTiming: Sendable, Hashable {
    public var ncclProtocol: NCCLProtocol
    public var startSeconds: Double
    public var nvlinkHopSeconds: Double
    public var pcieHopSeconds: Double
    public var networkHopSeconds: Double
    public var wireBytesPerPayloadByte: Double
    public var channelCapGBps: Double
    /// Payload a connection's FIFO holds: how far a sender may run ahead of its receiver
    /// (NCCL_STEPS steps of the protocol).
    public var fifoBytes: Double

    public init(ncclProtocol: NCCLProtocol, startSeconds: Double, nvlinkHopSeconds: Double, pcieHopSeconds: Double,
                networkHopSeconds: Double, wireBytesPerPayloadByte: Double, channelCapGBps: Double, fifoBytes: Double? = nil) {
        self.fifoBytes = fifoBytes ?? Double(8 * ncclProtocol.chunkBytes)
        self.ncclProtocol = ncclProtocol
        self.startSeconds = startSeconds
        self.nvlinkHopSeconds = nvlinkHopSeconds
        self.pcieHopSeconds = pcieHopSeconds
        self.networkHopSeconds = networkHopSeconds
        self.wireBytesPerPayloadByte = wireBytesPerPayloadByte
        self.channelCapGBps = channelCapGBps
    }

    /// NCCL's figures for `algorithm` with `proto` on `topology`, run over `channels` channels;
    /// `sizeEfficiency` scales the tree's cap (``NCCLPlan/sizeEfficiency``).
    public init(_ algorithm: NCCLAlgorithm, _ proto: NCCLProtocol, model: NCCLModel, channels: Int, sizeEfficiency: Double = 1) {
        let topology = model.topology
        let row = algorithm.row, col = proto.column
        let hop = NCCLTuningTables.hopLatencyMicroseconds
        let arch = topology.architecture.column, nodes = topology.nodesColumn
        let launch = NCCLTuningTables.playedLaunchOverheadMicroseconds(architectureColumn: arch, nodeCount: topology.nodeCount)
        let running = Double(max(1, channels))
        let searched = Double(topology.searchChannels)
        let llPerChannel = NCCLTuningTables.llMaxBusGBps[arch][nodes] / running
        let treePerChannel = model.busGBps(.tree, proto) * sizeEfficiency / running
        var cap = 0.0
        switch (algorithm, proto) {
        case (.ring, .ll): cap = llPerChannel
        case (.ring, .ll128): cap = NCCLTuningTables.perChannelMaxRingLL128GBps[arch] * searched / running
        case (.ring, .simple): cap = 0
        case (.nvls, _), (.nvlsTree, _), (.collnetDirect, _): cap = 0
        default: cap = treePerChannel
        }
        if algorithm == .pat {
            // PAT's latency, 8 + 2.8 x nRanks us once and interLat / 3.5 per round (every hop of
            // a round is one round of its trees), Simple only, no per-channel cap.
            let hopSeconds = model.patHopMicroseconds(proto) * 1e-6
            self.init(ncclProtocol: proto,
                      startSeconds: (8 + 2.8 * Double(model.rankCount) + launch) * 1e-6,
                      nvlinkHopSeconds: hopSeconds, pcieHopSeconds: hopSeconds, networkHopSeconds: hopSeconds,
                      wireBytesPerPayloadByte: proto.wireBytesPerPayloadByte, channelCapGBps: 0)
            return
        }
        if algorithm == .nvls || algorithm == .nvlsTree || algorithm == .collnetDirect {
            // NCCL's NVLS latency (hwLat, 25 us on NVLink) is its model's latency for the node
            // part (no base, no per-hop terms: src/tuning/nvls.cc), charged once at the start; the
            // hops to and from the switches add none of their own. Across nodes NVLS (through
            // SHARP) adds the network's 18 us once; NVLS tree pays its 20.9 us on every hop
            // between nodes, as its model's 2 log2(nodes) network hops do. CollNet Direct's
            // latency (its scatter, gather and network round trip) is charged once the same way.
            let net = hop[NCCLHardware.network.rawValue][row][col]
            let once = algorithm == .nvlsTree ? hop[NCCLHardware.nvlink.rawValue][row][col] : model.latencyMicroseconds(algorithm, proto)
            self.init(ncclProtocol: proto,
                      startSeconds: (once + launch) * 1e-6,
                      nvlinkHopSeconds: 0, pcieHopSeconds: 0, networkHopSeconds: algorithm == .nvlsTree ? net * 1e-6 : 0,
                      wireBytesPerPayloadByte: proto.wireBytesPerPayloadByte, channelCapGBps: 0)
            return
        }
        self.init(ncclProtocol: proto,
                  startSeconds: (NCCLTuningTables.baseLatencyMicroseconds[row][col] + launch) * 1e-6,
                  nvlinkHopSeconds: hop[NCCLHardware.nvlink.rawValue][row][col] * 1e-6,
                  pcieHopSeconds: hop[NCCLHardware.pci.rawValue][row][col] * 1e-6,
                  networkHopSeconds: hop[NCCLHardware.network.rawValue][row][col] * 1e-6,
                  wireBytesPerPayloadByte: proto.wireBytesPerPayloadByte,
                  channelCapGBps: cap)
    }

    /// The hop latency of a path of kind `kind`, seconds.
    @inlinable
    public func hopLatencySeconds(_ kind: FabricMap.PathKind) -> Double {
        switch kind {
        case .nvlink: nvlinkHopSeconds
        case .pcie: pcieHopSeconds
        case .network: networkHopSeconds
        }
    }
}

/// What NCCL runs for one allreduce: algorithm, protocol, channels, and the chunk each step of a
/// channel carries.
public struct NCCLPlan: Sendable, Hashable, CustomStringConvertible {
    public var algorithm: NCCLAlgorithm
    public var ncclProtocol: NCCLProtocol
    public var channels: Int
    public var chunkBytes: Int
    /// The share of the model's bandwidth NCCL's model gives the operation's size
    /// (``NCCLModel/sizeEfficiency(_:_:bytes:)``: the tree's measured efficiency, 1 otherwise);
    /// the played tree's per-channel cap is scaled by it.
    public var sizeEfficiency: Double

    public init(algorithm: NCCLAlgorithm, ncclProtocol: NCCLProtocol, channels: Int, chunkBytes: Int, sizeEfficiency: Double = 1) {
        self.algorithm = algorithm
        self.ncclProtocol = ncclProtocol
        self.channels = channels
        self.chunkBytes = chunkBytes
        self.sizeEfficiency = sizeEfficiency
    }

    /// `ring/LL128/16ch`.
    public var description: String { "\(algorithm.rawValue)/\(ncclProtocol.rawValue)/\(channels)ch" }
}

/// Chooses what NCCL would run, as NCCL does: the algorithm and protocol with the least time in
/// its tuning model (``NCCLModel``), the channels of its topology search trimmed for small
/// operations (``NCCLTopology/channels(for:_:bytes:)``), and the protocol's chunk. Each choice can
/// be forced, as NCCL_ALGO, NCCL_PROTO and NCCL_MIN/MAX_NCHANNELS do; what is not forced is still
/// chosen as NCCL would.
public struct NCCLPlanner: Sendable {
    public let model: NCCLModel

    public init(fabric: FabricMap) { model = NCCLModel(fabric: fabric) }

    public var topology: NCCLTopology { model.topology }

    /// The plan for `bytes` per rank.
    public func plan(bytes: Double, algorithm: NCCLAlgorithm? = nil, protocol proto: NCCLProtocol? = nil, channels: Int? = nil) -> NCCLPlan {
        let pick = model.best(algorithms: algorithm.map { [$0] } ?? model.algorithms, protocols: proto.map { [$0] }, bytes: bytes)
        let a = algorithm ?? pick.algorithm
        let p = proto ?? pick.protocol
        let c = channels ?? topology.channels(for: a, p, bytes: bytes)
        let channelCount = max(1, min(c, ScheduleParameters.maxChannels))
        return NCCLPlan(algorithm: a, ncclProtocol: p, channels: channelCount,
                        chunkBytes: Self.chunkBytes(a, p, bytes: bytes, channels: channelCount, topology: topology),
                        sizeEfficiency: model.sizeEfficiency(a, p, bytes: bytes))
    }

    /// The chunk a step of the played schedule carries. Rings forward every FIFO step. Trees with
    /// Simple move one FIFO step per chunk (NCCL's chunkSteps is the ring's alone), halved while
    /// the operation gives each channel too few chunks to fill the tree's pipeline
    /// (``treeSimpleChunkBytes(bytes:channels:topology:)``); with LL and LL128, whose lines are
    /// forwarded as they arrive, a chunk is cut to a slice's share of the tree's depth (at least
    /// 1 KiB, at most a step), so that forwarding whole chunks level by level costs about what
    /// NCCL's line-by-line forwarding does.
    public static func chunkBytes(_ a: NCCLAlgorithm, _ p: NCCLProtocol, bytes: Double, channels: Int, topology: NCCLTopology) -> Int {
        if a == .nvlsTree { return nvlsTreeChunkBytes(bytes: bytes, channels: channels, topology: topology) }
        if a == .nvls || a == .collnetDirect {
            // NVLS: NCCL's 128 KiB per head, halved down to 16 KiB while the operation is small
            // against channels x heads concurrent chunks (src/enqueue.cc, computeColl); CollNet
            // Direct is cut the same way over its g shard owners.
            var chunk = NVLSSchedule.defaultChunkBytes
            let heads = a == .collnetDirect ? topology.ranksPerNode : topology.nvlsHeads
            let concurrent = Double(channels * Swift.max(1, heads))
            if bytes < 64 * concurrent * Double(chunk) && chunk > 65536 { chunk = 65536 }
            if bytes < 8 * concurrent * Double(chunk) && chunk > 32768 { chunk = 32768 }
            if bytes < 2 * concurrent * Double(chunk) && chunk > 16384 { chunk = 16384 }
            return chunk
        }
        guard a == .tree else { return p.chunkBytes }
        if p == .simple { return treeSimpleChunkBytes(bytes: bytes, channels: channels, topology: topology) }
        let levels = topology.ranksPerNode + Int(log2(Double(max(1, topology.nodeCount))).rounded(.up)) + 1
        let slice = bytes / Double(max(1, channels))
        return Swift.max(1024, Swift.min(p.chunkBytes, Int(slice / Double(2 * levels))))
    }

    /// NCCL's chunk for NVLS tree (src/enqueue.cc, calcCollChunking, NCCL 2.19-2.26): the NVLS
    /// chunk (NCCL_NVLS_CHUNKSIZE, 128 KiB), capped at 64 KiB from four nodes on
    /// (NCCL_NVLSTREE_MAX_CHUNKSIZE's default), then cut to 64 KiB while the operation is below
    /// 4 x channels x heads chunks and to 32 KiB below 1 x. These are NVLS tree's own thresholds;
    /// NVLS alone cuts earlier (64 x, 8 x, 2 x) and further (16 KiB).
    public static func nvlsTreeChunkBytes(bytes: Double, channels: Int, topology: NCCLTopology) -> Int {
        var chunk = NVLSSchedule.defaultChunkBytes
        if topology.nodeCount >= 4 { chunk = Swift.min(chunk, 65536) }
        let concurrent = Double(channels * Swift.max(1, topology.nvlsHeads))
        if bytes < 32 * concurrent * Double(chunk) && chunk > 262_144 { chunk = 262_144 }
        if bytes < 16 * concurrent * Double(chunk) && chunk > 131_072 { chunk = 131_072 }
        if bytes < 4 * concurrent * Double(chunk) && chunk > 65536 { chunk = 65536 }
        if bytes < 1 * concurrent * Double(chunk) && chunk > 32768 { chunk = 32768 }
        return chunk
    }

    /// NCCL's chunk for the tree with Simple (src/enqueue.cc, computeColl / calcCollChunking,
    /// NCCL 2.12-2.23): one FIFO step (``NCCLProtocol/chunkBytes``, 512 KiB), halved while
    /// `bytes / (channels x chunk)` is below 8 x the tree's depth and the chunk above 128 KiB,
    /// then below 4 x the depth above 64 KiB, then below the depth above 32 KiB. The depth is
    /// the chain inside a node plus the tree between nodes, GPUs per node - 1 + floor(log2 nodes)
    /// (`channel->tree.depth`, src/graph/connect.cc). So a mid-size operation still gives each
    /// channel enough chunks for every level of the tree to work at once.
    public static func treeSimpleChunkBytes(bytes: Double, channels: Int, topology: NCCLTopology) -> Int {
        let nodes = Swift.max(1, topology.nodeCount)
        let depth = Double(Swift.max(1, topology.ranksPerNode) - 1 + floorLog2(nodes))
        let perChannel = bytes / Double(Swift.max(1, channels))
        var chunk = NCCLProtocol.simple.chunkBytes
        while (perChannel / Double(chunk)).rounded(.down) < depth * 8 && chunk > 131_072 { chunk /= 2 }
        while (perChannel / Double(chunk)).rounded(.down) < depth * 4 && chunk > 65_536 { chunk /= 2 }
        while (perChannel / Double(chunk)).rounded(.down) < depth && chunk > 32_768 { chunk /= 2 }
        return chunk
    }

    /// The engine's protocol figures for `plan`.
    public func timing(_ plan: NCCLPlan) -> ProtocolTiming {
        ProtocolTiming(plan.algorithm, plan.ncclProtocol, model: model, channels: plan.channels, sizeEfficiency: plan.sizeEfficiency)
    }
}
