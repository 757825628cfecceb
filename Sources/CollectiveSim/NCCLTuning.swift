import CollectiveCore
import CollectiveFabric

/// NCCL's protocols (NCCL src/include/device.h; docs/Sources.md).
public enum NCCLProtocol: String, CaseIterable, Sendable, Hashable {
    /// 8-byte stores of 4 bytes of data and a 4-byte flag: lowest latency, 50% payload.
    case ll = "LL"
    /// 128-byte lines with 120 bytes of payload.
    case ll128 = "LL128"
    /// Bulk copies through FIFO buffers, one synchronisation per step.
    case simple = "Simple"

    /// Column of the [algorithm][protocol] tables (NCCL_PROTO_LL, _LL128, _SIMPLE).
    @inlinable public var column: Int {
        switch self {
        case .ll: 0
        case .ll128: 1
        case .simple: 2
        }
    }

    /// Parses `LL`, `LL128` or `Simple` (case-insensitive).
    public init?(name: String) {
        guard let p = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else { return nil }
        self = p
    }

    /// Bytes on the wire per byte of payload: LL sends a 4-byte flag with every 4 bytes of data,
    /// LL128 8 bytes of flag per 120 of data, Simple none.
    public var wireBytesPerPayloadByte: Double {
        switch self {
        case .ll: 2
        case .ll128: 128.0 / 120.0
        case .simple: 1
        }
    }

    /// The payload one FIFO step of a channel carries, bytes: NCCL's buffer of a connection
    /// divided into its NCCL_STEPS (8) slots (src/include/device.h and comm.h, v2.30): LL
    /// 8 lines x 512 threads x 16 B per step, half of it data (32 KiB); LL128 120 x 8 B per
    /// thread x 640 threads, 120 of every 128 bytes data (~562 KiB); Simple 4 MiB / 8 = 512 KiB.
    public var chunkBytes: Int {
        switch self {
        case .ll: 32 * 1024
        case .ll128: 120 * 640 * 8 * 120 / 128
        case .simple: 512 * 1024
        }
    }
}

/// NCCL's algorithms, in NCCL's table order (NCCL_ALGO_TREE, _RING, _COLLNET_DIRECT,
/// _COLLNET_CHAIN, _NVLS, _NVLS_TREE).
public enum NCCLAlgorithm: String, CaseIterable, Sendable, Hashable {
    case tree, ring
    case collnetDirect = "collnet-direct"
    case collnetChain = "collnet-chain"
    case nvls
    case nvlsTree = "nvls-tree"
    /// PAT (Parallel Aggregated Trees, NCCL 2.23+): reduce-scatter and all-gather only, at one
    /// GPU per node (``PATSchedule``).
    case pat

    /// Row of the [algorithm][protocol] tables.
    @inlinable public var row: Int {
        switch self {
        case .tree: 0
        case .ring: 1
        case .collnetDirect: 2
        case .collnetChain: 3
        case .nvls: 4
        case .nvlsTree: 5
        case .pat: 6
        }
    }

    /// The schedule that plays this algorithm, when this build has one.
    public var schedule: AllreduceAlgorithm? {
        switch self {
        case .ring: .ncclRing
        case .tree: .ncclTree
        case .nvls: .ncclNVLS
        case .nvlsTree: .ncclNVLSTree
        case .collnetDirect: .ncclCollNet
        case .collnetChain: nil
        case .pat: .ncclPAT
        }
    }

    /// Parses NCCL's name as NCCL_ALGO spells it (`ring`, `tree`, `nvls`, `nvls-tree` or
    /// `nvlstree`, `collnet-direct` or `collnet`, `collnet-chain`; case-insensitive, `_` accepted
    /// for `-`).
    public init?(name: String) {
        let n = String(name.lowercased().map { $0 == "_" ? "-" : $0 })
        switch n {
        case "collnet", "collnetdirect": self = .collnetDirect
        case "nvlstree": self = .nvlsTree
        case "collnetchain": self = .collnetChain
        default: self.init(rawValue: n)
        }
    }

    /// The algorithms this build plays, as `nccl:NAME` choices, for help and error messages.
    public static var modelledNames: String {
        allCases.filter { $0.schedule != nil }.map { "nccl:\($0.rawValue)" }.joined(separator: " ")
    }
}

/// GPU generations, as NCCL's tuning tells them apart (compute capability 7.0, 8.0, 9.0, 10.0).
public enum GPUArchitecture: String, CaseIterable, Sendable, Hashable {
    case volta, ampere, hopper, blackwell

    /// The generation of a node: from its NVLink kind, else from its GPU name, else Ampere.
    public init(node: NodeSpec) {
        switch node.nvlink?.link.kind {
        case .nvlink2?: self = .volta
        case .nvlink3?: self = .ampere
        case .nvlink4?: self = .hopper
        case .nvlink5?: self = .blackwell
        default:
            let n = node.gpuName.uppercased()
            if n.hasPrefix("V100") { self = .volta }
            // Ada (L40S, RTX 4090: compute capability 8.9) has no column of its own: NCCL's
            // tuning.cc picks the table column by compute capability (>= 100, >= 90, >= 80),
            // so sm_89 reads the Ampere column, the closest one.
            else if n.hasPrefix("L40") || n.hasPrefix("RTX40") || n.hasPrefix("RTX 40") { self = .ampere }
            else if n.hasPrefix("H") || n.hasPrefix("GH") { self = .hopper }
            else if n.hasPrefix("B") || n.hasPrefix("GB") { self = .blackwell }
            else { self = .ampere }
        }
    }

    /// Column of the per-generation tables.
    @inlinable public var column: Int {
        switch self {
        case .volta: 0
        case .ampere: 1
        case .hopper: 2
        case .blackwell: 3
        }
    }
}

/// Where a hop goes, as NCCL's latency table tells hops apart (NCCL_HW_NVLINK, _PCI, _NET).
public enum NCCLHardware: Int, CaseIterable, Sendable, Hashable {
    case nvlink = 0, pci = 1, network = 2
}

/// NCCL's tuning constants (src/graph/tuning.cc and tuning.h, v2.30.7), as 2-D
/// [algorithm][protocol] tables laid out like NCCL's, so that each row can be compared with the
/// source line by line. Rows follow ``NCCLAlgorithm/row`` (tree, ring, collnet direct, collnet
/// chain, NVLS, NVLS tree), columns ``NCCLProtocol/column`` (LL, LL128, Simple). Latencies in
/// microseconds, bandwidths in GB/s.
public enum NCCLTuningTables {
    /// `baseLat`: the fixed cost of one collective (launch and first synchronisation).
    public static let baseLatencyMicroseconds: [[Double]] = [
        [6.8, 14.0, 8.4],  // Tree
        [6.6, 14.0, 8.4],  // Ring
        [0, 0, 0],         // CollNet Direct
        [0, 0, 0],         // CollNet Chain
        [0, 0, 0],         // NVLS
        [0, 0, 0],         // NVLS Tree
        [0, 0, 0],         // PAT (its latency is its own formula: ``NCCLModel/latencyMicroseconds(_:_:collective:)``)
    ]

    /// `hwLat[hw][algorithm][protocol]`: the latency of one hop (one step of the ring, one level of
    /// the tree) over NVLink, PCI or the network.
    public static let hopLatencyMicroseconds: [[[Double]]] = [
        [  // NVLink
            [0.6, 1.25, 4.0],  // Tree
            [0.6, 1.9, 3.4],   // Ring
            [0, 0, 3.7],       // CollNet Direct
            [0, 0, 2.8],       // CollNet Chain
            [0, 0, 25],        // NVLS
            [0, 0, 25],        // NVLS Tree
            [0, 0, 0],         // PAT (its latency is its own formula)
        ],
        [  // PCI
            [1.0, 1.9, 4.0],
            [1.0, 2.5, 5.7],
            [0, 0, 3.7],
            [0, 0, 2.8],
            [0, 0, 0],
            [0, 0, 0],
            [0, 0, 0],
        ],
        [  // Network
            [5.0, 8.5, 14],
            [2.7, 4.0, 14],
            [0, 0, 31],
            [0, 0, 30],
            [0, 0, 18],
            [0, 0, 20.9],
            [0, 0, 0],
        ],
    ]

    /// `llMaxBws[generation][nodes]`: the most LL reaches, bus bandwidth, for 1, 2 and more nodes.
    public static let llMaxBusGBps: [[Double]] = [
        [39.0, 39.0, 20.4],    // Volta
        [87.7, 22.5, 19.0],    // Ampere
        [141.0, 45.0, 35.0],   // Hopper
        [282.0, 90.0, 70.0],   // Blackwell
    ]

    /// `perChMaxRingLL128Bws`: LL128 ring bus bandwidth per channel, by generation.
    public static let perChannelMaxRingLL128GBps: [Double] = [20.0, 20.0, 36.7, 40.0]

    /// `perChMaxTreeBws[generation][nodes]`: tree bus bandwidth per channel, for 1, 2 and more
    /// nodes (Volta takes Ampere's figures, Blackwell Hopper's).
    public static let perChannelMaxTreeGBps: [[Double]] = [
        [24.0, 23.6, 17.8],
        [24.0, 23.6, 17.8],
        [38.7, 41.4, 36.0],
        [38.7, 41.4, 36.0],
    ]

    /// What one collective costs before its first step and after its last, besides NCCL's base
    /// latency, as nccl-tests times it (a loop of back-to-back calls on one stream): the host's
    /// enqueue, the kernel launch and the kernel's teardown, by generation, microseconds.
    /// NCCL's tuning model leaves it out (its ring LL latency on 8 NVLink GPUs is 15 us); the
    /// published small-message times are 26-44 us (docs/Sources.md: nccl-tests issue 123 for
    /// A100, 33.7 us at 8 B; Azure's ND H100 v5 and ND A100 v4 results at 1-8 KB), which these
    /// figures reproduce to within about 20%. Hopper and later launch faster (shorter kernel
    /// start-up through the copy engines and the grid scheduler).
    public static let launchOverheadMicroseconds: [Double] = [20.0, 20.0, 12.0, 12.0]

    /// The launch overhead a played collective pays, microseconds: ``launchOverheadMicroseconds``
    /// on one node, none across nodes. One process drives every GPU of a node when nccl-tests
    /// runs without MPI (`all_reduce_perf -g 8`, as Azure's benchmarking guide runs it,
    /// Benchmarks/NVIDIA/NCCLBandwidth.py): each call then launches the node's kernels one
    /// after another from one thread, and the host's launches set the pace of a small-message
    /// loop. Across nodes nccl-tests runs under MPI with one process per GPU (`mpirun ...
    /// all_reduce_perf -g 1`), as training frameworks do: a process's next launch overlaps the
    /// kernel still running on its stream, and a small message costs NCCL's own latency (2 and 4
    /// DGX H100 nodes, NCCL 2.26, 16 B: 25.0 and 34.8 us published, 25.2 and 35.2 us in NCCL's
    /// tree LL model; nccl-tests issue 309).
    @inlinable
    public static func playedLaunchOverheadMicroseconds(architectureColumn: Int, nodeCount: Int) -> Double {
        nodeCount > 1 ? 0 : launchOverheadMicroseconds[architectureColumn]
    }

    /// `treeCorrectionFactor[protocol][logSize]` (src/tuning/cost_model.cc; src/graph/tuning.cc
    /// before 2.30): NCCL's measured efficiency of the tree's bandwidth by size, powers of two
    /// from 64 B (logSize = log2i(bytes >> 6), 0 ..< 24). NCCL's comment: "Trees are not
    /// perfectly sticking to the model for medium sizes." Mid sizes run at 40-60% of the model's
    /// bandwidth; small and large ones at 90-100%.
    public static let treeCorrectionFactor: [[Double]] = [
        [1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.7, 0.7, 0.6, 0.5, 0.4, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0],  // LL
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0],  // LL128
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.7, 0.7, 0.8, 0.9, 0.9, 0.9],  // Simple
    ]

    /// The tree's efficiency for an allreduce of `bytes` with `proto`: ``treeCorrectionFactor`` at
    /// log2i(bytes / 64) (NCCL's log2i: 0 below 128 B), 1 beyond the table.
    public static func treeCorrection(_ proto: NCCLProtocol, bytes: Double) -> Double {
        let units = bytes >= 64 ? Int(Swift.min(bytes, 0x1p62)) >> 6 : 0
        let logSize = units > 1 ? floorLog2(units) : 0
        let row = treeCorrectionFactor[proto.column]
        return logSize < row.count ? row[logSize] : 1
    }

    /// Ring Simple latency across nodes is scaled by 1.4 on Ampere and later.
    public static let multiNodeRingSimpleLatencyFactor = 1.4

    /// NCCL's per-link NVLink bandwidth as its topology search sees it (src/graph/topo.h:
    /// SM70_NVLINK_BW, SM80_, SM90_, SM100_), GB/s per direction.
    public static let nvlinkPerLinkGBps: [Double] = [20.0, 20.0, 20.6, 40.1]

    /// The per-channel speeds NCCL's ring search tries, inside a node and between nodes
    /// (src/graph/search.cc: speedArrayIntra, sm90SpeedArrayIntra, sm100SpeedArrayIntra and the
    /// Inter arrays), GB/s.
    public static func searchSpeedsGBps(_ arch: GPUArchitecture, interNode: Bool) -> [Double] {
        switch (arch, interNode) {
        case (.volta, false), (.ampere, false): [40.0, 30.0, 20.0, 18.0, 15.0, 12.0, 10.0, 9.0, 7.0, 6.0, 5.0, 4.0, 3.0]
        case (.hopper, false): [60.0, 50.0, 40.0, 30.0, 24.0, 20.0, 15.0, 12.0, 11.0, 6.0, 3.0]
        case (.blackwell, false): [90.0, 80.0, 70.0, 60.0, 50.0, 45.0, 40.0, 30.0, 24.0, 20.0, 19.0, 18.0, 15.0, 12.0, 11.0, 6.0, 3.0]
        case (.volta, true), (.ampere, true): [48.0, 30.0, 28.0, 24.0, 20.0, 18.0, 15.0, 12.0, 10.0, 9.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.4, 1.2, 0.24, 0.12]
        case (.hopper, true): [48.0, 45.0, 42.0, 40.0, 30.0, 24.0, 22.0, 20.0, 17.5, 15.0, 12.0, 6.0, 3.0, 2.4, 1.2, 0.24, 0.12]
        case (.blackwell, true): [96.0, 48.0, 45.1, 42.0, 40.0, 30.0, 24.0, 22.0, 20.0, 17.5, 15.0, 12.0, 6.0, 3.0, 2.4, 1.2, 0.24, 0.12]
        }
    }

    /// Channels NVLS runs (NCCL_NVLS_NCHANNELS, default 16; src/transport/nvls.cc).
    public static let nvlsChannels = 16

    /// Bytes per thread below which NCCL takes channels away for a small operation
    /// (src/include/device.h: NCCL_LL_THREAD_THRESHOLD, _LL128_, _SIMPLE_), by protocol column;
    /// the ring LL threshold is multiplied by the rank count (tuning.cc).
    public static let threadThresholdBytes: [Int] = [8, 8, 64]
    /// Threads per channel of each protocol (NCCL_MAX_NTHREADS 640 for LL and Simple, LL128's 640).
    public static let threadsPerChannel: [Int] = [512, 640, 512]
}
