/// The link technologies the fabric model knows, with their default figures.
///
/// Every figure is *per direction* (a link carries as much in each direction at once). The
/// achievable fraction (`efficiency`) turns the line rate into what a bulk transfer reaches;
/// all three are defaults a topology file may override.
///
/// Sources (docs/Sources.md section 4 and vendor specifications):
/// - NVLink: NVIDIA quotes per-GPU *bidirectional* totals: V100 300 GB/s over 6 NVLink2 links,
///   A100 600 GB/s over 12 NVLink3 links, H100 900 GB/s over 18 NVLink4 links, B200 1800 GB/s
///   over 18 NVLink5 links; the A800 and H800 export parts keep 400 GB/s (8 links). So one link
///   moves 25 GB/s per direction (NVLink2/3/4) or 50 GB/s (NVLink5).
/// - PCIe x16 per direction, raw: Gen3 ~16, Gen4 ~32, Gen5 ~63 GB/s. NCCL models 12/24/48 GB/s,
///   i.e. ~75% achievable, which is the efficiency used here.
/// - InfiniBand 4x ports: EDR 100, HDR 200, NDR 400, XDR 800 Gb/s (12.5/25/50/100 GB/s).
///   RoCE at the Ethernet line rate. Switch port-to-port latency: ~130 ns for NVIDIA Quantum
///   InfiniBand switches, a few hundred ns for Ethernet (Spectrum) switches.
/// - Efficiencies of NVLink (0.80) and the networks (0.92 InfiniBand, 0.90 RoCE) are the ratio
///   of the bus bandwidth nccl-tests typically reports for large allreduces to the line rate
///   (for example ~230-240 GB/s of 300 GB/s on DGX A100 NVLink, ~46 GB/s of 50 GB/s on NDR).
///   They are model parameters, not measurements of this program.
/// - Latencies are per traversal of the link (adapter to adapter), excluding switch hops and the
///   per-step software overhead, which the node and network carry separately.
public enum LinkKind: String, CaseIterable, Sendable, Hashable, Codable {
    case nvlink2
    case nvlink3
    case nvlink4
    case nvlink5
    case pcieGen3 = "pcie-gen3"
    case pcieGen4 = "pcie-gen4"
    case pcieGen5 = "pcie-gen5"
    case infinibandEDR = "ib-edr"
    case infinibandHDR = "ib-hdr"
    case infinibandNDR = "ib-ndr"
    case infinibandXDR = "ib-xdr"
    case roce100 = "roce-100g"
    case roce200 = "roce-200g"
    case roce400 = "roce-400g"

    /// The default figures of one link of this kind.
    public var defaultSpec: LinkSpec {
        switch self {
        case .nvlink2, .nvlink3, .nvlink4:
            LinkSpec(kind: self, bandwidthGBps: 25, latencyMicroseconds: 0.3, efficiency: 0.80)
        case .nvlink5:
            LinkSpec(kind: self, bandwidthGBps: 50, latencyMicroseconds: 0.3, efficiency: 0.80)
        case .pcieGen3:
            LinkSpec(kind: self, bandwidthGBps: 16, latencyMicroseconds: 0.5, efficiency: 0.75)
        case .pcieGen4:
            LinkSpec(kind: self, bandwidthGBps: 32, latencyMicroseconds: 0.5, efficiency: 0.75)
        case .pcieGen5:
            LinkSpec(kind: self, bandwidthGBps: 63, latencyMicroseconds: 0.5, efficiency: 0.75)
        case .infinibandEDR:
            LinkSpec(kind: self, bandwidthGBps: 12.5, latencyMicroseconds: 0.6, efficiency: 0.92)
        case .infinibandHDR:
            LinkSpec(kind: self, bandwidthGBps: 25, latencyMicroseconds: 0.6, efficiency: 0.92)
        case .infinibandNDR:
            LinkSpec(kind: self, bandwidthGBps: 50, latencyMicroseconds: 0.6, efficiency: 0.92)
        case .infinibandXDR:
            LinkSpec(kind: self, bandwidthGBps: 100, latencyMicroseconds: 0.6, efficiency: 0.92)
        case .roce100:
            LinkSpec(kind: self, bandwidthGBps: 12.5, latencyMicroseconds: 1.0, efficiency: 0.90)
        case .roce200:
            LinkSpec(kind: self, bandwidthGBps: 25, latencyMicroseconds: 1.0, efficiency: 0.90)
        case .roce400:
            LinkSpec(kind: self, bandwidthGBps: 50, latencyMicroseconds: 1.0, efficiency: 0.90)
        }
    }

    /// Default port-to-port latency of a switch of this network family, in microseconds.
    public var switchHopLatencyMicroseconds: Double {
        switch self {
        case .roce100, .roce200, .roce400: 0.5
        default: 0.13
        }
    }

    /// NVLink SHARP (NVLS): the NVSwitch of this NVLink generation reduces and multicasts (third-
    /// generation NVSwitch with NVLink4, Hopper, and later), and multimem traffic through it
    /// reaches this fraction of a port's achievable rate: NCCL's `nvlsEfficiency` (src/tuning/
    /// nvls.cc, NCCL 2.30; docs/Sources.md section 5): 0.85 on Hopper, 0.74 on Blackwell. nil: the
    /// switch only forwards (NVLink2/3, and every non-NVLink kind).
    public var switchReductionEfficiency: Double? {
        switch self {
        case .nvlink4: 0.85
        case .nvlink5: 0.74
        default: nil
        }
    }

    /// Whether the kind is an NVLink generation.
    public var isNVLink: Bool { self == .nvlink2 || self == .nvlink3 || self == .nvlink4 || self == .nvlink5 }
    /// Whether the kind is a network (InfiniBand or RoCE) port.
    public var isNetwork: Bool { rawValue.hasPrefix("ib-") || rawValue.hasPrefix("roce-") }
    /// Whether the kind is a PCIe x16 link.
    public var isPCIe: Bool { rawValue.hasPrefix("pcie-") }

    /// Every kind name, for error messages.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: " ") }
}

/// One link's figures, per direction.
public struct LinkSpec: Sendable, Hashable {
    /// The technology, when the link is a known kind (otherwise custom figures).
    public var kind: LinkKind?
    /// Line rate per direction, GB/s (1e9 bytes/s).
    public var bandwidthGBps: Double
    /// One traversal, microseconds.
    public var latencyMicroseconds: Double
    /// Fraction of the line rate a bulk transfer reaches (0 < efficiency <= 1).
    public var efficiency: Double

    public init(kind: LinkKind? = nil, bandwidthGBps: Double, latencyMicroseconds: Double, efficiency: Double = 1) {
        self.kind = kind
        self.bandwidthGBps = bandwidthGBps
        self.latencyMicroseconds = latencyMicroseconds
        self.efficiency = efficiency
    }

    /// What a bulk transfer reaches, GB/s.
    public var achievableGBps: Double { bandwidthGBps * efficiency }
    /// What a bulk transfer reaches, bytes per second.
    public var achievableBytesPerSecond: Double { achievableGBps * 1e9 }
}

/// The GPUs the presets use: NVLink generation and link count, and memory bandwidth (which sets
/// how fast the GPU reduces: a reduction reads two operands and writes one, so it runs at about a
/// third of the memory bandwidth, bytes of one operand per second).
///
/// Figures from NVIDIA data sheets (docs/Sources.md section 4):
/// - NVLink per GPU, bidirectional: V100 300 GB/s (6 NVLink2 links), A100 600 (12 NVLink3),
///   A800 and H800 400 (8 links), H100, H200 and H20 900 (18 NVLink4), B200 and the Blackwell GPU
///   of GB200 1800 (18 NVLink5). L40S and GeForce RTX 4090 have no NVLink (PCIe Gen4 x16 only).
/// - Memory bandwidth: V100 SXM2 900 GB/s, A100 SXM 80GB 2039 (the A800 is the same part),
///   H100 SXM 3350 (H800 likewise), H20 4000 (HBM3), H200 SXM 4800 (HBM3e), B200 8000 (HBM3e;
///   DGX B200: 64 TB/s over 8 GPUs), GB200 8000 per GPU (GB200 NVL72: 576 TB/s over 72 GPUs),
///   L40S 864 (GDDR6), GeForce RTX 4090 1008 (GDDR6X, 21 Gb/s on 384 bits).
public enum GPUModel: String, CaseIterable, Sendable, Hashable {
    case v100 = "V100", a100 = "A100", a800 = "A800", h100 = "H100", h800 = "H800", h20 = "H20", h200 = "H200"
    case b200 = "B200", gb200 = "GB200", l40s = "L40S", rtx4090 = "RTX4090"

    /// The NVLink generation; nil for a GPU without NVLink.
    public var nvlinkKind: LinkKind? {
        switch self {
        case .v100: .nvlink2
        case .a100, .a800: .nvlink3
        case .h100, .h800, .h20, .h200: .nvlink4
        case .b200, .gb200: .nvlink5
        case .l40s, .rtx4090: nil
        }
    }

    /// NVLink links per GPU (A800/H800: 8 links = 400 GB/s bidirectional; 0 without NVLink).
    public var nvlinkCount: Int {
        switch self {
        case .v100: 6
        case .a100: 12
        case .a800, .h800: 8
        case .h100, .h20, .h200, .b200, .gb200: 18
        case .l40s, .rtx4090: 0
        }
    }

    public var memoryBandwidthGBps: Double {
        switch self {
        case .v100: 900
        case .a100, .a800: 2039
        case .h100, .h800: 3350
        case .h20: 4000
        case .h200: 4800
        case .b200, .gb200: 8000
        case .l40s: 864
        case .rtx4090: 1008
        }
    }

    /// Reduction throughput, GB/s of one operand: memory bandwidth / 3.
    public var reduceGBps: Double { (memoryBandwidthGBps / 3).rounded() }

    /// Peak dense BF16 tensor throughput, TFLOPS (no sparsity), from NVIDIA's datasheets: A100
    /// and A800 312; H100 SXM, H800 SXM and H200 989; H20 148; B200 2250 (DGX B200: 72 PFLOPS
    /// FP8 training over 8 GPUs, BF16 half of FP8's dense figure); GB200 2500 per Blackwell GPU
    /// (GB200 NVL72: 180 PFLOPS dense BF16 over 72); L40S 181 (362 with sparsity); GeForce RTX
    /// 4090 165 (FP16 with FP32 accumulate); V100 has no BF16: its FP16 tensor peak, 125
    /// (docs/Sources.md section 7).
    public var denseBF16TFLOPS: Double {
        switch self {
        case .v100: 125
        case .a100, .a800: 312
        case .h100, .h800, .h200: 989
        case .h20: 148
        case .b200: 2250
        case .gb200: 2500
        case .l40s: 181
        case .rtx4090: 165
        }
    }
}
