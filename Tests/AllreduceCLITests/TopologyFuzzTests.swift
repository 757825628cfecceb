import CollectiveCore
@testable import CollectiveFabric
import CollectiveSim
import Foundation
import _TestSupport
import Testing

/// Structure-aware mutation of topology files: the presets and example files, as trees, with
/// values, keys and shapes mutated, printed as JSON or YAML (block or flow, with anchors and
/// aliases), then sometimes mutated byte by byte. Every accepted topology is also mapped and
/// timed by the analytic, nccl and (on small clusters) event models.
enum TopologyFuzz {
    indirect enum Value: Sendable {
        case null, bool(Bool), number(String), string(String), array([Value]), object([(String, Value)])
    }

    static let keys = ["name", "description", "nodes", "node", "network", "gpu", "gpus", "nvlink", "pcie", "nics", "reduceBandwidth",
                       "stepOverhead", "fabric", "kind", "linksPerGPU", "bandwidth", "latency", "efficiency", "pairs", "count",
                       "leafPorts", "oversubscription", "railOptimized", "switchLatency",
                       "memory", "transferBandwidth", "cache", "workingSets", "bytes"]
    static let numbers = ["0", "-1", "1", "2", "3", "8", "72", "1024", "1025", "4096", "65536", "1048576", "2147483648", "3000000000",
                          "9223372036854775807", "99999999999999999999", "1e15", "1e308", "1e-320", "-0", "0.5", "1.5", "1e-300", "7.0"]
    static let strings = ["1e303s", "1e-320GB/s", "1e-300b/s", "1e300GB/s", "-1us", "0us", "1us", "500ns", "1000s", "inf", "NaN", "1:30",
                          "100GB/s", "400Gb/s", "25GB/s", "1e9GB/s", "nvswitch", "mesh", "nvlink4", "nvlink2", "ib-ndr", "roce-400",
                          "pcie-gen5", "pcie-gen4", "", "x", "1.5 µs", "12.5 GBps", "0x10", "yes", "null", "~", "\u{0}", "é"]

    static let seeds: [Value] = {
        var texts = Topology.presetNames.compactMap { Topology.preset($0)?.fileText() }
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/topologies").standardized
        for file in (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? [] where file.hasSuffix(".json") {
            if let t = try? String(contentsOfFile: examples.appendingPathComponent(file).path, encoding: .utf8) { texts.append(t) }
        }
        return texts.compactMap { text in
            var parser = _JSONParser(Array(text.utf8))
            return (try? parser.document()).map(value)
        }
    }()

    static func value(_ json: JSONValue) -> Value {
        switch json {
        case .object(let d): .object(d.keys.sorted().map { ($0, value(d[$0]!)) })
        case .array(let a): .array(a.map(value))
        case .string(let s): .string(s)
        case .number(let n): .number(PhysicalUnit.shortest(n))
        case .bool(let b): .bool(b)
        case .null: .null
        }
    }

    static func leaf(_ r: inout Fuzz.Random) -> Value {
        switch r.below(6) {
        case 0, 1: return .number(r.pick(numbers))
        case 2, 3: return .string(r.pick(strings))
        case 4: return .bool(r.chance(50))
        default: return r.chance(50) ? .null : .array([.number(r.pick(numbers)), .number(r.pick(numbers)), .number(r.pick(numbers))])
        }
    }

    /// One structural mutation somewhere in `v`.
    static func mutate(_ v: Value, _ r: inout Fuzz.Random, depth: Int = 0) -> Value {
        // Descend with some probability, else mutate here.
        switch v {
        case .object(var fields) where !fields.isEmpty && r.chance(70):
            let i = r.below(fields.count)
            fields[i].1 = mutate(fields[i].1, &r, depth: depth + 1)
            return .object(fields)
        case .array(var items) where !items.isEmpty && r.chance(60):
            let i = r.below(items.count)
            items[i] = mutate(items[i], &r, depth: depth + 1)
            return .array(items)
        default: break
        }
        switch (v, r.below(8)) {
        case (.object(var fields), 0) where !fields.isEmpty:
            fields.remove(at: r.below(fields.count)); return .object(fields)
        case (.object(var fields), 1) where !fields.isEmpty:
            fields.append(fields[r.below(fields.count)]); return .object(fields)  // a duplicate key
        case (.object(var fields), 2):
            fields.append((r.pick(keys), leaf(&r))); return .object(fields)
        case (.array(let items), 3) where !items.isEmpty:
            return .array(Array(repeating: items, count: 1 + r.below(40)).flatMap { $0 })
        case (_, 4):
            var w = v
            for _ in 0..<(1 + r.below(r.chance(10) ? 60 : 4)) { w = r.chance(50) ? .array([w]) : .object([(r.pick(keys), w)]) }
            return w
        case (_, 5):
            return .object([("node", .object([("gpus", .number(r.pick(numbers))), (r.pick(["nvlink", "pcie", "nics"]), v)]))])
        default:
            return leaf(&r)
        }
    }

    static func jsonText(_ v: Value) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let n): n
        case .string(let s): jsonQuote(s)
        case .array(let a): "[" + a.map(jsonText).joined(separator: ", ") + "]"
        case .object(let o): "{" + o.map { "\(jsonQuote($0.0)): \(jsonText($0.1))" }.joined(separator: ", ") + "}"
        }
    }

    /// YAML: block mappings and sequences with flow leaves; strings plain when the text allows
    /// (so YAML's resolver sees `1:30`, `yes`, `~`), an anchor on one collection and an alias to it.
    static func yamlText(_ v: Value, _ r: inout Fuzz.Random) -> String {
        var anchored = false
        func scalar(_ v: Value) -> String {
            switch v {
            case .string(let s): return s.isEmpty || s.contains(where: { ":#{}[],&*!|>'\"%@`\n".contains($0) }) && r.chance(70) ? jsonQuote(s) : s
            default: return jsonText(v)
            }
        }
        func block(_ v: Value, _ indent: Int) -> String {
            let pad = String(repeating: " ", count: indent)
            switch v {
            case .object(let o) where !o.isEmpty:
                return o.map { k, x in
                    var anchor = ""
                    if !anchored, r.chance(10) { anchored = true; anchor = " &a" }
                    if case .object(let inner) = x, !inner.isEmpty { return "\(pad)\(k):\(anchor)\n" + block(x, indent + 2) }
                    if case .array(let inner) = x, !inner.isEmpty, r.chance(50) { return "\(pad)\(k):\(anchor)\n" + block(x, indent + 2) }
                    if anchored && anchor.isEmpty && r.chance(5) { return "\(pad)\(k): *a\n" }
                    return "\(pad)\(k):\(anchor) \(flow(x))\n"
                }.joined()
            case .array(let a) where !a.isEmpty:
                return a.map { "\(pad)- \(flow($0))\n" }.joined()
            default:
                return pad + flow(v) + "\n"
            }
        }
        func flow(_ v: Value) -> String {
            switch v {
            case .array(let a): return "[" + a.map(flow).joined(separator: ", ") + "]"
            case .object(let o): return "{" + o.map { "\($0.0): \(flow($0.1))" }.joined(separator: ", ") + "}"
            default: return scalar(v)
            }
        }
        return r.chance(20) ? flow(v) + "\n" : block(v, 0)
    }

    static let tokens = ["&a ", "*a", "? ", "- ", "[", "{", "]", "}", ",", ":", "\t", "#", "!!int ", "!!str ", "<<: *a", "---\n", "\"", "'",
                         "\\u", "\\ud800", "\n", "  ", "1:30", "0x", "e999", "\u{FEFF}", "\r", "%YAML 1.2\n"]

    /// Byte-level noise over a printed file.
    static func noise(_ text: String, _ r: inout Fuzz.Random) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<(1 + r.below(3)) {
            let at = r.below(bytes.count + 1)
            switch r.below(5) {
            case 0: bytes.insert(contentsOf: Array(r.pick(tokens).utf8), at: at)
            case 1: if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: r.next()) }
            case 2: if at < bytes.count { bytes.removeSubrange(at..<min(bytes.count, at + 1 + r.below(8))) }
            case 3: bytes = Array(bytes.prefix(at))
            default:
                let end = min(bytes.count, at + r.below(64))
                bytes.insert(contentsOf: bytes[at..<end], at: end)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One input: a format letter (`j` or `y`) and the file text.
    static func generate(_ r: inout Fuzz.Random) -> String {
        var v = r.pick(seeds)
        for _ in 0..<(1 + r.below(4)) { v = mutate(v, &r) }
        let yaml = r.chance(50)
        var text = yaml ? yamlText(v, &r) : jsonText(v)
        if r.chance(30) { text = noise(text, &r) }
        return (yaml ? "y" : "j") + text
    }

    /// The line users would see for `input`, nil when it is accepted and every model answers.
    static func check(_ input: String) -> String? {
        let format: Topology.FileFormat = input.first == "y" ? .yaml : .json
        let topology: Topology
        do {
            topology = try Topology.parse(data: Data(input.utf8.dropFirst()), fileName: "fuzz", format: format)
        } catch {
            return error.description
        }
        let fabric: FabricMap
        do { fabric = try FabricMap(topology) } catch { return error.description }
        // (Faults are played by the event model alone.)
        var models: [TimingModel] = fabric.faults == nil ? [.analytic, .nccl] : []
        if fabric.rankCount <= 64 { models.append(.event) }
        for model in models {
            let simulator = Simulator(fabric: fabric, model: model, maxSteps: 200_000)
            do {
                let t = try simulator.time(.ring, elementCount: 1 << 12, dataType: .float32, chunkBytes: 1 << 14)
                if !t.timeSeconds.isFinite { return "\n(\(model) time not finite)" }
                if model != .analytic {
                    let n = try simulator.timeNCCL(elementCount: 1 << 12, dataType: .float32)
                    if !n.timeSeconds.isFinite { return "\n(\(model) nccl time not finite)" }
                }
            } catch {
                return "\(error)"
            }
        }
        return nil
    }
}

@Suite("Fuzz: topology files")
struct TopologyFuzzTests {
    @Test("mutated JSON and YAML topology files are accepted or refused with one line, never crash or hang")
    func fuzz() {
        #expect(TopologyFuzz.seeds.count >= 10)
        let findings = Fuzz.run(count: Fuzz.count(ci: 1000), seed: Fuzz.seed, generate: TopologyFuzz.generate, check: TopologyFuzz.check)
        print("fuzz topology files: \(findings)")
        #expect(findings.hangs.isEmpty, "\(findings.hangs)")
        #expect(findings.badErrors.isEmpty, "\(findings.badErrors)")
        // The mutations must reach past the parser: some inputs are accepted, most refused.
        #expect(findings.accepted > findings.inputs / 50 && findings.refused > findings.inputs / 4, "\(findings)")
    }
}
