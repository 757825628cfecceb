/// Ready-made clusters. Each preset is one node; `--nodes N` (or ``Topology/with(nodes:)``)
/// makes a cluster of N of them. Figures: ``LinkKind`` and ``GPUModel`` (docs/Sources.md section 4).
extension Topology {
    /// Names of every preset, in listing order (`switch` is built from its own options).
    public static let presetNames = [
        "dgx1-v100", "dgx-a100", "hgx-a800", "dgx-h100", "dgx-h100-roce", "hgx-h800", "hgx-h800-roce", "hgx-h20", "hgx-h200",
        "dgx-b200", "gb200", "gb200-nvl72", "l40s-pcie", "rtx4090-pcie", "nd-a100-v4", "nd-h100-v5", "nd-h200-v5", "switch",
    ]

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
        case "dgx-h100-roce":
            // DGX H100 user guide: the ConnectX-7 ports run InfiniBand or Ethernet (400 GbE);
            // NVIDIA Spectrum SN5600 data sheet: 64 x 800 GbE = 128 x 400 GbE, 64 down for a non-blocking leaf.
            return server(
                name: "dgx-h100-roce",
                summary: "NVIDIA DGX H100 on Ethernet: 8 x H100 SXM, NVSwitch (NVLink4, 900 GB/s per GPU), PCIe Gen5, 8 x 400 GbE RoCE, rail-optimized",
                gpu: .h100, fabric: .nvswitch, pcie: .pcieGen5, nic: .roce400, nics: 8, leafPorts: 64, rail: true)
        case "hgx-h800-roce":
            return server(
                name: "hgx-h800-roce",
                summary: "HGX H800 on Ethernet: 8 x H800 SXM, NVSwitch with NVLink cut to 400 GB/s per GPU (8 links), PCIe Gen5, 8 x 400 GbE RoCE, rail-optimized",
                gpu: .h800, fabric: .nvswitch, pcie: .pcieGen5, nic: .roce400, nics: 8, leafPorts: 64, rail: true)
        case "hgx-h20":
            // NVIDIA HGX H20 product brief: NVLink 900 GB/s, HBM3 4.0 TB/s, PCIe Gen5 x16. NICs: the
            // 8 x ConnectX-7 400 Gb/s of the HGX H100/H200 reference design (a choice: the brief gives none).
            return server(
                name: "hgx-h20",
                summary: "HGX H20: 8 x H20, NVSwitch (NVLink4, 18 links = 900 GB/s per GPU), PCIe Gen5, 8 x NDR 400 Gb/s InfiniBand, rail-optimized",
                gpu: .h20, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 8, leafPorts: 32, rail: true)
        case "hgx-h200":
            // NVIDIA H200 data sheet: NVLink 900 GB/s, HBM3e 4.8 TB/s, PCIe Gen5; DGX H200: 8 x ConnectX-7 400 Gb/s.
            return server(
                name: "hgx-h200",
                summary: "HGX H200: 8 x H200 SXM, NVSwitch (NVLink4, 18 links = 900 GB/s per GPU), PCIe Gen5, 8 x NDR 400 Gb/s InfiniBand, rail-optimized",
                gpu: .h200, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 8, leafPorts: 32, rail: true)
        case "dgx-b200":
            // NVIDIA DGX B200 data sheet: 8 x B200, NVLink5 1.8 TB/s per GPU (14.4 TB/s in all), 64 TB/s
            // HBM3e, 8 x single-port ConnectX-7 up to 400 Gb/s InfiniBand (PCIe Gen5 x16 adapters).
            return server(
                name: "dgx-b200",
                summary: "NVIDIA DGX B200: 8 x B200, NVSwitch (NVLink5, 18 links = 1800 GB/s per GPU), PCIe Gen5, 8 x NDR 400 Gb/s InfiniBand, rail-optimized",
                gpu: .b200, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 8, leafPorts: 32, rail: true)
        case "gb200":
            // NVIDIA GB200 NVL72 reference configuration (Multi-Node NVLink tuning guide): a compute tray
            // holds 2 GB200 superchips = 4 Blackwell GPUs and 4 ConnectX-7 400 Gb/s (PCIe Gen5 x16) for the
            // compute network. Modelled as a node of its own: its NVLink5 ports to the rack's NVSwitch
            // trays carry only the tray's traffic here.
            return server(
                name: "gb200",
                summary: "GB200 compute tray: 4 x Blackwell GPU (2 GB200 superchips), NVLink5 (1800 GB/s per GPU) over NVSwitch, PCIe Gen5 to 4 x NDR 400 Gb/s InfiniBand, rail-optimized",
                gpu: .gb200, gpus: 4, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 4, leafPorts: 32, rail: true)
        case "gb200-nvl72":
            // NVIDIA GB200 NVL72 specifications: 72 Blackwell GPUs in one NVLink domain (9 NVLink switch
            // trays, 130 TB/s = 72 x 1.8 TB/s), 576 TB/s HBM3e; 18 compute trays of 4 ConnectX-7
            // 400 Gb/s: one NIC per GPU. `--nodes N` counts racks. NICs fill leaves in order (a rail
            // per NIC index would take 72 rails).
            return server(
                name: "gb200-nvl72",
                summary: "GB200 NVL72 rack: 72 x Blackwell GPU in one NVLink5 domain (NVSwitch, 1800 GB/s per GPU), PCIe Gen5 to 72 x NDR 400 Gb/s InfiniBand on a non-blocking fat-tree",
                gpu: .gb200, gpus: 72, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 72, leafPorts: 32, rail: false)
        case "l40s-pcie":
            // NVIDIA L40S data sheet: PCIe Gen4 x16, no NVLink, 864 GB/s GDDR6. NICs: 2 x 200 GbE RoCE,
            // one per CPU socket (a choice: servers ship with 1 to 4 ports); NVIDIA Spectrum SN4700:
            // 64 x 200 GbE, 32 down for a non-blocking leaf.
            return server(
                name: "l40s-pcie",
                summary: "8 x L40S on PCIe Gen4 x16 (no NVLink), 2 x 200 GbE RoCE shared by 4 GPUs each",
                gpu: .l40s, fabric: nil, pcie: .pcieGen4, nic: .roce200, nics: 2, leafPorts: 32, rail: false)
        case "rtx4090-pcie":
            // NVIDIA GeForce RTX 4090 specifications: PCIe Gen4 x16, no NVLink, 24 GB GDDR6X at 1008 GB/s.
            // NICs as l40s-pcie (a choice).
            return server(
                name: "rtx4090-pcie",
                summary: "8 x GeForce RTX 4090 on PCIe Gen4 x16 (no NVLink), 2 x 200 GbE RoCE shared by 4 GPUs each",
                gpu: .rtx4090, fabric: nil, pcie: .pcieGen4, nic: .roce200, nics: 2, leafPorts: 32, rail: false)
        case "nd-h200-v5":
            // Azure ND H200 v5 documentation: 8 x H200, 400 Gb/s Quantum-2 ConnectX-7 InfiniBand per GPU
            // (3.2 Tb/s per VM) on a non-blocking fat-tree, as ND H100 v5.
            return server(
                name: "nd-h200-v5",
                summary: "Azure ND H200 v5: 8 x H200 SXM, NVSwitch (NVLink4), PCIe Gen5, 8 x NDR 400 Gb/s Quantum-2 InfiniBand on a non-blocking fat-tree",
                gpu: .h200, fabric: .nvswitch, pcie: .pcieGen5, nic: .infinibandNDR, nics: 8, leafPorts: 32, rail: false)
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

    /// One node of `gpus` GPUs of model `gpu`: NVLink of the GPU's generation over `fabric` (nil:
    /// none, the GPUs talk over PCIe), each GPU's PCIe link of kind `pcie`, `nics` NICs of kind
    /// `nic` (GPU g uses NIC g * nics / gpus), on leaves of `leafPorts` NIC-facing ports.
    static func server(name: String, summary: String, gpu: GPUModel, gpus: Int = 8, fabric: NVLinkFabric?, pcie: LinkKind,
                       nic: LinkKind, nics: Int, leafPorts: Int, rail: Bool) -> Topology {
        var nvlink: NVLinkSpec? = nil
        if let fabric, let kind = gpu.nvlinkKind {
            nvlink = NVLinkSpec(fabric: fabric, link: kind.defaultSpec, linksPerGPU: gpu.nvlinkCount,
                                pairs: fabric == .mesh ? dgx1CubeMesh : [])
        }
        return Topology(
            name: name, summary: summary, nodeCount: 1,
            node: NodeSpec(gpuName: gpu.rawValue, gpuCount: gpus, nvlink: nvlink, pcie: pcie.defaultSpec, nic: nic.defaultSpec,
                           nicCount: nics, reduceGBps: gpu.reduceGBps, stepOverheadMicroseconds: defaultStepOverheadMicroseconds),
            network: NetworkSpec(leafPorts: leafPorts, oversubscription: 1, railOptimized: rail,
                                 switchLatencyMicroseconds: nic.switchHopLatencyMicroseconds,
                                 stepOverheadMicroseconds: defaultNetworkStepOverheadMicroseconds))
    }
}
