/// Ready-made clusters. Each preset is one node; `--nodes N` (or ``Topology/with(nodes:)``)
/// makes a cluster of N of them. Figures: ``LinkKind`` and ``GPUModel`` (docs/Sources.md section 4).
extension Topology {
    /// Names of every preset, in listing order (`switch` is built from its own options).
    public static let presetNames = ["dgx1-v100", "dgx-a100", "hgx-a800", "dgx-h100", "hgx-h800", "nd-a100-v4", "nd-h100-v5", "switch"]

    /// The preset called `name`, with one node; nil when unknown. `switch` gives 8 ranks at
    /// 100 GB/s and 1 us; use ``switchCluster(ranks:bandwidthGBps:latencyMicroseconds:)`` to choose.
    public static func preset(_ name: String) -> Topology? {
        switch name.lowercased() {
        case "dgx1-v100":
            return server(
                name: "dgx1-v100",
                summary: "NVIDIA DGX-1 (V100): 8 x V100 SXM2 in a hybrid cube-mesh of NVLink2 (6 links per GPU, no NVSwitch), PCIe Gen3, 4 x EDR InfiniBand shared by GPU pairs",
                gpu: .v100, fabric: .mesh, pcie: .pcieGen3, nic: .infinibandEDR, nics: 4, leafPorts: 18, rail: false)
        case "dgx-a100":
            return server(
                name: "dgx-a100",
                summary: "NVIDIA DGX A100: 8 x A100 SXM, NVSwitch (NVLink3, 12 links = 600 GB/s per GPU), PCIe Gen4, 8 x HDR 200 Gb/s InfiniBand, rail-optimized",
                gpu: .a100, fabric: .nvswitch, pcie: .pcieGen4, nic: .infinibandHDR, nics: 8, leafPorts: 20, rail: true)
        case "hgx-a800":
            return server(
                name: "hgx-a800",
                summary: "HGX A800: 8 x A800 SXM, NVSwitch with NVLink cut to 400 GB/s per GPU (8 links), PCIe Gen4, 8 x HDR 200 Gb/s InfiniBand, rail-optimized",
                gpu: .a800, fabric: .nvswitch, pcie: .pcieGen4, nic: .infinibandHDR, nics: 8, leafPorts: 20, rail: true)
        case "dgx-h100":
            return server(
                name: "dgx-h100",
                summary: "NVIDIA DGX H100: 8 x H100 SXM, NVSwitch (NVLink4, 18 links = 900 GB/s per GPU), PCIe Gen5, 8 x NDR 400 Gb/s InfiniBand, rail-optimized",
                gpu: .h100, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 8, leafPorts: 32, rail: true)
        case "hgx-h800":
            return server(
                name: "hgx-h800",
                summary: "HGX H800: 8 x H800 SXM, NVSwitch with NVLink cut to 400 GB/s per GPU (8 links), PCIe Gen5, 8 x NDR 400 Gb/s InfiniBand, rail-optimized",
                gpu: .h800, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 8, leafPorts: 32, rail: true)
        case "nd-a100-v4":
            return server(
                name: "nd-a100-v4",
                summary: "Azure ND A100 v4: 8 x A100 SXM, NVSwitch (NVLink3), PCIe Gen4, 8 x HDR 200 Gb/s InfiniBand on a non-blocking fat-tree",
                gpu: .a100, fabric: .nvswitch, pcie: .pcieGen4, nic: .infinibandHDR, nics: 8, leafPorts: 20, rail: false)
        case "nd-h100-v5":
            return server(
                name: "nd-h100-v5",
                summary: "Azure ND H100 v5: 8 x H100 SXM, NVSwitch (NVLink4), PCIe Gen5, 8 x NDR 400 Gb/s Quantum-2 InfiniBand on a non-blocking fat-tree",
                gpu: .h100, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 8, leafPorts: 32, rail: false)
        case "switch":
            return switchCluster(ranks: 8, bandwidthGBps: 100, latencyMicroseconds: 1)
        default:
            return nil
        }
    }

    /// `ranks` single-GPU nodes on one non-blocking switch: every transfer costs exactly
    /// `latencyMicroseconds + bytes / bandwidth`, reductions are free and there is no software
    /// overhead, so the alpha-beta closed forms apply exactly (alpha = latency, beta = 1/bandwidth).
    public static func switchCluster(ranks: Int, bandwidthGBps: Double, latencyMicroseconds: Double) -> Topology {
        Topology(
            name: "switch",
            summary: "\(ranks) ranks on one non-blocking switch, \(PhysicalUnit.formatBandwidth(bandwidthGBps)) per direction, \(PhysicalUnit.formatLatency(latencyMicroseconds)) per message",
            nodeCount: max(ranks, 1),
            node: NodeSpec(
                gpuName: "rank", gpuCount: 1, nvlink: nil, pcie: nil,
                nic: LinkSpec(bandwidthGBps: bandwidthGBps, latencyMicroseconds: latencyMicroseconds, efficiency: 1),
                nicCount: 1, reduceGBps: nil, stepOverheadMicroseconds: 0),
            network: NetworkSpec(leafPorts: max(ranks, 1), oversubscription: 1, railOptimized: false,
                                 switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0))
    }

    /// The DGX-1 hybrid cube-mesh (as `nvidia-smi topo -m` shows it on a DGX-1 V100): two fully
    /// connected quads {0,1,2,3} and {4,5,6,7} plus GPU i <-> i+4; pairs 0-3, 1-2, 4-7, 5-6
    /// and every i <-> i+4 use two links, the rest one: 6 links per GPU.
    public static let dgx1CubeMesh: [MeshPair] = [
        MeshPair(0, 1, links: 1), MeshPair(0, 2, links: 1), MeshPair(0, 3, links: 2), MeshPair(1, 2, links: 2),
        MeshPair(1, 3, links: 1), MeshPair(2, 3, links: 1), MeshPair(4, 5, links: 1), MeshPair(4, 6, links: 1),
        MeshPair(4, 7, links: 2), MeshPair(5, 6, links: 2), MeshPair(5, 7, links: 1), MeshPair(6, 7, links: 1),
        MeshPair(0, 4, links: 2), MeshPair(1, 5, links: 2), MeshPair(2, 6, links: 2), MeshPair(3, 7, links: 2),
    ]

    /// Default software overhead per step inside a node, microseconds: between NCCL's per-hop
    /// NVLink latency for LL (0.6 us) and Simple (3.4 us) (docs/Sources.md section 5), less the link's own latency.
    public static let defaultStepOverheadMicroseconds = 1.0
    /// Default extra overhead per step of a network transfer (proxy thread, RDMA post), microseconds.
    public static let defaultNetworkStepOverheadMicroseconds = 1.5

    static func server(name: String, summary: String, gpu: GPUModel, fabric: NVLinkFabric, pcie: LinkKind, nic: LinkKind, nics: Int,
                       leafPorts: Int, rail: Bool) -> Topology {
        let nvlink = NVLinkSpec(fabric: fabric, link: gpu.nvlinkKind.defaultSpec, linksPerGPU: gpu.nvlinkCount,
                                pairs: fabric == .mesh ? dgx1CubeMesh : [])
        return Topology(
            name: name, summary: summary, nodeCount: 1,
            node: NodeSpec(gpuName: gpu.rawValue, gpuCount: 8, nvlink: nvlink, pcie: pcie.defaultSpec, nic: nic.defaultSpec,
                           nicCount: nics, reduceGBps: gpu.reduceGBps, stepOverheadMicroseconds: defaultStepOverheadMicroseconds),
            network: NetworkSpec(leafPorts: leafPorts, oversubscription: 1, railOptimized: rail,
                                 switchLatencyMicroseconds: nic.switchHopLatencyMicroseconds,
                                 stepOverheadMicroseconds: defaultNetworkStepOverheadMicroseconds))
    }
}
