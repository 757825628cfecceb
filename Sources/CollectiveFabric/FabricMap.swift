/// The links of a ``Topology`` numbered densely, and the path every transfer takes: what an
/// engine needs to play transfers over the fabric.
///
/// Directed links (each direction of a cable is its own link, as the figures are per direction):
///
///     per node:  NVSwitch fabric: GPU g's port out, GPU g's port in          (2 x gpus)
///                mesh fabric:     one link per ordered GPU pair (a, b)        (gpus x gpus)
///                PCIe: GPU g up (to NIC / host), GPU g down                   (2 x gpus, if any)
///                NIC k transmit (into its leaf), NIC k receive                (2 x nics)
///                the node's memory (a CPU node, ``NodeSpec/memory``)          (1, if any)
///     per leaf:  uplink s (leaf -> spine s), downlink s (spine s -> leaf)     (2 x uplinks)
///
/// Paths, in order:
///
///     same node, NVSwitch:  [out(a), in(b)]                 NVLink latency
///     same node, mesh pair: [pair(a, b)]                    NVLink latency
///     same node, otherwise: [pcieUp(a), pcieDown(b)]        PCIe latency
///     same node, with memory: the path above + [memory]     at most the memory's transfer rate
///     other node:           [pcieUp(a)?, tx(nic a), leafUp?, leafDown?, rx(nic b), pcieDown(b)?]
///                           2 x PCIe + NIC latency + 1 switch hop (same leaf) or 3 (via a spine)
///
/// A transfer moves at its path's bottleneck rate; its latency includes the per-step software
/// overhead (the node's, plus the network's for inter-node transfers).
///
/// Switch endpoints (``Schedule/switchCount``), numbered after the ranks:
///
///     rankCount + k            node k's NVSwitch, when it reduces (NVLink SHARP,
///                              ``NVLinkSpec/switchReductionEfficiency``)
///     rankCount + nodes + i    the network's switches reducing for GPU i of every node (InfiniBand
///                              SHARP, ``NetworkSpec/sharp``): the aggregation tree of GPU i's NIC
///
/// A transfer into node k's NVSwitch crosses the GPU's port out only, `[out(a)]`, and one out of
/// it the GPU's port in only, `[in(b)]`: the switch multicasts by writing to several ports, and
/// adds what several ports bring in, without a port of its own; both move at the port's
/// achievable rate times the switch's reduction efficiency. A transfer into the network's
/// reduction crosses the GPU's PCIe and its NIC's transmit link, `[pcieUp(a)?, tx(nic a)]`, one
/// out of it `[rx(nic b), pcieDown(b)?]`, at the NIC's rate, with the latency of a path through a
/// spine (the aggregation tree's leaf and spine add as the data passes).
public struct FabricMap: Sendable {
    public let topology: Topology
    public let gpusPerNode: Int
    public let nodeCount: Int
    public let rankCount: Int
    public let linksPerNode: Int
    public let leafCount: Int
    public let uplinksPerLeaf: Int
    /// Total directed links.
    public let linkCount: Int
    /// Nodes whose NVSwitch reduces (all or none): endpoints `rankCount ..< rankCount + reducingSwitchCount`.
    public let reducingSwitchCount: Int

    /// Whether a rank runs its channels apart, each at its own pace: on GPU nodes, where NCCL
    /// runs every channel in its own thread block. On a CPU node (one with ``NodeSpec/memory``)
    /// a rank is one MPI process that issues its whole program in order, channels interleaved
    /// (what `allreduce mpi` runs), so a channel's step waits behind the steps issued before it.
    public var channelsRunApart: Bool { topology.node.memory == nil }
    /// Whether the network's switches reduce (SHARP) on this cluster (several nodes with NICs).
    public let networkReduces: Bool
    /// The topology's faults resolved on this map (nil: a healthy cluster, which pays nothing
    /// for them): routes run at the slowest degraded link of their path and go around a down
    /// spine link (D-mod-K over the spines still up).
    public private(set) var faults: FabricFaults?
    /// Whether ``faults`` is set, and whether a spine cable is down: what ``route(from:to:links:)``
    /// tests (a flag, where testing the optional would copy the faults' arrays on every route).
    @usableFromInline private(set) var _faulty = false
    @usableFromInline private(set) var _spineCableDown = false

    /// Why a schedule with `switches` switch endpoints cannot be played here (nil: it can): the
    /// first `nodeCount` need NVSwitches that reduce (unless `nodeSwitches` is false: the
    /// schedule leaves them idle), the next `gpusPerNode` a network that does.
    public func switchEndpointProblem(_ switches: Int, nodeSwitches: Bool = true) -> String? {
        guard switches > 0 else { return nil }
        if nodeSwitches && reducingSwitchCount == 0 {
            return "the NVSwitches of \(topology.name) do not reduce (NVLink SHARP needs NVLink4, Hopper, or later)"
        }
        if switches > nodeCount && !networkReduces {
            return "across nodes it reduces in the network's switches (InfiniBand SHARP), which \(topology.name) does not have (set network.sharp in a topology file, or --sharp)"
        }
        if switches > nodeCount + gpusPerNode { return "\(switches) switch endpoints, more than the \(nodeCount + gpusPerNode) of this cluster" }
        return nil
    }

    // Intra-node paths, by ordered GPU pair a * gpus + b.
    /// Mesh NVLink links per ordered pair (empty unless the fabric is a mesh).
    @usableFromInline let _meshLinks: [Int32]
    @usableFromInline let _intraFirst: [Int]
    @usableFromInline let _intraSecond: [Int]
    @usableFromInline let _intraBytesPerSecond: [Double]
    @usableFromInline let _intraLatencySeconds: [Double]
    // Inter-node pieces.
    @usableFromInline let _pcieUp: Int      // offset of GPU 0's PCIe up link in a node, -1 if none
    @usableFromInline let _pcieDown: Int
    @usableFromInline let _nicTx: Int
    @usableFromInline let _nicRx: Int
    @usableFromInline let _nicCount: Int
    @usableFromInline let _memory: Int     // offset of the node's memory link, -1 if none
    @usableFromInline let _leafBase: Int
    @usableFromInline let _leavesPerRail: Int
    @usableFromInline let _leafPorts: Int
    @usableFromInline let _rail: Bool
    @usableFromInline let _interBytesPerSecond: Double
    @usableFromInline let _interLatencySameLeaf: Double
    @usableFromInline let _interLatencyViaSpine: Double
    // Switch endpoints: offsets of the GPU ports out and in, rate and latency.
    @usableFromInline let _nvOut: Int
    @usableFromInline let _nvIn: Int
    @usableFromInline let _switchBytesPerSecond: Double
    @usableFromInline let _switchLatencySeconds: Double

    /// Largest number of links on a path.
    public static let maxPathLinks = 6

    /// Bytes the map's tables take for `topology` (per GPU pair: two link ids, a rate and a
    /// latency, plus a mesh's link count), nil beyond `Int.max`. Meaningful for a validated
    /// topology (gpus bounded by ``Topology/Limits/maxGPUsPerNode``).
    public static func estimatedBytes(_ topology: Topology) -> Int? {
        let (pairs, o) = topology.node.gpuCount.multipliedReportingOverflow(by: topology.node.gpuCount)
        let (bytes, o2) = pairs.multipliedReportingOverflow(by: 4 * 8 + 4)
        return o || o2 ? nil : bytes
    }

    /// Validates `topology` (``Topology/validate()``) and refuses, before allocating, a map that
    /// would not fit in the memory available (``SystemMemory``).
    public init(_ topology: Topology) throws(TopologyError) {
        try topology.validate()
        do {
            try SystemMemory.check(needed: Self.estimatedBytes(topology), for: "the fabric model of \(topology.node.gpuCount) GPUs per node")
        } catch {
            throw TopologyError(field: "node.gpus", message: error.description)
        }
        self.topology = topology
        let node = topology.node
        let g = node.gpuCount
        gpusPerNode = g
        nodeCount = topology.nodeCount
        rankCount = topology.rankCount
        let overhead = node.stepOverheadMicroseconds * 1e-6

        var offset = 0
        var nvOut = -1, nvIn = -1, meshBase = -1
        if let nv = node.nvlink {
            switch nv.fabric {
            case .nvswitch: nvOut = 0; nvIn = g; offset = 2 * g
            case .mesh: meshBase = 0; offset = g * g
            }
        }
        _nvOut = nvOut
        _nvIn = nvIn
        if let nv = node.nvlink, nv.fabric == .nvswitch, let e = nv.switchReductionEfficiency {
            reducingSwitchCount = topology.nodeCount
            _switchBytesPerSecond = nv.portAchievableGBps * 1e9 * e
            _switchLatencySeconds = overhead + nv.link.latencyMicroseconds * 1e-6
        } else {
            reducingSwitchCount = 0
            _switchBytesPerSecond = 0
            _switchLatencySeconds = .infinity
        }
        if node.pcie != nil { _pcieUp = offset; _pcieDown = offset + g; offset += 2 * g } else { _pcieUp = -1; _pcieDown = -1 }
        _nicCount = node.nic == nil ? 0 : node.nicCount
        _nicTx = offset; _nicRx = offset + _nicCount; offset += 2 * _nicCount
        if node.memory != nil { _memory = offset; offset += 1 } else { _memory = -1 }
        linksPerNode = offset
        memoryReduceSecondsPerByte = node.memory.map { 1 / ($0.reduceGBps * 1e9) } ?? 0
        memoryTransferSecondsPerByte = node.memory.map { 1 / ($0.transferGBps * 1e9) } ?? 0

        var mesh: [Int32] = []
        if let nv = node.nvlink, nv.fabric == .mesh {
            mesh = [Int32](repeating: 0, count: g * g)
            for p in nv.pairs {
                mesh[p.a * g + p.b] += Int32(p.links)
                mesh[p.b * g + p.a] += Int32(p.links)
            }
        }
        _meshLinks = mesh
        var first = [Int](repeating: -1, count: g * g), second = [Int](repeating: -1, count: g * g)
        var bps = [Double](repeating: .infinity, count: g * g), lat = [Double](repeating: overhead, count: g * g)
        for a in 0..<g {
            for b in 0..<g where a != b {
                let i = a * g + b
                if let nv = node.nvlink, nv.fabric == .nvswitch {
                    first[i] = nvOut + a; second[i] = nvIn + b
                    bps[i] = nv.portAchievableGBps * 1e9
                    lat[i] = overhead + nv.link.latencyMicroseconds * 1e-6
                } else if let nv = node.nvlink, !mesh.isEmpty, mesh[i] > 0 {
                    first[i] = meshBase + i
                    bps[i] = nv.link.achievableGBps * 1e9 * Double(mesh[i])
                    lat[i] = overhead + nv.link.latencyMicroseconds * 1e-6
                } else if let pcie = node.pcie {
                    first[i] = _pcieUp + a; second[i] = _pcieDown + b
                    bps[i] = pcie.achievableBytesPerSecond
                    lat[i] = overhead + pcie.latencyMicroseconds * 1e-6
                } else {
                    throw TopologyError(field: "node.nvlink", message: "GPU \(a) cannot reach GPU \(b)")
                }
                if let memory = node.memory { bps[i] = min(bps[i], memory.transferGBps * 1e9) }
            }
        }
        _intraFirst = first; _intraSecond = second; _intraBytesPerSecond = bps; _intraLatencySeconds = lat

        let net = topology.network
        _leafPorts = net.leafPorts
        _rail = net.railOptimized
        uplinksPerLeaf = net.uplinksPerLeaf
        if _nicCount > 0 {
            if net.railOptimized {
                _leavesPerRail = (topology.nodeCount + net.leafPorts - 1) / net.leafPorts
                leafCount = _leavesPerRail * _nicCount
            } else {
                _leavesPerRail = 0
                leafCount = (topology.nodeCount * _nicCount + net.leafPorts - 1) / net.leafPorts
            }
        } else {
            _leavesPerRail = 0
            leafCount = 0
        }
        _leafBase = linksPerNode * topology.nodeCount
        linkCount = _leafBase + leafCount * uplinksPerLeaf * 2

        if let nic = node.nic {
            var rate = nic.achievableBytesPerSecond
            var latency = overhead + net.stepOverheadMicroseconds * 1e-6 + nic.latencyMicroseconds * 1e-6
            if let pcie = node.pcie {
                rate = min(rate, pcie.achievableBytesPerSecond)
                latency += 2 * pcie.latencyMicroseconds * 1e-6
            }
            _interBytesPerSecond = rate
            _interLatencySameLeaf = latency + net.switchLatencyMicroseconds * 1e-6
            _interLatencyViaSpine = latency + 3 * net.switchLatencyMicroseconds * 1e-6
            networkReduces = net.sharp && topology.nodeCount > 1 && _nicCount > 0
        } else {
            networkReduces = false
            _interBytesPerSecond = 0
            _interLatencySameLeaf = .infinity
            _interLatencyViaSpine = .infinity
        }
        if !topology.faults.isEmpty {
            let f = try FabricFaults(topology.faults, on: self)
            faults = f
            _faulty = true
            _spineCableDown = f.spineLinkDown
        }
    }

    /// The cable between leaf `leaf` and spine `spine`: its up link (leaf to spine) and its down
    /// link (spine to leaf).
    public func spineCable(leaf: Int, spine: Int) -> [Int] {
        let up = _leafBase + (leaf * uplinksPerLeaf + spine) * 2
        return [up, up + 1]
    }

    /// The same cluster without its faults: the healthy baseline of a faulted run.
    public var healthy: FabricMap {
        guard faults != nil else { return self }
        var m = self
        m.faults = nil
        m._faulty = false
        m._spineCableDown = false
        return m
    }

    /// The leaf switch of NIC `nic` of node `node`.
    @inlinable
    public func leaf(node: Int, nic: Int) -> Int {
        _rail ? nic * _leavesPerRail + node / _leafPorts : (node * _nicCount + nic) / _leafPorts
    }

    /// The port of NIC `nic` of node `node` on its leaf (0 ..< leafPorts).
    @inlinable
    public func port(node: Int, nic: Int) -> Int {
        _rail ? node % _leafPorts : (node * _nicCount + nic) % _leafPorts
    }

    /// Whether switch endpoint `endpoint` (>= rankCount) exchanges data with GPU `gpu`: node k's
    /// NVSwitch with its own node's GPUs, the network's reduction for GPU index i with GPU i of
    /// every node.
    @inlinable
    public func switchServes(_ endpoint: Int, gpu: Int) -> Bool {
        let s = endpoint - rankCount
        guard s >= 0, gpu >= 0, gpu < rankCount else { return false }
        return s < nodeCount ? gpu / gpusPerNode == s : gpu % gpusPerNode == s - nodeCount
    }

    /// Writes the links of the path from rank `src` to rank `dst` into `links` (room for
    /// ``maxPathLinks``) and returns how many, the bottleneck rate (bytes/s) and the latency
    /// (seconds, software overhead included).
    @inlinable
    public func route(from src: Int, to dst: Int, links: UnsafeMutablePointer<Int>) -> (count: Int, bytesPerSecond: Double, latencySeconds: Double) {
        let r = _route(from: src, to: dst, links: links)
        guard _faulty, let faults else { return r }
        var rate = r.bytesPerSecond
        for k in 0..<r.count where faults.linkFactor[links[k]] < 1 {
            rate = Swift.min(rate, linkBytesPerSecond(links[k]))
        }
        return (r.count, rate, r.latencySeconds)
    }

    /// One end of a route.
    public enum RouteSide: Sendable {
        /// The sender's links: its GPU's links and PCIe up to its NIC, the NIC out, the leaf's uplink.
        case sender
        /// The receiver's links: the spine's downlink, the NIC in, PCIe and links down to its GPU.
        case receiver
    }

    /// The positions of `links[0 ..< count]` (a route, in path order) on one `side` of the
    /// network: the receiver's side starts at the route's first spine downlink or NIC receive
    /// link (a route inside a node has no network and is all the sender's).
    public func side(_ side: RouteSide, ofRoute links: UnsafeMutablePointer<Int>, count: Int) -> Range<Int> {
        var split = count
        for k in 0..<count {
            let c = linkClass(links[k])
            if c == .spineDownlink || c == .nicReceive { split = k; break }
        }
        return side == .sender ? 0..<split : split..<count
    }

    /// The spine a transfer between two leaves takes: D-mod-K, the destination's port modulo the
    /// uplinks, over the spines whose cables from `srcLeaf` up and down to `dstLeaf` are up
    /// (every spine on a healthy cluster): D-mod-K recomputed as a subnet manager's fat-tree
    /// routing would after the failure (Zahavi 2010; docs/Sources.md section 7).
    @inlinable
    func _spine(from srcLeaf: Int, to dstLeaf: Int, port: Int) -> Int {
        guard _spineCableDown, let faults else { return port % uplinksPerLeaf }
        func alive(_ s: Int) -> Bool {
            faults.linkFactor[_leafBase + (srcLeaf * uplinksPerLeaf + s) * 2] > 0 && faults.linkFactor[_leafBase + (dstLeaf * uplinksPerLeaf + s) * 2 + 1] > 0
        }
        var count = 0
        for s in 0..<uplinksPerLeaf where alive(s) { count += 1 }
        guard count > 0 else { return port % uplinksPerLeaf }  // cut off (FabricFaults.cutOff): never played
        var k = port % count
        for s in 0..<uplinksPerLeaf where alive(s) {
            if k == 0 { return s }
            k -= 1
        }
        return port % uplinksPerLeaf
    }

    @inlinable
    func _route(from src: Int, to dst: Int, links: UnsafeMutablePointer<Int>) -> (count: Int, bytesPerSecond: Double, latencySeconds: Double) {
        let g = gpusPerNode
        if src >= rankCount || dst >= rankCount {
            let intoSwitch = dst >= rankCount
            let gpu = intoSwitch ? src : dst, endpoint = intoSwitch ? dst : src
            let base = (gpu / g) * linksPerNode, a = gpu % g
            if endpoint - rankCount < nodeCount {
                // A GPU and its node's reducing NVSwitch (callers check they share the node).
                links[0] = base + (intoSwitch ? _nvOut : _nvIn) + a
                return (1, _switchBytesPerSecond, _switchLatencySeconds)
            }
            // A GPU and the network's reduction, through its NIC.
            let nic = a * _nicCount / g
            var n = 0
            if intoSwitch {
                if _pcieUp >= 0 { links[n] = base + _pcieUp + a; n += 1 }
                links[n] = base + _nicTx + nic; n += 1
            } else {
                links[n] = base + _nicRx + nic; n += 1
                if _pcieDown >= 0 { links[n] = base + _pcieDown + a; n += 1 }
            }
            return (n, _interBytesPerSecond, _interLatencyViaSpine)
        }
        let srcNode = src / g, dstNode = dst / g
        let a = src - srcNode * g, b = dst - dstNode * g
        if srcNode == dstNode {
            let i = a * g + b
            let base = srcNode * linksPerNode
            var n = 0
            let f = _intraFirst[i]
            if f >= 0 { links[0] = base + f; n = 1 }
            let s = _intraSecond[i]
            if s >= 0 { links[n] = base + s; n += 1 }
            if _memory >= 0 { links[n] = base + _memory; n += 1 }
            return (n, _intraBytesPerSecond[i], _intraLatencySeconds[i])
        }
        let srcBase = srcNode * linksPerNode, dstBase = dstNode * linksPerNode
        let srcNic = a * _nicCount / g, dstNic = b * _nicCount / g
        var n = 0
        if _pcieUp >= 0 { links[n] = srcBase + _pcieUp + a; n += 1 }
        links[n] = srcBase + _nicTx + srcNic; n += 1
        let srcLeaf = leaf(node: srcNode, nic: srcNic), dstLeaf = leaf(node: dstNode, nic: dstNic)
        var latency = _interLatencySameLeaf
        if srcLeaf != dstLeaf {
            let spine = _spine(from: srcLeaf, to: dstLeaf, port: port(node: dstNode, nic: dstNic))
            links[n] = _leafBase + (srcLeaf * uplinksPerLeaf + spine) * 2; n += 1
            links[n] = _leafBase + (dstLeaf * uplinksPerLeaf + spine) * 2 + 1; n += 1
            latency = _interLatencyViaSpine
        }
        links[n] = dstBase + _nicRx + dstNic; n += 1
        if _pcieDown >= 0 { links[n] = dstBase + _pcieDown + b; n += 1 }
        return (n, _interBytesPerSecond, latency)
    }

    /// What a path between two ranks crosses, as NCCL's latency tables tell hops apart.
    public enum PathKind: Sendable, Hashable {
        /// Inside a node over NVLink (through NVSwitch or a direct mesh link).
        case nvlink
        /// Inside a node over PCIe.
        case pcie
        /// Between nodes, through NICs and the network.
        case network
    }

    /// The NVLink link count between GPUs `a` and `b` of a node's mesh (0 when not joined or not a mesh).
    public func meshLinks(_ a: Int, _ b: Int) -> Int { _meshLinks.isEmpty ? 0 : Int(_meshLinks[a * gpusPerNode + b]) }

    /// The kind of the path from rank `src` to rank `dst`.
    public func pathKind(from src: Int, to dst: Int) -> PathKind {
        let g = gpusPerNode
        if src >= rankCount || dst >= rankCount { return max(src, dst) - rankCount < nodeCount ? .nvlink : .network }
        if src / g != dst / g { return .network }
        let a = src % g, b = dst % g
        guard let nv = topology.node.nvlink else { return .pcie }
        return nv.fabric == .nvswitch || meshLinks(a, b) > 0 ? .nvlink : .pcie
    }

    /// The kinds of links, for utilisation reports.
    public enum LinkClass: String, CaseIterable, Sendable {
        case nvlink = "NVLink"
        case pcie = "PCIe"
        case nicTransmit = "NIC tx"
        case nicReceive = "NIC rx"
        case leafUplink = "leaf uplink"
        case spineDownlink = "spine downlink"
        case memory = "memory"
    }

    /// The kind of link `id`.
    public func linkClass(_ id: Int) -> LinkClass {
        if id >= _leafBase { return (id - _leafBase) % 2 == 0 ? .leafUplink : .spineDownlink }
        let o = id % linksPerNode
        if o == _memory { return .memory }
        if o >= _nicTx { return o - _nicTx < _nicCount ? .nicTransmit : .nicReceive }
        if _pcieUp >= 0 && o >= _pcieUp { return .pcie }
        return .nvlink
    }

    /// Achievable rate of link `id`, bytes per second (a degraded link's, under ``faults``).
    public func linkBytesPerSecond(_ id: Int) -> Double {
        healthyLinkBytesPerSecond(id) * (faults?.linkFactor[id] ?? 1)
    }

    /// Achievable rate of link `id` on the healthy cluster, bytes per second.
    public func healthyLinkBytesPerSecond(_ id: Int) -> Double {
        let node = topology.node
        switch linkClass(id) {
        case .nicTransmit, .nicReceive, .leafUplink, .spineDownlink: return node.nic?.achievableBytesPerSecond ?? 0
        case .pcie: return node.pcie?.achievableBytesPerSecond ?? 0
        case .memory: return (node.memory?.transferGBps ?? 0) * 1e9
        case .nvlink:
            guard let nv = node.nvlink else { return 0 }
            if nv.fabric == .nvswitch { return nv.portAchievableGBps * 1e9 }
            let o = id % linksPerNode
            return nv.link.achievableBytesPerSecond * Double(meshLinks(o / gpusPerNode, o % gpusPerNode))
        }
    }

    /// A readable name of link `id` (`node 3 nic 2 tx`, `leaf 5 uplink 1`), for traces and tests.
    public func linkName(_ id: Int) -> String {
        if id >= _leafBase {
            let r = id - _leafBase
            let leaf = r / 2 / uplinksPerLeaf, s = (r / 2) % uplinksPerLeaf
            return "leaf \(leaf) \(r % 2 == 0 ? "uplink" : "downlink") \(s)"
        }
        let node = id / linksPerNode, o = id % linksPerNode, g = gpusPerNode
        if o == _memory { return "node \(node) memory" }
        if o >= _nicTx { let k = o - _nicTx; return k < _nicCount ? "node \(node) nic \(k) tx" : "node \(node) nic \(k - _nicCount) rx" }
        if _pcieUp >= 0 && o >= _pcieUp { let k = o - _pcieUp; return k < g ? "node \(node) gpu \(k) pcie up" : "node \(node) gpu \(k - g) pcie down" }
        if topology.node.nvlink?.fabric == .mesh { return "node \(node) nvlink \(o / g)->\(o % g)" }
        return o < g ? "node \(node) gpu \(o) nvlink out" : "node \(node) gpu \(o - g) nvlink in"
    }

    /// Cost of one transfer between GPUs of the same node (the slowest pair): alpha in seconds
    /// (overhead and latency), beta in seconds per byte.
    public var intraNodeCost: (alphaSeconds: Double, betaSecondsPerByte: Double) {
        var alpha = 0.0, beta = 0.0
        for i in 0..<(gpusPerNode * gpusPerNode) where i / gpusPerNode != i % gpusPerNode {
            alpha = max(alpha, _intraLatencySeconds[i])
            beta = max(beta, 1 / _intraBytesPerSecond[i])
        }
        return (alpha, beta)
    }

    /// Cost of one transfer between a GPU and its node's reducing switch (nil: the switches do not
    /// reduce): alpha in seconds, beta in seconds per byte.
    public var switchReductionCost: (alphaSeconds: Double, betaSecondsPerByte: Double)? {
        reducingSwitchCount > 0 ? (_switchLatencySeconds, 1 / _switchBytesPerSecond) : nil
    }

    /// Cost of one transfer between nodes (through a spine when the cluster spans several leaves).
    public var interNodeCost: (alphaSeconds: Double, betaSecondsPerByte: Double) {
        let alpha = leafCount > 1 || (_rail && _nicCount > 1) ? _interLatencyViaSpine : _interLatencySameLeaf
        return (alpha, _interBytesPerSecond > 0 ? 1 / _interBytesPerSecond : .infinity)
    }

    /// Node `node`'s memory link (``NodeSpec/memory``), or -1 when the nodes have none.
    @inlinable
    public func memoryLink(ofNode node: Int) -> Int { _memory < 0 ? -1 : node * linksPerNode + _memory }

    /// Seconds per byte of one operand a reduction holds its node's memory link (the memory's
    /// reduction rate, which all the node's ranks share); 0 without a memory link.
    public let memoryReduceSecondsPerByte: Double

    /// Seconds per byte a same-node transfer holds its node's memory link: the memory's transfer
    /// rate, which all the node's ranks share (the last link of such a path); 0 without one.
    public let memoryTransferSecondsPerByte: Double

    /// Seconds per byte of a same-node transfer and of a reduction on a node's memory, for a
    /// collective spanning `workingSetBytes` per rank (``NodeMemorySpec/rates(workingSetBytes:)``):
    /// ``memoryTransferSecondsPerByte`` and ``memoryReduceSecondsPerByte`` unless the working set
    /// reaches one of the memory's ``NodeMemorySpec/workingSets``; zeros without a memory link.
    /// `pair`: one same-node transfer alone (``NodeMemorySpec/Regime/pairGBps``), outside the
    /// cache regimes; 0 when the working set's regime gives none (the path's links set it).
    public func memorySecondsPerByte(workingSetBytes: Double) -> (transfer: Double, reduce: Double, pair: Double) {
        guard let memory = topology.node.memory else { return (0, 0, 0) }
        let rates = memory.rates(workingSetBytes: workingSetBytes)
        return (1 / (rates.transferGBps * 1e9), 1 / (rates.reduceGBps * 1e9), rates.pairGBps.map { 1 / ($0 * 1e9) } ?? 0)
    }

    /// The memory's message-size regimes (``NodeMemorySpec/cache``) for a collective that spans
    /// `workingSetBytes` per rank, in increasing order of bytes: a message of at most an entry's
    /// `bytes` (the first such) crosses a node's memory at its seconds per byte, transfers and
    /// reductions. Empty when the file has none, or when the working set reaches a working-set
    /// regime (its buffers no longer fit in the caches).
    public func memoryCache(workingSetBytes: Double) -> [MemoryCacheRegime] {
        guard let memory = topology.node.memory, memory.cacheApplies(workingSetBytes: workingSetBytes) else { return [] }
        return memory.cache.map {
            MemoryCacheRegime(bytes: Double($0.bytes), transferSecondsPerByte: 1 / ($0.transferGBps * 1e9), reduceSecondsPerByte: 1 / ($0.reduceGBps * 1e9),
                              pairSecondsPerByte: $0.pairGBps.map { 1 / ($0 * 1e9) } ?? 0)
        }
    }

    /// Whether a collective of `workingSetBytes` per rank runs beyond a node's caches
    /// (``NodeMemorySpec/beyondCaches(workingSetBytes:)``): its reductions then hold their rank's
    /// incoming link, the core that copies. False without a memory link.
    public func memoryBeyondCaches(workingSetBytes: Double) -> Bool {
        topology.node.memory?.beyondCaches(workingSetBytes: workingSetBytes) ?? false
    }

    /// The memory's transfer-rate factors by messages in flight per rank
    /// (``NodeMemorySpec/inFlightFactor(messages:)``), indexed by the count (0 through
    /// ``maxInFlightCount``; larger counts take the last), for a collective of `workingSetBytes`
    /// per rank beyond the caches; empty when the memory has no ``NodeMemorySpec/inFlight`` table
    /// or the collective stays in the caches.
    public func memoryInFlightFactors(workingSetBytes: Double) -> [Double] {
        guard let memory = topology.node.memory, !memory.inFlight.isEmpty, memory.beyondCaches(workingSetBytes: workingSetBytes) else { return [] }
        return (0...Self.maxInFlightCount).map { memory.inFlightFactor(messages: Swift.max(1, $0)) }
    }

    /// The largest count of messages in flight ``memoryInFlightFactors(workingSetBytes:)`` tells
    /// apart.
    public static let maxInFlightCount = 64

    /// A message-size regime of a node's memory in seconds per byte (``memoryCache(workingSetBytes:)``).
    public struct MemoryCacheRegime: Sendable, Hashable {
        /// The largest message it applies to.
        public var bytes: Double
        public var transferSecondsPerByte: Double
        public var reduceSecondsPerByte: Double
        /// One transfer alone (``NodeMemorySpec/Regime/pairGBps``); 0: the path's links set it.
        public var pairSecondsPerByte: Double
        public init(bytes: Double, transferSecondsPerByte: Double, reduceSecondsPerByte: Double, pairSecondsPerByte: Double) {
            self.bytes = bytes
            self.transferSecondsPerByte = transferSecondsPerByte
            self.reduceSecondsPerByte = reduceSecondsPerByte
            self.pairSecondsPerByte = pairSecondsPerByte
        }
    }

    /// Seconds per byte of one operand a GPU takes to reduce (0 when reductions are free).
    public var gammaSecondsPerByte: Double {
        topology.node.reduceGBps.map { 1 / ($0 * 1e9) } ?? 0
    }
}
