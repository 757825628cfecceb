import CollectiveCore
import Foundation
import Yams

/// Topology files: JSON or YAML (`.yaml`, `.yml`: the same fields), one cluster per file. `allreduce topologies show NAME` prints a preset
/// in this format; reading that output back gives the same topology.
///
///     {
///       "name": "my-cluster",                      optional (default: the file name)
///       "description": "...",                       optional
///       "nodes": 4,                                 optional (default 1; --nodes overrides)
///       "node": {
///         "gpu": "H100",                            optional label
///         "gpus": 8,                                required
///         "nvlink": {                               optional (no NVLink: GPUs talk over PCIe)
///           "fabric": "nvswitch" | "mesh",          required
///           "kind": "nvlink4",                      optional: gives bandwidth/latency/efficiency defaults
///           "linksPerGPU": 18,                      required for nvswitch
///           "bandwidth": "25GB/s",                  per link, per direction (required without kind)
///           "latency": "300ns",                     (required without kind)
///           "efficiency": 0.8,                      achievable fraction (default: kind's, else 1)
///           "pairs": [[0, 1, 2], ...],              mesh only: GPU a, GPU b, link count
///           "switchReduction": 0.85                 NVSwitch only: the switch reduces (NVLink SHARP) at this
///                                                   fraction of a port's rate, or false (default: the
///                                                   kind's: nvlink4 0.85, nvlink5 0.74, else false)
///         },
///         "pcie": { "kind": "pcie-gen5", ... },     optional, same link fields
///         "nics": { "count": 8, "kind": "ib-ndr", ... },  optional (required for several nodes)
///         "reduceBandwidth": "1117GB/s",            optional: GPU reduction rate (absent: free)
///         "memory": {                               optional: a CPU node's memory, shared by its ranks
///           "transferBandwidth": "9GB/s",           same-node transfers of all ranks together
///           "reduceBandwidth": "12GB/s",            reductions of all ranks together (one operand)
///           "cache": {"bytes": "256K",              optional: the rates of messages up to this size
///                     "transferBandwidth": "40GB/s", "reduceBandwidth": "50GB/s",
///                     "pairBandwidth": "25GB/s"},    (optional: one transfer alone)
///           "workingSets": [{"bytes": "8M",         optional: the rates of collectives of at least
///                     "transferBandwidth": "5GB/s",    this many bytes per rank (DRAM), growing
///                     "reduceBandwidth": "8GB/s"}, ...]   (pairBandwidth as for cache)
///           "inFlight": [{"messages": 1, "factor": 1},  optional: the transfer rate beyond the caches
///                     {"messages": 8, "factor": 1.7}, ...]  by the messages a rank keeps in flight
///         },                                        (NodeMemorySpec; `allreduce calibrate` writes it)
///         "stepOverhead": "1us"                     optional (default 1us)
///       },
///       "network": {                                optional
///         "leafPorts": 32,                          NIC-facing ports per leaf (default 32)
///         "oversubscription": 1,                    down:up ratio of a leaf (default 1)
///         "railOptimized": true,                    (default false)
///         "switchLatency": "130ns",                 (default: 130ns for InfiniBand, 500ns for RoCE)
///         "stepOverhead": "1.5us",                  extra per network transfer (default 1.5us)
///         "sharp": false                            the switches reduce (InfiniBand SHARP; default false)
///       },
///       "faults": ["node 3 nic 2 at 50%"]           optional: ``Fault`` specs
///     }
///
/// Bandwidths need a unit (`GB/s` = 1e9 bytes/s, `Gb/s` = 1e9 bits/s, also TB/s MB/s Tb/s Mb/s);
/// latencies too (`s`, `ms`, `us`, `ns`). Link kinds: ``LinkKind/validNames``.
///
/// The same file in YAML (`allreduce topologies show NAME --format yaml` prints one):
///
///     name: my-cluster
///     nodes: 4
///     node:
///       gpus: 8
///       nvlink: {fabric: nvswitch, kind: nvlink4, linksPerGPU: 18}
///       nics: {count: 8, kind: ib-ndr}
///
/// Units make bandwidths and latencies strings in both formats (`bandwidth: 25GB/s`).
extension Topology {
    /// The two file formats.
    public enum FileFormat: String, Sendable, CaseIterable {
        case json, yaml

        /// YAML for `.yaml` and `.yml` files, JSON otherwise.
        public init(path: String) {
            let lower = path.lowercased()
            self = lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") ? .yaml : .json
        }
    }

    /// Reads a topology file (YAML for `.yaml`/`.yml`, JSON otherwise). Errors name the field and,
    /// where it can be found, the file line.
    public static func load(path: String) throws(TopologyError) -> Topology {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > Limits.maxFileBytes {
            throw fileTooLarge(size, location: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TopologyError(field: "", message: "cannot read topology file '\(path)' (not found or not readable)")
        }
        let fileName = (path as NSString).lastPathComponent
        var stem = fileName
        for ext in [".json", ".yaml", ".yml"] where stem.lowercased().hasSuffix(ext) { stem = String(stem.dropLast(ext.count)) }
        return try parse(data: data, fileName: path, defaultName: stem, format: FileFormat(path: path))
    }

    static func fileTooLarge(_ bytes: Int, location: String) -> TopologyError {
        TopologyError(field: "", message: "the file has \(bytes) bytes, more than the \(Limits.maxFileBytes) a topology file may have", location: location)
    }

    /// Parses a topology file's text (see the format above).
    public static func parse(data: Data, fileName: String = "<topology>", defaultName: String = "custom",
                             format: FileFormat = .json) throws(TopologyError) -> Topology {
        guard data.count <= Limits.maxFileBytes else { throw fileTooLarge(data.count, location: fileName) }
        let text = String(decoding: data, as: UTF8.self)
        if format == .yaml {
            let root = try _YAML.decode(text, fileName: fileName)
            var reader = _Reader(text: text, fileName: fileName, yaml: true)
            return try reader.topology(root, defaultName: defaultName)
        }
        var parser = _JSONParser(Array(data))
        let root: JSONValue
        do {
            root = try parser.document()
        } catch {
            let at = parser.position(error.offset)
            throw TopologyError(field: "", message: "not valid JSON: \(error.message)", location: "\(fileName):\(at.line):\(at.column)")
        }
        var reader = _Reader(text: text, fileName: fileName)
        return try reader.topology(root, defaultName: defaultName)
    }

    /// The topology as a file of `format`, keys in a fixed order: reading it back gives `self`.
    public func fileText(format: FileFormat) -> String {
        format == .json ? fileText() : _YAML.blockText(fromJSON: fileText())
    }

    /// The topology in the JSON file format, keys in a fixed order: reading it back gives `self`.
    public func fileText() -> String {
        var lines: [String] = ["{"]
        lines.append("  \"name\": \(jsonQuote(name)),")
        lines.append("  \"description\": \(jsonQuote(summary)),")
        lines.append("  \"nodes\": \(nodeCount),")
        lines.append("  \"node\": {")
        var nodeFields: [String] = []
        nodeFields.append("    \"gpu\": \(jsonQuote(node.gpuName))")
        nodeFields.append("    \"gpus\": \(node.gpuCount)")
        if let nv = node.nvlink {
            var f = ["\"fabric\": \"\(nv.fabric.rawValue)\""]
            f += Self.linkFields(nv.link)
            f.append("\"linksPerGPU\": \(nv.linksPerGPU)")
            if nv.fabric == .mesh {
                f.append("\"pairs\": [" + nv.pairs.map { "[\($0.a), \($0.b), \($0.links)]" }.joined(separator: ", ") + "]")
            } else {
                f.append("\"switchReduction\": " + (nv.switchReductionEfficiency.map { "\($0)" } ?? "false"))
            }
            nodeFields.append("    \"nvlink\": {" + f.joined(separator: ", ") + "}")
        }
        if let pcie = node.pcie { nodeFields.append("    \"pcie\": {" + Self.linkFields(pcie).joined(separator: ", ") + "}") }
        if let nic = node.nic, node.nicCount > 0 {
            nodeFields.append("    \"nics\": {" + (["\"count\": \(node.nicCount)"] + Self.linkFields(nic)).joined(separator: ", ") + "}")
        }
        if let r = node.reduceGBps { nodeFields.append("    \"reduceBandwidth\": \"\(PhysicalUnit.formatBandwidth(r))\"") }
        if let m = node.memory {
            func regime(_ r: NodeMemorySpec.Regime) -> String {
                "{\"bytes\": \"\(ByteCount.format(r.bytes))\", \"transferBandwidth\": \"\(PhysicalUnit.formatBandwidth(r.transferGBps))\", "
                    + "\"reduceBandwidth\": \"\(PhysicalUnit.formatBandwidth(r.reduceGBps))\""
                    + (r.pairGBps.map { ", \"pairBandwidth\": \"\(PhysicalUnit.formatBandwidth($0))\"" } ?? "") + "}"
            }
            // One message-size regime as a mapping (as files written before the table read),
            // several as a list.
            let cache = m.cache.isEmpty ? "" : ", \"cache\": " + (m.cache.count == 1 ? regime(m.cache[0]) : "[" + m.cache.map(regime).joined(separator: ", ") + "]")
            let sets = m.workingSets.isEmpty ? "" : ", \"workingSets\": [" + m.workingSets.map(regime).joined(separator: ", ") + "]"
            let flight = m.inFlight.isEmpty ? "" : ", \"inFlight\": ["
                + m.inFlight.map { "{\"messages\": \($0.messages), \"factor\": \(PhysicalUnit.shortest($0.factor))}" }.joined(separator: ", ") + "]"
            nodeFields.append("    \"memory\": {\"transferBandwidth\": \"\(PhysicalUnit.formatBandwidth(m.transferGBps))\", "
                              + "\"reduceBandwidth\": \"\(PhysicalUnit.formatBandwidth(m.reduceGBps))\"\(cache)\(sets)\(flight)}")
        }
        nodeFields.append("    \"stepOverhead\": \"\(PhysicalUnit.formatLatency(node.stepOverheadMicroseconds))\"")
        lines.append(nodeFields.joined(separator: ",\n"))
        lines.append("  },")
        lines.append("  \"network\": {\"leafPorts\": \(network.leafPorts), \"oversubscription\": \(PhysicalUnit.shortest(network.oversubscription)), "
                     + "\"railOptimized\": \(network.railOptimized), \"switchLatency\": \"\(PhysicalUnit.formatLatency(network.switchLatencyMicroseconds))\", "
                     + "\"stepOverhead\": \"\(PhysicalUnit.formatLatency(network.stepOverheadMicroseconds))\", \"sharp\": \(network.sharp)}"
                     + (faults.isEmpty ? "" : ","))
        if !faults.isEmpty { lines.append("  \"faults\": [" + faults.map { jsonQuote($0.description) }.joined(separator: ", ") + "]") }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func linkFields(_ l: LinkSpec) -> [String] {
        var f: [String] = []
        if let k = l.kind { f.append("\"kind\": \"\(k.rawValue)\"") }
        f.append("\"bandwidth\": \"\(PhysicalUnit.formatBandwidth(l.bandwidthGBps))\"")
        f.append("\"latency\": \"\(PhysicalUnit.formatLatency(l.latencyMicroseconds))\"")
        f.append("\"efficiency\": \(PhysicalUnit.shortest(l.efficiency))")
        return f
    }
}

/// Walks the decoded JSON, keeping the dotted path for errors and finding file lines by scanning
/// the text for the keys of the path in order.
struct _Reader {
    let text: String
    let fileName: String
    /// The text is YAML: keys appear as `key:` (plain or quoted), not only `"key"`.
    var yaml = false

    /// Whether `needle` occurs at `i` as a key: quoted in JSON; in YAML plain after a space,
    /// `-`, `{`, `,` or a line start and followed by `:`, or quoted.
    func _keyAt(_ utf8: [UInt8], _ i: Int, _ name: [UInt8]) -> Int? {
        let quoted = [UInt8(ascii: "\"")] + name + [UInt8(ascii: "\"")]
        if i + quoted.count <= utf8.count && Array(utf8[i..<(i + quoted.count)]) == quoted { return quoted.count }
        guard yaml, i + name.count < utf8.count, Array(utf8[i..<(i + name.count)]) == name, utf8[i + name.count] == UInt8(ascii: ":") else { return nil }
        if i > 0 && !" -{,\n\t".utf8.contains(utf8[i - 1]) { return nil }
        return name.count + 1
    }

    func location(_ path: [String]) -> String {
        // Find each key of the path in turn, after the previous one.
        let utf8 = Array(text.utf8)
        var pos = 0
        for key in path {
            let name = Array((key.split(separator: "[").first.map(String.init) ?? key).utf8)
            var found = -1
            var length = 0
            var i = pos
            while i + name.count <= utf8.count {
                if let n = _keyAt(utf8, i, name) { found = i; length = n; break }
                i += 1
            }
            if found < 0 { break }
            pos = found + length
        }
        if path.isEmpty || pos == 0 { return fileName }
        let line = 1 + utf8[0..<pos].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        return "\(fileName):\(line)"
    }

    func fail(_ path: [String], _ message: String) -> TopologyError {
        TopologyError(field: path.joined(separator: "."), message: message, location: location(path))
    }

    func object(_ v: JSONValue?, _ path: [String]) throws(TopologyError) -> [String: JSONValue] {
        guard case .object(let o)? = v else { throw fail(path, "expected an object { ... }") }
        return o
    }

    func checkKeys(_ o: [String: JSONValue], _ allowed: Set<String>, _ path: [String]) throws(TopologyError) {
        for key in o.keys.sorted() where !allowed.contains(key) {
            throw fail(path + [key], "unknown field (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func int(_ o: [String: JSONValue], _ key: String, _ path: [String], default def: Int? = nil) throws(TopologyError) -> Int {
        guard let v = o[key] else {
            if let def { return def }
            throw fail(path + [key], "missing field")
        }
        if case .number(let d) = v, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw fail(path + [key], "expected a whole number, got \(describe(v))")
    }

    func number(_ o: [String: JSONValue], _ key: String, _ path: [String], default def: Double) throws(TopologyError) -> Double {
        guard let v = o[key] else { return def }
        guard case .number(let d) = v else { throw fail(path + [key], "expected a number, got \(describe(v))") }
        return d
    }

    func bool(_ o: [String: JSONValue], _ key: String, _ path: [String], default def: Bool) throws(TopologyError) -> Bool {
        guard let v = o[key] else { return def }
        guard case .bool(let b) = v else { throw fail(path + [key], "expected true or false, got \(describe(v))") }
        return b
    }

    func string(_ o: [String: JSONValue], _ key: String, _ path: [String]) throws(TopologyError) -> String? {
        guard let v = o[key] else { return nil }
        guard case .string(let s) = v else { throw fail(path + [key], "expected a string, got \(describe(v))") }
        return s
    }

    /// A memory regime (``NodeMemorySpec/Regime``): `{bytes, transferBandwidth, reduceBandwidth,
    /// pairBandwidth (optional)}`.
    func regime(_ v: JSONValue?, _ path: [String]) throws(TopologyError) -> NodeMemorySpec.Regime {
        let c = try object(v, path)
        try checkKeys(c, ["bytes", "transferBandwidth", "reduceBandwidth", "pairBandwidth"], path)
        guard let text = try string(c, "bytes", path) else { throw fail(path + ["bytes"], "missing field (a size such as \"256K\")") }
        guard case .success(let bytes) = ByteCount.parse(text), bytes >= 1 else { throw fail(path + ["bytes"], "expected a size of at least 1 byte such as \"256K\", got '\(text)'") }
        guard let t = try bandwidth(c, "transferBandwidth", path) else { throw fail(path + ["transferBandwidth"], "missing field") }
        guard let r = try bandwidth(c, "reduceBandwidth", path) else { throw fail(path + ["reduceBandwidth"], "missing field") }
        return NodeMemorySpec.Regime(bytes: bytes, transferGBps: t, reduceGBps: r, pairGBps: try bandwidth(c, "pairBandwidth", path))
    }

    func bandwidth(_ o: [String: JSONValue], _ key: String, _ path: [String]) throws(TopologyError) -> Double? {
        guard let v = o[key] else { return nil }
        guard case .string(let s) = v else {
            throw fail(path + [key], "expected a string with a unit such as \"50GB/s\" or \"400Gb/s\", got \(describe(v))")
        }
        switch PhysicalUnit.parseBandwidthGBps(s) {
        case .success(let x): return x
        case .failure(let e): throw fail(path + [key], e.description)
        }
    }

    func latency(_ o: [String: JSONValue], _ key: String, _ path: [String]) throws(TopologyError) -> Double? {
        guard let v = o[key] else { return nil }
        guard case .string(let s) = v else {
            throw fail(path + [key], "expected a string with a unit such as \"2us\" or \"500ns\", got \(describe(v))")
        }
        switch PhysicalUnit.parseLatencyMicroseconds(s) {
        case .success(let x): return x
        case .failure(let e): throw fail(path + [key], e.description)
        }
    }

    func describe(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): "\"\(s)\""
        case .bool(let b): "\(b)"
        case .number(let d): PhysicalUnit.shortest(d)
        case .array: "an array"
        case .object: "an object"
        case .null: "null"
        }
    }

    static let linkKeys: Set<String> = ["kind", "bandwidth", "latency", "efficiency"]

    func link(_ o: [String: JSONValue], _ path: [String]) throws(TopologyError) -> LinkSpec {
        var spec: LinkSpec
        if let kindName = try string(o, "kind", path) {
            guard let kind = LinkKind(rawValue: kindName.lowercased()) else {
                throw fail(path + ["kind"], "unknown link kind '\(kindName)' (known: \(LinkKind.validNames))")
            }
            spec = kind.defaultSpec
        } else {
            guard o["bandwidth"] != nil else { throw fail(path + ["bandwidth"], "missing field (or give a \"kind\")") }
            guard o["latency"] != nil else { throw fail(path + ["latency"], "missing field (or give a \"kind\")") }
            spec = LinkSpec(bandwidthGBps: 0, latencyMicroseconds: 0, efficiency: 1)
        }
        if let b = try bandwidth(o, "bandwidth", path) {
            guard b > 0 else { throw fail(path + ["bandwidth"], "must be positive") }
            spec.bandwidthGBps = b
        }
        if let l = try latency(o, "latency", path) { spec.latencyMicroseconds = l }
        spec.efficiency = try number(o, "efficiency", path, default: spec.efficiency)
        guard spec.efficiency > 0 && spec.efficiency <= 1 else { throw fail(path + ["efficiency"], "must be in (0, 1], got \(spec.efficiency)") }
        return spec
    }

    mutating func topology(_ root: JSONValue, defaultName: String) throws(TopologyError) -> Topology {
        let top = try object(root, [])
        try checkKeys(top, ["name", "description", "nodes", "node", "network", "faults"], [])
        let name = try string(top, "name", []) ?? defaultName
        let summary = try string(top, "description", []) ?? ""
        let nodes = try int(top, "nodes", [], default: 1)
        guard nodes >= 1 else { throw fail(["nodes"], "must be at least 1, got \(nodes)") }
        guard top["node"] != nil else { throw fail(["node"], "missing field") }
        let n = try object(top["node"], ["node"])
        try checkKeys(n, ["gpu", "gpus", "nvlink", "pcie", "nics", "reduceBandwidth", "memory", "stepOverhead"], ["node"])
        let gpus = try int(n, "gpus", ["node"])
        guard gpus >= 1 else { throw fail(["node", "gpus"], "must be at least 1, got \(gpus)") }
        let gpuName = try string(n, "gpu", ["node"]) ?? "GPU"

        var nvlink: NVLinkSpec?
        if n["nvlink"] != nil {
            let path = ["node", "nvlink"]
            let o = try object(n["nvlink"], path)
            try checkKeys(o, _Reader.linkKeys.union(["fabric", "linksPerGPU", "pairs", "switchReduction"]), path)
            guard let fabricName = try string(o, "fabric", path) else { throw fail(path + ["fabric"], "missing field (nvswitch or mesh)") }
            guard let fabric = NVLinkFabric(rawValue: fabricName.lowercased()) else {
                throw fail(path + ["fabric"], "unknown fabric '\(fabricName)' (nvswitch or mesh)")
            }
            let l = try link(o, path)
            var pairs: [MeshPair] = []
            if fabric == .mesh {
                guard let raw = o["pairs"] else { throw fail(path + ["pairs"], "missing field (a mesh lists its [gpuA, gpuB, links] pairs)") }
                guard case .array(let list) = raw else { throw fail(path + ["pairs"], "expected an array of [gpuA, gpuB, links]") }
                for (i, item) in list.enumerated() {
                    guard case .array(let triple) = item, triple.count == 3,
                          case .number(let a) = triple[0], case .number(let b) = triple[1], case .number(let k) = triple[2],
                          a == a.rounded(), b == b.rounded(), k == k.rounded(), abs(a) < 1e9, abs(b) < 1e9, abs(k) < 1e9 else {
                        throw fail(path + ["pairs[\(i)]"], "expected [gpuA, gpuB, links] (three whole numbers)")
                    }
                    pairs.append(MeshPair(Int(a), Int(b), links: Int(k)))
                }
            }
            let defaultLinks = fabric == .mesh ? pairs.map(\.links).max() ?? 1 : nil
            let links = try int(o, "linksPerGPU", path, default: defaultLinks)
            var reduction: Double?? = .none
            switch o["switchReduction"] {
            case nil: break
            case .bool(false)?: reduction = .some(nil)
            case .number(let e)? where fabric == .nvswitch:
                guard e > 0 && e <= 1 else { throw fail(path + ["switchReduction"], "must be in (0, 1] (the fraction of a port's rate) or false, got \(e)") }
                reduction = .some(e)
            case .number?: throw fail(path + ["switchReduction"], "only an NVSwitch fabric reduces in the switch")
            default: throw fail(path + ["switchReduction"], "expected a fraction in (0, 1] or false")
            }
            nvlink = NVLinkSpec(fabric: fabric, link: l, linksPerGPU: links, pairs: pairs, switchReductionEfficiency: reduction)
        }
        var pcie: LinkSpec?
        if n["pcie"] != nil {
            let o = try object(n["pcie"], ["node", "pcie"])
            try checkKeys(o, _Reader.linkKeys, ["node", "pcie"])
            pcie = try link(o, ["node", "pcie"])
        }
        var nic: LinkSpec?
        var nicCount = 0
        if n["nics"] != nil {
            let o = try object(n["nics"], ["node", "nics"])
            try checkKeys(o, _Reader.linkKeys.union(["count"]), ["node", "nics"])
            nicCount = try int(o, "count", ["node", "nics"])
            guard nicCount >= 1 else { throw fail(["node", "nics", "count"], "must be at least 1, got \(nicCount)") }
            nic = try link(o, ["node", "nics"])
        }
        let reduce = try bandwidth(n, "reduceBandwidth", ["node"])
        if let reduce, reduce <= 0 { throw fail(["node", "reduceBandwidth"], "must be positive") }
        let overhead = try latency(n, "stepOverhead", ["node"]) ?? Topology.defaultStepOverheadMicroseconds
        var memory: NodeMemorySpec?
        if n["memory"] != nil {
            let path = ["node", "memory"]
            let o = try object(n["memory"], path)
            try checkKeys(o, ["transferBandwidth", "reduceBandwidth", "cache", "workingSets", "inFlight"], path)
            guard let transfer = try bandwidth(o, "transferBandwidth", path) else { throw fail(path + ["transferBandwidth"], "missing field") }
            guard let reduce = try bandwidth(o, "reduceBandwidth", path) else { throw fail(path + ["reduceBandwidth"], "missing field") }
            memory = NodeMemorySpec(transferGBps: transfer, reduceGBps: reduce)
            if let raw = o["cache"] {
                switch raw {
                case .array(let list):
                    memory!.cache = try list.indices.map { i throws(TopologyError) in try regime(list[i], path + ["cache[\(i)]"]) }
                case .object:
                    memory!.cache = [try regime(raw, path + ["cache"])]
                default:
                    throw fail(path + ["cache"], "expected {bytes, transferBandwidth, reduceBandwidth} or a list of them")
                }
            }
            if let raw = o["workingSets"] {
                guard case .array(let list) = raw else { throw fail(path + ["workingSets"], "expected a list of {bytes, transferBandwidth, reduceBandwidth}") }
                memory!.workingSets = try list.indices.map { i throws(TopologyError) in try regime(list[i], path + ["workingSets[\(i)]"]) }
            }
            if let raw = o["inFlight"] {
                guard case .array(let list) = raw else { throw fail(path + ["inFlight"], "expected a list of {messages, factor}") }
                memory!.inFlight = try list.indices.map { i throws(TopologyError) in
                    let entry = path + ["inFlight[\(i)]"]
                    let c = try object(list[i], entry)
                    try checkKeys(c, ["messages", "factor"], entry)
                    guard c["factor"] != nil else { throw fail(entry + ["factor"], "missing field") }
                    return NodeMemorySpec.InFlight(messages: try int(c, "messages", entry), factor: try number(c, "factor", entry, default: 1))
                }
            }
        }

        var network = NetworkSpec(leafPorts: 32, oversubscription: 1, railOptimized: false,
                                  switchLatencyMicroseconds: nic?.kind?.switchHopLatencyMicroseconds ?? 0.13,
                                  stepOverheadMicroseconds: Topology.defaultNetworkStepOverheadMicroseconds)
        if top["network"] != nil {
            let path = ["network"]
            let o = try object(top["network"], path)
            try checkKeys(o, ["leafPorts", "oversubscription", "railOptimized", "switchLatency", "stepOverhead", "sharp"], path)
            network.leafPorts = try int(o, "leafPorts", path, default: network.leafPorts)
            guard network.leafPorts >= 1 else { throw fail(path + ["leafPorts"], "must be at least 1") }
            network.oversubscription = try number(o, "oversubscription", path, default: 1)
            guard network.oversubscription >= 1 else { throw fail(path + ["oversubscription"], "must be at least 1 (down:up ratio), got \(network.oversubscription)") }
            network.railOptimized = try bool(o, "railOptimized", path, default: false)
            network.switchLatencyMicroseconds = try latency(o, "switchLatency", path) ?? network.switchLatencyMicroseconds
            network.stepOverheadMicroseconds = try latency(o, "stepOverhead", path) ?? network.stepOverheadMicroseconds
            network.sharp = try bool(o, "sharp", path, default: false)
        }
        var faults: [Fault] = []
        if let raw = top["faults"] {
            guard case .array(let list) = raw else { throw fail(["faults"], "expected a list of fault specs (\"node 3 nic 2 at 50%\")") }
            for (i, item) in list.enumerated() {
                guard case .string(let spec) = item else { throw fail(["faults[\(i)]"], "expected a fault spec as text (\"node 3 nic 2 at 50%\")") }
                do { faults.append(try Fault(parsing: spec)) } catch { throw fail(["faults[\(i)]"], error.description) }
            }
        }
        var t = Topology(
            name: name, summary: summary, nodeCount: nodes,
            node: NodeSpec(gpuName: gpuName, gpuCount: gpus, nvlink: nvlink, pcie: pcie, nic: nic, nicCount: nicCount,
                           reduceGBps: reduce, stepOverheadMicroseconds: overhead, memory: memory),
            network: network)
        t.faults = faults
        do {
            try t.validate()
        } catch {
            var e = error
            e.location = location(e.field.split(separator: ".").map(String.init))
            throw e
        }
        return t
    }
}

/// A topology file's values, from either format (``_JSONParser``, ``_YAML``).
enum JSONValue {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])
}

enum AllreduceText {
    static func firstLine(_ s: String) -> String { s.split(separator: "\n").first.map(String.init) ?? s }
}


/// YAML topology files through Yams: decoded into the same ``JSONValue`` tree the JSON reader
/// walks, so both formats share every check and error message.
enum _YAML {
    static func decode(_ text: String, fileName: String) throws(TopologyError) -> JSONValue {
        if let violation = boundsViolation(text) {
            throw TopologyError(field: "", message: "not accepted as a topology file: \(violation.message)", location: "\(fileName):\(violation.line)")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            // Yams: `1:15: error: composer: found undefined alias:`, then the line and a caret.
            var first = AllreduceText.firstLine("\(error)")
            while first.hasSuffix(":") || first.hasSuffix(" ") { first.removeLast() }
            throw TopologyError(field: "", message: "not valid YAML: \(first)", location: fileName)
        }
        guard let node else { throw TopologyError(field: "", message: "empty YAML document", location: fileName) }
        return try value(node, fileName: fileName)
    }

    /// The resolved tag of a node (`tag:yaml.org,2002:int`, ...).
    static func tag(_ node: Node) -> String { node.tag.description }

    /// Digits with an optional sign: the only integers a topology file takes (YAML 1.1 would also
    /// read `1:30` as 90, `0x10`, `0o10` and `1_000`).
    static func isPlainInteger(_ s: String) -> Bool {
        let digits = s.first == "-" || s.first == "+" ? s.dropFirst() : Substring(s)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// A YAML node as a JSON value: scalars by their resolved tag (`8` a number, `true` a bool,
    /// `25GB/s` and quoted text strings). Refuses what JSON cannot say: keys that are not plain
    /// names, a key given twice, integers that are not plain digits, numbers that are not finite.
    static func value(_ node: Node, fileName: String) throws(TopologyError) -> JSONValue {
        func fail(_ n: Node, _ message: String) -> TopologyError {
            TopologyError(field: "", message: message, location: n.mark.map { "\(fileName):\($0.line)" } ?? fileName)
        }
        switch node {
        case .scalar(let scalar):
            switch tag(node) {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return Bool.construct(from: scalar).map(JSONValue.bool) ?? .string(scalar.string)
            case Tag.Name.int.rawValue:
                guard isPlainInteger(scalar.string) else {
                    throw fail(node, "'\(scalar.string)' is not a plain integer (write decimal digits, or quote it for text)")
                }
                guard let d = Double(scalar.string) else { throw fail(node, "'\(scalar.string)' is out of range") }
                return .number(d)
            case Tag.Name.float.rawValue:
                guard !scalar.string.contains("_"), let d = Double(scalar.string), d.isFinite else {
                    throw fail(node, "'\(scalar.string)' is not a finite decimal number")
                }
                return .number(d)
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            var o: [String: JSONValue] = [:]
            for (k, v) in mapping {
                guard case .scalar(let key) = k else {
                    throw fail(k, "a key must be a plain name, not a \(k.mapping != nil ? "mapping" : "sequence")")
                }
                guard o[key.string] == nil else { throw fail(k, "duplicate key '\(key.string)'") }
                o[key.string] = try value(v, fileName: fileName)
            }
            return .object(o)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for item in sequence { items.append(try value(item, fileName: fileName)) }
            return .array(items)
        }
    }

    /// The JSON file text re-emitted as block-style YAML, keys in the same order (JSON is YAML's
    /// flow style, so Yams reads it with its order); mappings of scalars and lists of scalars
    /// stay inline (`nvlink: {fabric: nvswitch, ...}`).
    static func blockText(fromJSON json: String) -> String {
        guard let node = try? Yams.compose(yaml: json) else { return json }
        return (try? Yams.serialize(node: restyle(node, root: true), width: -1)) ?? json
    }

    static func isScalar(_ node: Node) -> Bool { if case .scalar = node { return true } else { return false } }

    static func restyle(_ node: Node, root: Bool = false) -> Node {
        switch node {
        case .scalar(let scalar):
            var out = Node.Scalar(scalar.string, scalar.tag, .plain)
            if tag(node) == Tag.Name.str.rawValue {
                // Plain where YAML reads the text back as the same string; quoted otherwise.
                let back = try? Yams.compose(yaml: "k: \(scalar.string)")
                if scalar.string.isEmpty || back?["k"].map({ tag($0) != Tag.Name.str.rawValue || $0.string != scalar.string }) ?? true {
                    out.style = .doubleQuoted
                }
            }
            return .scalar(out)
        case .mapping(let mapping):
            var pairs: [(Node, Node)] = []
            for (k, v) in mapping { pairs.append((restyle(k), restyle(v))) }
            let inline = !root && mapping.allSatisfy { isScalar($0.value) || ($0.value.sequence?.allSatisfy(isScalar) ?? false) }
            return .mapping(Node.Mapping(pairs, mapping.tag, inline ? .flow : .block))
        case .sequence(let sequence):
            let flat = sequence.allSatisfy(isScalar)
            return .sequence(Node.Sequence(sequence.map { restyle($0) }, sequence.tag, flat ? .flow : .block))
        }
    }
}
