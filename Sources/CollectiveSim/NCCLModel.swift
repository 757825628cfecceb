import CollectiveCore
import CollectiveFabric
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// NCCL's protocols (FACTS.md section 5).
public enum NCCLProtocol: String, CaseIterable, Sendable, Hashable {
    /// 8-byte stores of 4 bytes of data and a 4-byte flag: lowest latency, 50% payload.
    case ll = "LL"
    /// 128-byte lines with 120 bytes of payload.
    case ll128 = "LL128"
    /// Bulk copies through FIFO buffers.
    case simple = "Simple"
}

/// NCCL's tuning model for allreduce (src/graph/tuning.cc, v2.30.7; FACTS.md section 5),
/// re-derived: `time_us = latency + bytes / (1000 * algBw)` for ring and tree under each protocol,
/// and NCCL picks the fastest pair.
///
/// - Latency: ring `base + (2(n-1) - 2(nNodes-1)) intraHop + 2(nNodes-1) interHop`; tree
///   `base + 2((ranksPerNode-1) intraHop + log2(nNodes) interHop)`. The intra hop is NVLink when the
///   node has NVLink, PCI otherwise; the inter hop is NET.
/// - Bandwidth: the per-GPU bandwidth NCCL's topology search finds: inside a node, NCCL's per-link
///   NVLink figure (SM70/80: 20, SM90: 20.6, SM100: 40.1 GB/s) times the GPU's links, or PCIe
///   12/24/48 GB/s (Gen3/4/5); between nodes the NIC line rate / 8000 (GB/s) times NICs per GPU.
///   Ring bus bandwidth is the smaller of the two (across nodes); LL halves it and caps it, LL128
///   takes 92%; tree takes 92% capped per channel. Algorithm bandwidth = busBw x n / (2(n-1))
///   for ring and busBw / 2 for tree.
public struct NCCLModel: Sendable {
    public let rankCount: Int
    public let nodeCount: Int
    public let ranksPerNode: Int
    /// Whether GPUs of a node talk over NVLink (else PCIe).
    public let nvlinkIntra: Bool
    /// Per-GPU bandwidth inside a node, GB/s (NCCL's figures).
    public let intraGBps: Double
    /// Per-GPU network bandwidth, GB/s (NCCL's figures).
    public let interGBps: Double
    /// Channels NCCL would use (caps per channel).
    public let channels: Int

    // tuning.cc, v2.30.7 (FACTS.md section 5). Index: LL, LL128, Simple.
    static let baseLatencyRing: [Double] = [6.6, 14.0, 8.4]
    static let baseLatencyTree: [Double] = [6.8, 14.0, 8.4]
    static let nvlinkHopRing: [Double] = [0.6, 1.9, 3.4]
    static let nvlinkHopTree: [Double] = [0.6, 1.25, 4.0]
    static let pciHopRing: [Double] = [1.0, 2.5, 5.7]
    static let pciHopTree: [Double] = [1.0, 1.9, 4.0]
    static let netHopRing: [Double] = [2.7, 4.0, 14.0]
    static let netHopTree: [Double] = [5.0, 8.5, 14.0]
    /// LL bandwidth caps by node count (1, 2, more), Ampere-class figures of tuning.h.
    static let llMaxGBps: [Double] = [87.7, 22.5, 19.0]
    /// Tree bandwidth cap per channel by node count (1, 2, more).
    static let treeMaxPerChannelGBps: [Double] = [24.0, 22.5, 16.0]
    /// LL128 allreduce cap per channel.
    static let ll128MaxPerChannelGBps = 16.9

    public init(fabric: FabricMap) {
        let t = fabric.topology
        rankCount = fabric.rankCount
        nodeCount = fabric.nodeCount
        ranksPerNode = fabric.gpusPerNode
        if let nv = t.node.nvlink {
            nvlinkIntra = true
            let perLink: Double
            switch nv.link.kind {
            case .nvlink2?, .nvlink3?: perLink = 20
            case .nvlink4?: perLink = 20.6
            case .nvlink5?: perLink = 40.1
            default: perLink = nv.link.achievableGBps
            }
            intraGBps = perLink * Double(nv.linksPerGPU)
        } else if let pcie = t.node.pcie {
            nvlinkIntra = false
            intraGBps = pcie.bandwidthGBps * 0.75
        } else {
            nvlinkIntra = false
            intraGBps = t.node.nic.map { $0.bandwidthGBps } ?? 0
        }
        if let nic = t.node.nic, t.node.nicCount > 0 {
            interGBps = nic.bandwidthGBps * Double(t.node.nicCount) / Double(max(1, t.node.gpuCount))
        } else {
            interGBps = 0
        }
        // NCCL runs about two channels per NIC across nodes and one per NVLink-class link inside.
        let linkChannels = Int((intraGBps / 20).rounded(.up))
        channels = max(2, min(32, nodeCount > 1 ? 2 * t.node.nicCount : linkChannels))
    }

    var nodeIndex: Int { nodeCount <= 1 ? 0 : (nodeCount == 2 ? 1 : 2) }

    /// Ring or tree bus bandwidth before the per-algorithm ratio, GB/s.
    func busGBps(_ algorithm: AllreduceAlgorithm, _ proto: NCCLProtocol) -> Double {
        var bw = nodeCount > 1 ? min(intraGBps, interGBps) : intraGBps
        if algorithm == .tree && nodeCount > 1 { bw = interGBps == 0 ? bw : min(intraGBps, interGBps) }
        switch (algorithm, proto) {
        case (.ring, .ll): bw = min(Self.llMaxGBps[nodeIndex], bw * 0.5)
        case (.ring, .ll128): bw = min(bw * 0.92, Self.ll128MaxPerChannelGBps * Double(channels))
        case (.tree, .simple), (.tree, .ll128): bw = min(bw * 0.92, Self.treeMaxPerChannelGBps[nodeIndex] * Double(channels))
        case (.tree, .ll): bw = min(bw * 0.5, Self.llMaxGBps[nodeIndex])
        default: break
        }
        return bw
    }

    /// Latency of one allreduce, microseconds.
    public func latencyMicroseconds(_ algorithm: AllreduceAlgorithm, _ proto: NCCLProtocol) -> Double {
        let i = NCCLProtocol.allCases.firstIndex(of: proto)!
        if algorithm == .ring {
            let intra = nvlinkIntra ? Self.nvlinkHopRing[i] : Self.pciHopRing[i]
            let steps = 2 * (rankCount - 1)
            let netSteps = 2 * (nodeCount - 1)
            return Self.baseLatencyRing[i] + Double(steps - netSteps) * intra + Double(netSteps) * Self.netHopRing[i]
        } else {
            let intra = nvlinkIntra ? Self.nvlinkHopTree[i] : Self.pciHopTree[i]
            let lg = nodeCount > 1 ? log2(Double(nodeCount)).rounded(.up) : 0
            return Self.baseLatencyTree[i] + 2 * (Double(ranksPerNode - 1) * intra + lg * Self.netHopTree[i])
        }
    }

    /// Algorithm bandwidth, GB/s.
    public func algorithmGBps(_ algorithm: AllreduceAlgorithm, _ proto: NCCLProtocol) -> Double {
        let bus = busGBps(algorithm, proto)
        if algorithm == .ring { return bus * Double(rankCount) / Double(2 * (rankCount - 1)) }
        return bus * 0.5
    }

    /// Seconds for `bytes` with `algorithm` (ring or tree) and `proto`.
    public func seconds(_ algorithm: AllreduceAlgorithm, _ proto: NCCLProtocol, bytes: Double) -> Double {
        guard rankCount > 1 else { return 0 }
        let us = latencyMicroseconds(algorithm, proto) + bytes / (1000 * algorithmGBps(algorithm, proto))
        return us * 1e-6
    }

    /// NCCL's pick among `algorithms` (ring, tree) x every protocol.
    public func best(algorithms: [AllreduceAlgorithm], bytes: Double) -> (algorithm: AllreduceAlgorithm, protocol: NCCLProtocol, seconds: Double) {
        var best: (AllreduceAlgorithm, NCCLProtocol, Double) = (algorithms[0], .simple, .infinity)
        for a in algorithms where a == .ring || a == .tree {
            for p in NCCLProtocol.allCases {
                let s = seconds(a, p, bytes: bytes)
                if s < best.2 { best = (a, p, s) }
            }
        }
        return best
    }
}

