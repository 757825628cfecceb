import Foundation

/// Something wrong with a cluster: a link degraded or down, a rank that enters late or runs
/// slowly, or noise on every step. Faults are data: a topology file's `faults` list and the
/// command line's `--fault` hold the same one-line specs, read by one parser
/// (``init(parsing:)``), and ``description`` writes a spec back that reads as the same fault.
///
/// Grammar (words are case-insensitive and separated by spaces):
///
///     fault   := link effect | "rank" R ("late" TIME | "slow" FACTOR"x") | "jitter" DIST TIME ["seed" N]
///     link    := "node" N ("nic" K | "nics" | "gpu" G ("nvlink" | "pcie"))
///              | "leaf" L ("uplink" S | "uplinks") | "spine" S
///     effect  := "down" | "at" (PERCENT"%" | BANDWIDTH | "gen3" | "gen4" | "gen5")
///     DIST    := "uniform" (0 ... TIME) | "exponential" (mean TIME)
///
/// A link names both directions of a cable: `node 3 nic 2` is NIC 2's transmit and receive
/// links, `leaf 1 uplink 3` the cable between leaf 1 and spine 3 (up and down), `spine 3` that
/// cable of every leaf, `node 0 gpu 4 pcie` the GPU's PCIe up and down, `node 0 gpu 4 nvlink`
/// its NVSwitch ports (or, on a mesh, every NVLink of the GPU). `at 50%` runs the links at half
/// their rate; `at gen3` / `at 12GB/s` at that rate (a PCIe Gen3 x16 link's 16 GB/s, or the
/// bandwidth given, relative to the link's own nominal bandwidth, never faster).
public struct Fault: Sendable, Hashable, CustomStringConvertible {
    /// The links a fault names.
    public enum Links: Sendable, Hashable {
        /// NIC `nic` of `node` (nil: every NIC of the node).
        case nic(node: Int, nic: Int?)
        /// GPU `gpu`'s NVLink ports of `node`.
        case nvlink(node: Int, gpu: Int)
        /// GPU `gpu`'s PCIe link of `node`.
        case pcie(node: Int, gpu: Int)
        /// Uplink `uplink` of leaf `leaf` (nil: every uplink of the leaf), both directions.
        case leafUplink(leaf: Int, uplink: Int?)
        /// Uplink `spine` of every leaf: everything through that spine.
        case spine(Int)
    }

    /// What happens to the links.
    public enum LinkEffect: Sendable, Hashable {
        case down
        /// The links run at this fraction of their rate (0 < f <= 1).
        case fraction(Double)
        /// The links run at this nominal bandwidth, GB/s (capped at their own).
        case bandwidthGBps(Double)
    }

    public enum Kind: Sendable, Hashable {
        case link(Links, LinkEffect)
        /// The rank enters the collective this late.
        case late(rank: Int, microseconds: Double)
        /// The rank's transfers take this many times as long.
        case slow(rank: Int, factor: Double)
        case jitter(Jitter)
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// The PCIe generations `at genN` names, by their x16 links' nominal bandwidth.
    public static let pcieGenerations: [(name: String, kind: LinkKind)] = [("gen3", .pcieGen3), ("gen4", .pcieGen4), ("gen5", .pcieGen5)]

    /// Most seconds a lateness or a jitter scale may be (as any latency of a topology).
    public static let maxMicroseconds = Topology.Limits.maxLatencyMicroseconds
    /// Most a rank may be slowed.
    public static let maxSlowdown = 1e6

    /// The spec, in the grammar's canonical form: parsing it gives the same fault.
    public var description: String {
        switch kind {
        case .link(let links, let effect):
            let what: String
            switch links {
            case .nic(let node, let nic?): what = "node \(node) nic \(nic)"
            case .nic(let node, nil): what = "node \(node) nics"
            case .nvlink(let node, let gpu): what = "node \(node) gpu \(gpu) nvlink"
            case .pcie(let node, let gpu): what = "node \(node) gpu \(gpu) pcie"
            case .leafUplink(let leaf, let s?): what = "leaf \(leaf) uplink \(s)"
            case .leafUplink(let leaf, nil): what = "leaf \(leaf) uplinks"
            case .spine(let s): what = "spine \(s)"
            }
            switch effect {
            case .down: return what + " down"
            case .fraction(let f): return what + " at \(PhysicalUnit.shortest(f * 100))%"
            case .bandwidthGBps(let b): return what + " at \(PhysicalUnit.formatBandwidth(b))"
            }
        case .late(let rank, let us): return "rank \(rank) late \(PhysicalUnit.formatLatency(us))"
        case .slow(let rank, let f): return "rank \(rank) slow \(PhysicalUnit.shortest(f))x"
        case .jitter(let j): return "jitter \(j.distribution.rawValue) \(PhysicalUnit.formatLatency(j.scaleMicroseconds)) seed \(j.seed)"
        }
    }

    /// Reads a link effect alone (`down`, `at 50%`, `at gen3`; `50%` reads as `at 50%`), as the
    /// grammar's `effect`.
    public static func linkEffect(parsing text: String) throws(FaultSpecError) -> LinkEffect {
        let first = text.split(separator: " ").first.map { $0.lowercased() }
        var t = _FaultTokens(first == "down" || first == "at" ? text : "at " + text)
        let effect = try t.effect()
        try t.end()
        return effect
    }

    /// Reads one spec (the grammar above). Throws ``FaultSpecError`` naming the first token it
    /// cannot read, or the end of the spec where a word is missing.
    public init(parsing spec: String) throws(FaultSpecError) {
        var t = _FaultTokens(spec)
        let head = try t.word(expecting: "node, leaf, spine, rank or jitter")
        switch head {
        case "node":
            let node = try t.index("a node number")
            let part = try t.word(expecting: "nic, nics or gpu")
            let links: Links
            switch part {
            case "nic": links = .nic(node: node, nic: try t.index("a NIC number"))
            case "nics": links = .nic(node: node, nic: nil)
            case "gpu":
                let gpu = try t.index("a GPU number")
                switch try t.word(expecting: "nvlink or pcie") {
                case "nvlink": links = .nvlink(node: node, gpu: gpu)
                case "pcie": links = .pcie(node: node, gpu: gpu)
                default: throw t.error("expected nvlink or pcie")
                }
            default: throw t.error("expected nic, nics or gpu")
            }
            kind = .link(links, try t.effect())
        case "leaf":
            let leaf = try t.index("a leaf number")
            switch try t.word(expecting: "uplink or uplinks") {
            case "uplink": kind = .link(.leafUplink(leaf: leaf, uplink: try t.index("an uplink number")), try t.effect())
            case "uplinks": kind = .link(.leafUplink(leaf: leaf, uplink: nil), try t.effect())
            default: throw t.error("expected uplink or uplinks")
            }
        case "spine":
            kind = .link(.spine(try t.index("a spine number")), try t.effect())
        case "rank":
            let rank = try t.index("a rank number")
            switch try t.word(expecting: "late or slow") {
            case "late": kind = .late(rank: rank, microseconds: try t.time())
            case "slow":
                let f = try t.word(expecting: "a factor such as 2x")
                guard f.hasSuffix("x"), let v = Double(f.dropLast()), v.isFinite, v >= 1, v <= Self.maxSlowdown else {
                    throw t.error("expected a factor from 1x to \(PhysicalUnit.shortest(Self.maxSlowdown))x, such as 2x")
                }
                kind = .slow(rank: rank, factor: v)
            default: throw t.error("expected late or slow")
            }
        case "jitter":
            let name = try t.word(expecting: "a distribution (uniform or exponential)")
            guard let d = Jitter.Distribution(rawValue: name) else { throw t.error("expected a distribution (uniform or exponential)") }
            let scale = try t.time()
            var seed: UInt64 = 0
            if !t.atEnd {
                guard try t.word(expecting: "seed") == "seed" else { throw t.error("expected seed") }
                let s = try t.word(expecting: "a seed (a whole number)")
                guard let v = UInt64(s) else { throw t.error("expected a seed (a whole number from 0 to \(UInt64.max))") }
                seed = v
            }
            kind = .jitter(Jitter(distribution: d, scaleMicroseconds: scale, seed: seed))
        default:
            throw t.error("expected node, leaf, spine, rank or jitter")
        }
        try t.end()
    }
}

/// Noise on every transfer: a delay drawn from a named distribution, reproducible from its seed.
public struct Jitter: Sendable, Hashable {
    public enum Distribution: String, Sendable, Hashable, CaseIterable {
        /// Uniform between 0 and the scale.
        case uniform
        /// Exponential with the scale as its mean.
        case exponential
    }

    public var distribution: Distribution
    public var scaleMicroseconds: Double
    public var seed: UInt64

    public init(distribution: Distribution, scaleMicroseconds: Double, seed: UInt64) {
        self.distribution = distribution
        self.scaleMicroseconds = scaleMicroseconds
        self.seed = seed
    }

    /// The delay, seconds, for a uniform draw `u` in [0, 1).
    public func seconds(forUniform u: Double) -> Double {
        switch distribution {
        case .uniform: scaleMicroseconds * 1e-6 * u
        case .exponential: -scaleMicroseconds * 1e-6 * Foundation.log(1 - u)
        }
    }
}

/// A spec that cannot be read: the spec and the token at fault.
public struct FaultSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var spec: String
    /// The offending token (`end of spec` when a word is missing).
    public var token: String
    public var message: String

    public init(spec: String, token: String, message: String) {
        self.spec = spec
        self.token = token
        self.message = message
    }

    /// `fault 'node x nic 2 down': 'x': expected a node number`.
    public var description: String {
        "fault '\(spec)': \(token == "end of spec" ? token : "'\(token)'"): \(message)"
    }
}

/// The words of a spec, read left to right.
struct _FaultTokens {
    let spec: String
    var words: [Substring]
    var i = 0
    var last = "end of spec"

    init(_ spec: String) {
        self.spec = spec
        words = spec.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    var atEnd: Bool { i >= words.count }

    func error(_ message: String) -> FaultSpecError {
        FaultSpecError(spec: spec, token: last, message: message)
    }

    mutating func word(expecting what: String) throws(FaultSpecError) -> String {
        guard i < words.count else { last = "end of spec"; throw error("expected \(what)") }
        last = String(words[i].prefix(40))
        i += 1
        return words[i - 1].lowercased()
    }

    mutating func index(_ what: String) throws(FaultSpecError) -> Int {
        let w = try word(expecting: what)
        guard w.allSatisfy(\.isASCII), let v = Int(w), v >= 0, v < Topology.Limits.maxRanks else {
            throw error("expected \(what) (a whole number from 0)")
        }
        return v
    }

    mutating func time() throws(FaultSpecError) -> Double {
        let w = try word(expecting: "a time with a unit (20us, 1ms)")
        guard case .success(let us) = PhysicalUnit.parseLatencyMicroseconds(w), us.isFinite, us >= 0, us <= Fault.maxMicroseconds else {
            throw error("expected a time with a unit from 0 to \(PhysicalUnit.formatLatency(Fault.maxMicroseconds)) (20us, 1ms)")
        }
        return us
    }

    mutating func effect() throws(FaultSpecError) -> Fault.LinkEffect {
        switch try word(expecting: "down or at") {
        case "down": return .down
        case "at":
            let w = try word(expecting: "a rate (50%, gen3, 12GB/s)")
            if w.hasSuffix("%") {
                guard let p = Double(w.dropLast()), p.isFinite, p > 0, p <= 100 else {
                    throw error("expected a percentage above 0% and at most 100% (a link at 0% is down)")
                }
                return .fraction(p / 100)
            }
            if let g = Fault.pcieGenerations.first(where: { $0.name == w }) { return .bandwidthGBps(g.kind.defaultSpec.bandwidthGBps) }
            guard case .success(let b) = PhysicalUnit.parseBandwidthGBps(String(words[i - 1])), b.isFinite, b > 0 else {
                throw error("expected a rate: a percentage (50%), gen3, gen4, gen5 or a bandwidth (12GB/s)")
            }
            return .bandwidthGBps(b)
        default: throw error("expected down or at")
        }
    }

    mutating func end() throws(FaultSpecError) {
        guard i < words.count else { return }
        last = String(words[i].prefix(40))
        throw error("unexpected word after a complete fault")
    }
}
