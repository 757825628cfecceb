/// Links, nodes, clusters, presets, topology files and closed-form costs.
@_exported import CollectiveCore

/// How the GPUs of a node are wired by NVLink.
public enum NVLinkFabric: String, Sendable, Hashable, CaseIterable {
    /// Every GPU's links go to NVSwitch chips: non-blocking, so a transfer between two GPUs is
    /// limited by the sender's and the receiver's own ports only (A100, H100 servers).
    case nvswitch
    /// Point-to-point links between listed pairs (the DGX-1 hybrid cube-mesh): a pair without a
    /// link talks over PCIe.
    case mesh
}

/// One NVLink connection of a mesh: GPUs `a` and `b` joined by `links` links.
public struct MeshPair: Sendable, Hashable {
    public var a: Int
    public var b: Int
    public var links: Int
    public init(_ a: Int, _ b: Int, links: Int) { self.a = a; self.b = b; self.links = links }
}

/// The NVLink fabric of a node.
public struct NVLinkSpec: Sendable, Hashable {
    public var fabric: NVLinkFabric
    /// One link (per direction).
    public var link: LinkSpec
    /// Links per GPU (NVSwitch: the GPU's port is `linksPerGPU` x one link).
    public var linksPerGPU: Int
    /// Mesh connections (empty for NVSwitch).
    public var pairs: [MeshPair]
    /// The NVSwitch reduces and multicasts (NVLink SHARP): the fraction of a port's achievable
    /// rate that traffic to and from the switch's reduction reaches. nil: the switches only
    /// forward (a mesh; NVSwitch before NVLink4). Defaults to the link kind's
    /// (``LinkKind/switchReductionEfficiency``) on NVSwitch.
    public var switchReductionEfficiency: Double?

    public init(fabric: NVLinkFabric, link: LinkSpec, linksPerGPU: Int, pairs: [MeshPair] = [],
                switchReductionEfficiency: Double?? = .none) {
        self.fabric = fabric
        self.link = link
        self.linksPerGPU = linksPerGPU
        self.pairs = pairs
        switch switchReductionEfficiency {
        case .some(let given): self.switchReductionEfficiency = fabric == .nvswitch ? given : nil
        case .none: self.switchReductionEfficiency = fabric == .nvswitch ? link.kind?.switchReductionEfficiency : nil
        }
    }

    /// Whether the NVSwitch reduces (NVLink SHARP).
    public var switchReduces: Bool { switchReductionEfficiency != nil }

    /// A GPU's NVSwitch port, GB/s per direction achievable.
    public var portAchievableGBps: Double { link.achievableGBps * Double(linksPerGPU) }
}

/// One server: its GPUs, how they are connected, and its network adapters.
///
/// GPU g uses NIC `g * nicCount / gpuCount`: one NIC per GPU when the counts match, otherwise
/// consecutive GPUs share a NIC. Every GPU reaches its NIC (and GPUs not joined by NVLink reach
/// each other) through its own PCIe x16 link when `pcie` is set; traffic to another node crosses
/// the sender's PCIe link, its NIC, the network, the receiver's NIC and the receiver's PCIe link.
public struct NodeSpec: Sendable, Hashable {
    /// GPU model name (a label; the figures below are what the model uses).
    public var gpuName: String
    public var gpuCount: Int
    public var nvlink: NVLinkSpec?
    /// Each GPU's PCIe link (to its NIC and to the host).
    public var pcie: LinkSpec?
    /// One network adapter port.
    public var nic: LinkSpec?
    public var nicCount: Int
    /// How fast a GPU reduces, GB/s of one operand (nil: reduction takes no time).
    public var reduceGBps: Double?
    /// Software time to launch one step (kernel or proxy hand-off), microseconds.
    public var stepOverheadMicroseconds: Double

    public init(gpuName: String, gpuCount: Int, nvlink: NVLinkSpec?, pcie: LinkSpec?, nic: LinkSpec?, nicCount: Int,
                reduceGBps: Double?, stepOverheadMicroseconds: Double) {
        self.gpuName = gpuName
        self.gpuCount = gpuCount
        self.nvlink = nvlink
        self.pcie = pcie
        self.nic = nic
        self.nicCount = nicCount
        self.reduceGBps = reduceGBps
        self.stepOverheadMicroseconds = stepOverheadMicroseconds
    }

    /// The NIC GPU `gpu` uses.
    @inlinable public func nicIndex(ofGPU gpu: Int) -> Int { nicCount == 0 ? -1 : gpu * nicCount / gpuCount }

    /// The NVLink link count between GPUs `a` and `b` of a mesh (0 when not joined).
    public func meshLinks(_ a: Int, _ b: Int) -> Int {
        guard let nvlink, nvlink.fabric == .mesh else { return 0 }
        var n = 0
        for p in nvlink.pairs where (p.a == a && p.b == b) || (p.a == b && p.b == a) { n += p.links }
        return n
    }
}

/// The network between nodes: a two-level leaf/spine fat-tree.
///
/// Each leaf switch has `leafPorts` ports facing NICs and `leafPorts / oversubscription` uplinks,
/// one to each spine switch; spines are non-blocking. Every port runs at the NIC's rate.
/// Without rail optimisation NICs fill leaves in order (node 0's NICs first); with it, NIC k of
/// every node goes to the leaves of rail k, so same-index GPUs of different nodes are one switch
/// apart. Routes to another leaf are fixed by destination (InfiniBand-style D-mod-K): the uplink
/// (and so the spine) is the destination NIC's port on its leaf modulo the uplink count, so on a
/// non-blocking tree every destination port has its own spine and flows to distinct NICs never
/// share a downlink.
public struct NetworkSpec: Sendable, Hashable {
    public var leafPorts: Int
    /// Down-to-up port ratio of a leaf (1 = non-blocking fat-tree).
    public var oversubscription: Double
    public var railOptimized: Bool
    public var switchLatencyMicroseconds: Double
    /// Extra software time per step of a transfer that crosses the network (proxy thread, RDMA
    /// post), microseconds, on top of the node's step overhead.
    public var stepOverheadMicroseconds: Double
    /// The switches reduce (InfiniBand SHARP, which NCCL reaches through its CollNet plugin): a
    /// NIC sends its data into the switch tree once and gets the sum back, where a ring crosses
    /// it 2(n - 1)/n times.
    public var sharp: Bool

    public init(leafPorts: Int, oversubscription: Double, railOptimized: Bool, switchLatencyMicroseconds: Double, stepOverheadMicroseconds: Double,
                sharp: Bool = false) {
        self.leafPorts = leafPorts
        self.oversubscription = oversubscription
        self.railOptimized = railOptimized
        self.switchLatencyMicroseconds = switchLatencyMicroseconds
        self.stepOverheadMicroseconds = stepOverheadMicroseconds
        self.sharp = sharp
    }

    /// Uplinks (= spines) per leaf.
    public var uplinksPerLeaf: Int { Swift.max(1, Int((Double(leafPorts) / oversubscription).rounded(.down))) }
}

/// A cluster: `nodeCount` identical nodes on one network. Ranks are numbered node by node:
/// rank r is GPU `r % gpuCount` of node `r / gpuCount`.
public struct Topology: Sendable, Hashable {
    public var name: String
    public var summary: String
    public var nodeCount: Int
    public var node: NodeSpec
    public var network: NetworkSpec

    public init(name: String, summary: String, nodeCount: Int, node: NodeSpec, network: NetworkSpec) {
        self.name = name
        self.summary = summary
        self.nodeCount = nodeCount
        self.node = node
        self.network = network
    }

    public var rankCount: Int { nodeCount * node.gpuCount }

    /// The same cluster with `nodes` nodes.
    public func with(nodes: Int) -> Topology {
        var t = self
        t.nodeCount = nodes
        return t
    }

    /// The same cluster using only the first `gpus` GPUs of each node (as nccl-tests' `-g`):
    /// the NICs those GPUs use are kept (GPU g uses NIC `g * nicCount / gpuCount`, so the count
    /// becomes the number of distinct NICs of GPUs 0 ..< gpus, which the kept GPUs then share by
    /// the same rule), and a mesh keeps only its pairs among the kept GPUs. Throws when `gpus`
    /// is not in 1 ... the node's GPU count.
    public func with(gpusPerNode gpus: Int) throws(TopologyError) -> Topology {
        guard gpus >= 1 && gpus <= node.gpuCount else {
            throw TopologyError(field: "node.gpus", message: "must be between 1 and \(node.gpuCount) (the GPUs of a \(name) node), got \(gpus)")
        }
        guard gpus < node.gpuCount else { return self }
        var t = self
        t.node.nicCount = Set((0..<gpus).map { node.nicIndex(ofGPU: $0) }).filter { $0 >= 0 }.count
        t.node.gpuCount = gpus
        t.summary = "\(summary); first \(gpus) of \(node.gpuCount) GPUs per node in use"
        if var nv = t.node.nvlink, nv.fabric == .mesh {
            nv.pairs = nv.pairs.filter { $0.a < gpus && $0.b < gpus }
            t.node.nvlink = nv
        }
        return t
    }

    /// Throws a one-line ``TopologyError`` naming the field when the topology is inconsistent:
    /// non-positive counts or rates, a mesh pair out of range, two GPUs that cannot reach each
    /// other, or several nodes without NICs.
    public func validate() throws(TopologyError) {
        guard nodeCount >= 1 else { throw TopologyError(field: "nodes", message: "must be at least 1, got \(nodeCount)") }
        guard node.gpuCount >= 1 else { throw TopologyError(field: "node.gpus", message: "must be at least 1, got \(node.gpuCount)") }
        func check(_ link: LinkSpec?, _ field: String) throws(TopologyError) {
            guard let link else { return }
            guard link.bandwidthGBps > 0 && link.bandwidthGBps.isFinite else {
                throw TopologyError(field: "\(field).bandwidth", message: "must be positive, got \(link.bandwidthGBps) GB/s")
            }
            guard link.latencyMicroseconds >= 0 && link.latencyMicroseconds.isFinite else {
                throw TopologyError(field: "\(field).latency", message: "must not be negative")
            }
            guard link.efficiency > 0 && link.efficiency <= 1 else {
                throw TopologyError(field: "\(field).efficiency", message: "must be in (0, 1], got \(link.efficiency)")
            }
        }
        try check(node.nvlink?.link, "node.nvlink")
        try check(node.pcie, "node.pcie")
        try check(node.nic, "node.nics")
        if let nv = node.nvlink {
            guard nv.linksPerGPU >= 1 else { throw TopologyError(field: "node.nvlink.linksPerGPU", message: "must be at least 1") }
            if let e = nv.switchReductionEfficiency, !(e > 0 && e <= 1) {
                throw TopologyError(field: "node.nvlink.switchReduction", message: "must be in (0, 1] or false, got \(e)")
            }
            for (i, p) in nv.pairs.enumerated() {
                guard p.a >= 0 && p.a < node.gpuCount && p.b >= 0 && p.b < node.gpuCount && p.a != p.b else {
                    throw TopologyError(field: "node.nvlink.pairs[\(i)]", message: "GPUs \(p.a) and \(p.b) must be two different GPUs in 0..<\(node.gpuCount)")
                }
                guard p.links >= 1 else { throw TopologyError(field: "node.nvlink.pairs[\(i)]", message: "link count must be at least 1") }
            }
        }
        if let r = node.reduceGBps, !(r > 0 && r.isFinite) {
            throw TopologyError(field: "node.reduceBandwidth", message: "must be positive")
        }
        guard node.stepOverheadMicroseconds >= 0 else { throw TopologyError(field: "node.stepOverhead", message: "must not be negative") }
        // Reachability inside a node.
        if node.pcie == nil {
            for a in 0..<node.gpuCount {
                for b in 0..<node.gpuCount where a != b {
                    let joined: Bool
                    if let nv = node.nvlink { joined = nv.fabric == .nvswitch || node.meshLinks(a, b) > 0 } else { joined = false }
                    if !joined {
                        throw TopologyError(field: node.nvlink == nil ? "node.nvlink" : "node.nvlink.pairs",
                                            message: "GPU \(a) cannot reach GPU \(b): no NVLink between them and no PCIe")
                    }
                }
            }
        }
        if node.nicCount < 0 { throw TopologyError(field: "node.nics.count", message: "must not be negative") }
        if node.nicCount > 0 && node.nic == nil { throw TopologyError(field: "node.nics", message: "a NIC count needs a NIC kind or bandwidth") }
        if node.nicCount > node.gpuCount {
            throw TopologyError(field: "node.nics.count", message: "\(node.nicCount) NICs for \(node.gpuCount) GPUs: at most one NIC per GPU is modelled")
        }
        if nodeCount > 1 && (node.nicCount == 0 || node.nic == nil) {
            throw TopologyError(field: "node.nics", message: "GPUs of node 0 cannot reach node 1: \(nodeCount) nodes need at least one NIC per node")
        }
        guard network.leafPorts >= 1 else { throw TopologyError(field: "network.leafPorts", message: "must be at least 1") }
        guard network.oversubscription >= 1 && network.oversubscription.isFinite else {
            throw TopologyError(field: "network.oversubscription", message: "must be at least 1 (down:up port ratio), got \(network.oversubscription)")
        }
        guard network.switchLatencyMicroseconds >= 0 else { throw TopologyError(field: "network.switchLatency", message: "must not be negative") }
        guard network.stepOverheadMicroseconds >= 0 else { throw TopologyError(field: "network.stepOverhead", message: "must not be negative") }
    }
}

/// A topology that is inconsistent or a file that does not describe one.
public struct TopologyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offending field, dotted (`node.nics.bandwidth`).
    public var field: String
    public var message: String
    /// The file and line, when read from a file.
    public var location: String?

    public init(field: String, message: String, location: String? = nil) {
        self.field = field
        self.message = message
        self.location = location
    }

    public var description: String {
        let place = location.map { "\($0): " } ?? ""
        return field.isEmpty ? "\(place)\(message)" : "\(place)\(field): \(message)"
    }
}
