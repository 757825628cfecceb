/// A topology's ``Fault``s resolved against its ``FabricMap``: a speed factor per directed link,
/// an entry time and a slowdown per rank, the jitter, and the ranks a down link cuts off.
/// ``FabricMap/faults`` is nil on a healthy cluster, so a healthy run pays nothing for faults.
public struct FabricFaults: Sendable {
    /// The specs, as given.
    public let specs: [Fault]
    /// Per fabric link, the fraction of its rate it runs at: 1 healthy, 0 down (several faults
    /// on one link: the lowest).
    public let linkFactor: [Double]
    /// Whether a leaf uplink or spine downlink is down (routes between leaves then avoid it).
    public let spineLinkDown: Bool
    /// Per rank (GPU), when it enters the collective, seconds (empty: all at 0). Several
    /// lateness faults on one rank add up.
    public let rankEntrySeconds: [Double]
    /// Per rank, how many times as long its transfers (sent or received) hold their links and
    /// its reductions take (empty: all 1). Several slowness faults on one rank multiply.
    public let rankSlowdown: [Double]
    /// Delay added to every transfer, drawn in the order transfers start.
    public let jitter: Jitter?
    /// The ranks a down link cuts off from ranks they need, and why (nil: every rank reaches
    /// every other).
    public let cutOff: CutOff?

    /// Ranks that cannot reach the rest of the cluster.
    public struct CutOff: Sendable, Hashable {
        public var ranks: [Int]
        /// The down link (or links) that did it, by name.
        public var links: [String]
        /// One line: which ranks, through which link, and what NCCL would do.
        public var statement: String
    }

    /// The slowdown of rank `gpu` (1 when none).
    @inlinable public func slowdown(_ gpu: Int) -> Double { rankSlowdown.isEmpty ? 1 : rankSlowdown[gpu] }
    /// The entry time of rank `gpu`, seconds.
    @inlinable public func entrySeconds(_ gpu: Int) -> Double { rankEntrySeconds.isEmpty ? 0 : rankEntrySeconds[gpu] }
    /// Whether any rank is late, slow or the steps jitter (what the engine times per transfer).
    public var timesRanks: Bool { !rankEntrySeconds.isEmpty || !rankSlowdown.isEmpty || jitter != nil }

    /// Resolves `specs` on `map` (built without them). Throws when a spec names a node, NIC, GPU,
    /// leaf, uplink or rank the cluster does not have, or a link kind it lacks.
    init(_ specs: [Fault], on map: FabricMap) throws(TopologyError) {
        self.specs = specs
        var factor = [Double](repeating: 1, count: map.linkCount)
        var entry: [Double] = [], slow: [Double] = []
        var jitter: Jitter?
        let node = map.topology.node
        let g = map.gpusPerNode
        func fail(_ f: Fault, _ message: String) -> TopologyError { TopologyError(field: "faults", message: "'\(f)': \(message)") }
        func check(_ f: Fault, _ what: String, _ value: Int, _ count: Int) throws(TopologyError) {
            guard value < count else {
                throw fail(f, count == 0 ? "the cluster has no \(what)s" : "\(what) \(value): the cluster has \(count) (\(what)s 0...\(count - 1))")
            }
        }
        for f in specs {
            switch f.kind {
            case .link(let links, let effect):
                var ids: [Int] = []
                var nominalGBps = 0.0
                switch links {
                case .nic(let n, let k):
                    try check(f, "node", n, map.nodeCount)
                    guard let nic = node.nic, map._nicCount > 0 else { throw fail(f, "the nodes have no NICs") }
                    if let k { try check(f, "nic", k, map._nicCount) }
                    for k in k.map({ [$0] }) ?? Array(0..<map._nicCount) {
                        ids += [n * map.linksPerNode + map._nicTx + k, n * map.linksPerNode + map._nicRx + k]
                    }
                    nominalGBps = nic.bandwidthGBps
                case .nvlink(let n, let a):
                    try check(f, "node", n, map.nodeCount)
                    try check(f, "gpu", a, g)
                    guard let nv = node.nvlink else { throw fail(f, "the nodes have no NVLink") }
                    let base = n * map.linksPerNode
                    if nv.fabric == .nvswitch {
                        ids = [base + map._nvOut + a, base + map._nvIn + a]
                        nominalGBps = nv.link.bandwidthGBps * Double(nv.linksPerGPU)
                    } else {
                        for b in 0..<g where b != a && map.meshLinks(a, b) > 0 { ids += [base + a * g + b, base + b * g + a] }
                        nominalGBps = nv.link.bandwidthGBps * Double(nv.linksPerGPU)
                    }
                case .pcie(let n, let a):
                    try check(f, "node", n, map.nodeCount)
                    try check(f, "gpu", a, g)
                    guard let pcie = node.pcie, map._pcieUp >= 0 else { throw fail(f, "the nodes have no PCIe links") }
                    ids = [n * map.linksPerNode + map._pcieUp + a, n * map.linksPerNode + map._pcieDown + a]
                    nominalGBps = pcie.bandwidthGBps
                case .leafUplink(let leaf, let s):
                    try check(f, "leaf", leaf, map.leafCount)
                    if let s { try check(f, "uplink", s, map.uplinksPerLeaf) }
                    for s in s.map({ [$0] }) ?? Array(0..<map.uplinksPerLeaf) { ids += map.spineCable(leaf: leaf, spine: s) }
                    nominalGBps = node.nic?.bandwidthGBps ?? 0
                case .spine(let s):
                    guard map.leafCount > 0 else { throw fail(f, "the cluster has no leaf switches") }
                    try check(f, "spine", s, map.uplinksPerLeaf)
                    for leaf in 0..<map.leafCount { ids += map.spineCable(leaf: leaf, spine: s) }
                    nominalGBps = node.nic?.bandwidthGBps ?? 0
                }
                let x: Double
                switch effect {
                case .down: x = 0
                case .fraction(let v): x = v
                case .bandwidthGBps(let b): x = nominalGBps > 0 ? Swift.min(1, b / nominalGBps) : 1
                }
                for id in ids { factor[id] = Swift.min(factor[id], x) }
            case .late(let r, let us):
                try check(f, "rank", r, map.rankCount)
                if entry.isEmpty { entry = [Double](repeating: 0, count: map.rankCount) }
                entry[r] += us * 1e-6
            case .slow(let r, let x):
                try check(f, "rank", r, map.rankCount)
                if slow.isEmpty { slow = [Double](repeating: 1, count: map.rankCount) }
                slow[r] *= x
            case .jitter(let j):
                guard jitter == nil else { throw fail(f, "a second jitter (give one distribution)") }
                jitter = j
            }
        }
        linkFactor = factor
        rankEntrySeconds = entry
        rankSlowdown = slow
        self.jitter = jitter
        spineLinkDown = (map._leafBase..<map.linkCount).contains { factor[$0] == 0 }
        cutOff = Self.cutOff(map, factor)
    }

    /// The ranks down links cut off: a GPU whose only NIC, PCIe link or NVLink is down, and the
    /// GPUs behind a leaf that reaches no spine another leaf reaches. What NCCL then does (its
    /// net_ib transport returns ncclRemoteError on the failed completion): docs/Sources.md
    /// section 7.
    static func cutOff(_ map: FabricMap, _ factor: [Double]) -> CutOff? {
        var ranks = Set<Int>()
        var names: [String] = []
        let g = map.gpusPerNode
        let network = map.nodeCount > 1 && map._nicCount > 0
        for id in 0..<map._leafBase where factor[id] == 0 {
            let n = id / map.linksPerNode, o = id % map.linksPerNode
            var cut: [Int] = []
            switch map.linkClass(id) {
            case .nicTransmit, .nicReceive:
                let k = o >= map._nicRx ? o - map._nicRx : o - map._nicTx
                if network { cut = (0..<g).filter { $0 * map._nicCount / g == k } }
            case .pcie:
                let a = o >= map._pcieDown ? o - map._pcieDown : o - map._pcieUp
                let intra = (0..<g).contains { b in b != a && map._intraFirst[a * g + b] == map._pcieUp + a }
                if network || intra { cut = [a] }
            case .nvlink:
                if map.topology.node.nvlink?.fabric == .mesh { cut = [o / g, o % g] } else if g > 1 { cut = [o % g] }
            default: break
            }
            if !cut.isEmpty {
                names.append(map.linkName(id))
                for a in cut { ranks.insert(n * g + a) }
            }
        }
        if map.leafCount > 1 {
            // Spines each leaf still reaches, up and down.
            let u = map.uplinksPerLeaf
            var faulted: [Int] = []
            for leaf in 0..<map.leafCount where (0..<u).contains(where: { s in map.spineCable(leaf: leaf, spine: s).contains { factor[$0] == 0 } }) {
                faulted.append(leaf)
            }
            func alive(_ leaf: Int, _ s: Int, up: Bool) -> Bool { factor[map.spineCable(leaf: leaf, spine: s)[up ? 0 : 1]] > 0 }
            var isolated = Set<Int>()
            for a in faulted {
                if !(0..<u).contains(where: { alive(a, $0, up: true) }) || !(0..<u).contains(where: { alive(a, $0, up: false) }) {
                    isolated.insert(a)
                    continue
                }
                for b in faulted where b != a && !(0..<u).contains(where: { alive(a, $0, up: true) && alive(b, $0, up: false) }) {
                    isolated.insert(a); isolated.insert(b)
                }
            }
            if !isolated.isEmpty {
                names.append(isolated.sorted().prefix(4).map { "leaf \($0) uplinks" }.joined(separator: ", "))
                for n in 0..<map.nodeCount {
                    for a in 0..<g where map._nicCount > 0 && isolated.contains(map.leaf(node: n, nic: a * map._nicCount / g)) { ranks.insert(n * g + a) }
                }
            }
        }
        guard !ranks.isEmpty else { return nil }
        let sorted = ranks.sorted()
        let shown = sorted.prefix(8).map { "\($0) (node \($0 / g) gpu \($0 % g))" }.joined(separator: ", ")
            + (sorted.count > 8 ? " and \(sorted.count - 8) more" : "")
        let via = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? " and \(names.count - 3) more" : "")
        let statement = "\(via) \(names.count == 1 ? "is" : "are") down with no other path: rank\(sorted.count == 1 ? "" : "s") \(shown) \(sorted.count == 1 ? "is" : "are") cut off; "
            + "NCCL's communicator would fail (a transfer it needs cannot complete: over InfiniBand, NCCL's net_ib transport returns ncclRemoteError on the failed completion), so there is no time to report"
        return CutOff(ranks: sorted, links: names, statement: statement)
    }
}
