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
    /// A CPU node's memory, shared by its ranks' same-node transfers and reductions (nil: GPUs,
    /// whose links and reductions do not share one resource).
    public var memory: NodeMemorySpec?

    public init(gpuName: String, gpuCount: Int, nvlink: NVLinkSpec?, pcie: LinkSpec?, nic: LinkSpec?, nicCount: Int,
                reduceGBps: Double?, stepOverheadMicroseconds: Double, memory: NodeMemorySpec? = nil) {
        self.memory = memory
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
    /// What is wrong with the cluster (``Fault``): empty for a healthy one. ``FabricMap`` applies
    /// them; a topology file lists them as specs under `faults`.
    public var faults: [Fault] = []

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

    /// The cluster a run of `nodes` nodes with `ranksPerNode` ranks each plays on (what
    /// `allreduce mpi --predict` simulates): the node's GPU count becomes the ranks per node,
    /// whatever the file says (a calibrated CPU node describes ranks sharing its memory, as many as
    /// the run starts), at most that many NICs, and a mesh keeps its pairs among those ranks.
    public func shaped(nodes: Int, ranksPerNode: Int) -> Topology {
        var t = with(nodes: nodes)
        t.node.gpuCount = ranksPerNode
        t.node.nicCount = Swift.min(t.node.nicCount, ranksPerNode)
        if var nv = t.node.nvlink, nv.fabric == .mesh {
            nv.pairs = nv.pairs.filter { $0.a < ranksPerNode && $0.b < ranksPerNode }
            t.node.nvlink = nv
        }
        return t
    }

    /// Throws a one-line ``TopologyError`` naming the field when the topology is inconsistent or
    /// out of the modelled range (``Topology/Limits``): counts beyond their bound (checked before
    /// any product is formed), a rate or time that is not finite and inside its range, a mesh pair
    /// out of range or listed twice, two GPUs that cannot reach each other, or several nodes
    /// without NICs. Work is O(pairs + gpus) except for a mesh without PCIe, O(gpus^2) with gpus
    /// bounded by ``Limits/maxGPUsPerNode``.
    public func validate() throws(TopologyError) {
        typealias L = Limits
        guard nodeCount >= 1 else { throw TopologyError(field: "nodes", message: "must be at least 1, got \(nodeCount)") }
        guard nodeCount <= L.maxRanks else {
            throw TopologyError(field: "nodes", message: "too large: \(nodeCount) nodes, at most \(L.maxRanks) are modelled")
        }
        guard node.gpuCount >= 1 else { throw TopologyError(field: "node.gpus", message: "must be at least 1, got \(node.gpuCount)") }
        guard node.gpuCount <= L.maxGPUsPerNode else {
            throw TopologyError(field: "node.gpus", message: "too large: \(node.gpuCount) GPUs per node, at most \(L.maxGPUsPerNode) are modelled")
        }
        let (ranks, overflow) = nodeCount.multipliedReportingOverflow(by: node.gpuCount)
        guard !overflow && ranks <= L.maxRanks else {
            throw TopologyError(field: "nodes", message: "too large: \(nodeCount) nodes x \(node.gpuCount) GPUs = \(overflow ? "more than \(Int.max)" : "\(ranks)") ranks, at most \(L.maxRanks) are modelled")
        }
        func checkLatency(_ value: Double, _ field: String) throws(TopologyError) {
            guard value.isFinite && value <= L.maxLatencyMicroseconds else {
                throw TopologyError(field: field, message: "too large: \(PhysicalUnit.formatLatency(value)), at most \(PhysicalUnit.formatLatency(L.maxLatencyMicroseconds))")
            }
            guard value >= 0 else { throw TopologyError(field: field, message: "must not be negative, got \(PhysicalUnit.formatLatency(value))") }
        }
        func checkBandwidth(_ value: Double, _ field: String) throws(TopologyError) {
            guard value > 0 else { throw TopologyError(field: field, message: "must be positive, got \(value) GB/s") }
            guard value >= L.bandwidthGBps.lowerBound else {
                throw TopologyError(field: field, message: "too small: \(value) GB/s, at least \(L.bandwidthGBps.lowerBound) GB/s (1 B/s)")
            }
            guard value.isFinite && value <= L.bandwidthGBps.upperBound else {
                throw TopologyError(field: field, message: "too large: \(value) GB/s, at most \(PhysicalUnit.shortest(L.bandwidthGBps.upperBound)) GB/s")
            }
        }
        func check(_ link: LinkSpec?, _ field: String) throws(TopologyError) {
            guard let link else { return }
            try checkBandwidth(link.bandwidthGBps, "\(field).bandwidth")
            try checkLatency(link.latencyMicroseconds, "\(field).latency")
            guard link.efficiency > 0 && link.efficiency <= 1 else {
                throw TopologyError(field: "\(field).efficiency", message: "must be in (0, 1], got \(link.efficiency)")
            }
            guard link.achievableGBps >= L.bandwidthGBps.lowerBound else {
                throw TopologyError(field: "\(field).efficiency", message: "too small: bandwidth x efficiency = \(link.achievableGBps) GB/s, at least \(L.bandwidthGBps.lowerBound) GB/s (1 B/s)")
            }
        }
        try check(node.nvlink?.link, "node.nvlink")
        try check(node.pcie, "node.pcie")
        try check(node.nic, "node.nics")
        // Which GPU pairs a mesh joins, when they must all be joined (no PCIe to fall back on).
        var joined: [Bool]? = node.nvlink?.fabric == .mesh && node.pcie == nil ? [Bool](repeating: false, count: node.gpuCount * node.gpuCount) : nil
        if let nv = node.nvlink {
            guard nv.linksPerGPU >= 1 && nv.linksPerGPU <= L.maxLinksPerGPU else {
                throw TopologyError(field: "node.nvlink.linksPerGPU", message: nv.linksPerGPU < 1 ? "must be at least 1" : "too large: \(nv.linksPerGPU), at most \(L.maxLinksPerGPU)")
            }
            var seen = Set<Int>()
            if let e = nv.switchReductionEfficiency, !(e > 0 && e <= 1) {
                throw TopologyError(field: "node.nvlink.switchReduction", message: "must be in (0, 1] or false, got \(e)")
            }
            for (i, p) in nv.pairs.enumerated() {
                guard p.a >= 0 && p.a < node.gpuCount && p.b >= 0 && p.b < node.gpuCount && p.a != p.b else {
                    throw TopologyError(field: "node.nvlink.pairs[\(i)]", message: "GPUs \(p.a) and \(p.b) must be two different GPUs in 0..<\(node.gpuCount)")
                }
                guard p.links >= 1 && p.links <= L.maxLinksPerGPU else {
                    throw TopologyError(field: "node.nvlink.pairs[\(i)]", message: p.links < 1 ? "link count must be at least 1" : "link count too large: \(p.links), at most \(L.maxLinksPerGPU)")
                }
                let key = Swift.min(p.a, p.b) * node.gpuCount + Swift.max(p.a, p.b)
                guard seen.insert(key).inserted else {
                    throw TopologyError(field: "node.nvlink.pairs[\(i)]", message: "GPUs \(p.a) and \(p.b) are listed twice; give each pair once with its link count")
                }
                if joined != nil { joined![p.a * node.gpuCount + p.b] = true; joined![p.b * node.gpuCount + p.a] = true }
            }
        }
        if let r = node.reduceGBps { try checkBandwidth(r, "node.reduceBandwidth") }
        if let m = node.memory {
            try checkBandwidth(m.transferGBps, "node.memory.transferBandwidth")
            try checkBandwidth(m.reduceGBps, "node.memory.reduceBandwidth")
            // Both tables: sizes of at least one byte, growing, and valid rates.
            func checkRegimes(_ list: [NodeMemorySpec.Regime], _ name: String, what: String) throws(TopologyError) {
                for (i, r) in list.enumerated() {
                    let field = list.count == 1 && name == "node.memory.cache" ? name : "\(name)[\(i)]"
                    guard r.bytes >= 1 else { throw TopologyError(field: field + ".bytes", message: "must be at least 1, got \(r.bytes)") }
                    if i > 0 && r.bytes <= list[i - 1].bytes {
                        throw TopologyError(field: field + ".bytes", message: "the \(what) must grow: \(ByteCount.format(r.bytes)) follows \(ByteCount.format(list[i - 1].bytes))")
                    }
                    try checkBandwidth(r.transferGBps, field + ".transferBandwidth")
                    try checkBandwidth(r.reduceGBps, field + ".reduceBandwidth")
                    if let pair = r.pairGBps { try checkBandwidth(pair, field + ".pairBandwidth") }
                }
            }
            try checkRegimes(m.cache, "node.memory.cache", what: "message sizes")
            try checkRegimes(m.workingSets, "node.memory.workingSets", what: "working sets")
            for (i, e) in m.inFlight.enumerated() {
                let field = "node.memory.inFlight[\(i)]"
                guard e.messages >= 1 else { throw TopologyError(field: field + ".messages", message: "must be at least 1, got \(e.messages)") }
                if i > 0 && e.messages <= m.inFlight[i - 1].messages {
                    throw TopologyError(field: field + ".messages", message: "the counts must grow: \(e.messages) follows \(m.inFlight[i - 1].messages)")
                }
                guard e.factor.isFinite && e.factor > 0 else { throw TopologyError(field: field + ".factor", message: "must be a positive number, got \(e.factor)") }
            }
        }
        try checkLatency(node.stepOverheadMicroseconds, "node.stepOverhead")
        // Reachability inside a node: NVSwitch and PCIe join every pair; a mesh only its pairs.
        if node.pcie == nil && node.gpuCount > 1 {
            guard node.nvlink != nil else {
                throw TopologyError(field: "node.nvlink", message: "GPU 0 cannot reach GPU 1: no NVLink between them and no PCIe")
            }
            if let joined {
                for a in 0..<node.gpuCount {
                    for b in (a + 1)..<node.gpuCount where !joined[a * node.gpuCount + b] {
                        throw TopologyError(field: "node.nvlink.pairs", message: "GPU \(a) cannot reach GPU \(b): no NVLink between them and no PCIe")
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
        guard network.leafPorts <= L.maxLeafPorts else {
            throw TopologyError(field: "network.leafPorts", message: "too large: \(network.leafPorts), at most \(L.maxLeafPorts)")
        }
        guard network.oversubscription >= 1 && network.oversubscription <= Double(network.leafPorts) else {
            throw TopologyError(field: "network.oversubscription", message: "must be between 1 and leafPorts (\(network.leafPorts)) (down:up port ratio), got \(network.oversubscription)")
        }
        try checkLatency(network.switchLatencyMicroseconds, "network.switchLatency")
        try checkLatency(network.stepOverheadMicroseconds, "network.stepOverhead")
    }

    /// The bounds of what is modelled, checked once by ``Topology/validate()`` (so by every
    /// ``FabricMap``), whatever the topology came from: a preset, `--topology switch` options or a
    /// file. docs/Limits.md lists them with the other limits.
    public enum Limits {
        /// GPUs per node: the fabric keeps per-pair tables (O(gpus^2)); the largest NVLink domains
        /// built (NVL72) and announced (NVL576) fit.
        public static let maxGPUsPerNode = 1024
        /// Ranks (nodes x GPUs per node), and so nodes.
        public static let maxRanks = 1 << 20
        /// NVLink links per GPU, and per mesh pair.
        public static let maxLinksPerGPU = 1024
        /// NIC-facing ports of a leaf switch.
        public static let maxLeafPorts = maxRanks
        /// Every bandwidth (link, NIC, reduction), per direction: 1 B/s to 1 EB/s, so that every
        /// time `bytes / rate` is finite.
        public static let bandwidthGBps: ClosedRange<Double> = 1e-9...1e9
        /// Every latency and overhead: at most 1000 s (and at least 0), so that sums over the
        /// steps of a run stay finite.
        public static let maxLatencyMicroseconds = 1e9
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

    /// One line: control characters the message quotes from a file (a key or value holding a
    /// newline) are escaped.
    public var description: String {
        let place = location.map { "\($0): " } ?? ""
        let text = field.isEmpty ? "\(place)\(message)" : "\(place)\(field): \(message)"
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var out = ""
        for u in text.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7F: out += "\\u{\(String(u.value, radix: 16))}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
