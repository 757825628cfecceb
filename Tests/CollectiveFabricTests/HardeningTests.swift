import Foundation
import Testing
@testable import CollectiveFabric

/// Issue 11: no topology, however built, may crash, hang or answer wrongly; every refusal is one
/// line naming the field and the bound.
@Suite("Hardening: topologies")
struct TopologyHardeningTests {
    static func json(_ node: String, nodes: String = "1", network: String? = nil) -> String {
        "{\"nodes\": \(nodes), \"node\": {\(node)}\(network.map { ", \"network\": {\($0)}" } ?? "")}"
    }

    static let nvswitch = "\"nvlink\": {\"fabric\": \"nvswitch\", \"kind\": \"nvlink4\", \"linksPerGPU\": 18}"

    func parseError(_ text: String, format: Topology.FileFormat = .json) -> TopologyError? {
        do {
            _ = try Topology.parse(data: Data(text.utf8), fileName: "t", format: format)
            return nil
        } catch {
            return error
        }
    }

    func expectOneLine(_ error: TopologyError?, contains: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error != nil, "accepted, expected an error containing '\(contains)'", sourceLocation: sourceLocation)
        guard let error else { return }
        #expect(error.description.contains(contains), "\(error)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), "\(error)", sourceLocation: sourceLocation)
    }

    // Class 1: sizes whose product overflows.
    @Test("nodes x gpus beyond Int is refused before any product is formed")
    func rankOverflow() {
        var t = Topology.preset("dgx-h100")!
        t.nodeCount = Int.max / 4
        #expect(throws: TopologyError.self) { try t.validate() }
        t.nodeCount = Topology.Limits.maxRanks / 4  // 8 GPUs per node: twice the ranks modelled
        do { try t.validate(); Issue.record("accepted \(t.nodeCount) x 8 ranks") } catch {
            #expect(error.message.contains("ranks, at most \(Topology.Limits.maxRanks)"), "\(error)")
        }
    }

    @Test("GPU counts beyond the documented bound are refused", arguments: ["3000000000", "2147483648", "100000", "1025"])
    func hugeGPUs(gpus: String) {
        expectOneLine(parseError(Self.json("\"gpus\": \(gpus), \(Self.nvswitch)")), contains: "at most \(Topology.Limits.maxGPUsPerNode)")
        expectOneLine(parseError(Self.json("\"gpus\": \(gpus), \"pcie\": {\"kind\": \"pcie-gen5\"}")), contains: "node.gpus")
    }

    // Class 4: every figure finite and inside its range after unit scaling.
    @Test("rates and times out of range are refused with 'too large' or 'too small'", arguments: [
        ("\"gpus\": 8, \(nvswitch), \"stepOverhead\": \"1e303s\"", "too large"),
        ("\"gpus\": 8, \(nvswitch), \"stepOverhead\": \"2000s\"", "too large"),
        ("\"gpus\": 2, \"pcie\": {\"bandwidth\": \"1e-320GB/s\", \"latency\": \"1us\"}", "too small"),
        ("\"gpus\": 2, \"pcie\": {\"bandwidth\": \"1e-300b/s\", \"latency\": \"1us\"}", "too small"),
        ("\"gpus\": 2, \"pcie\": {\"bandwidth\": \"1e300GB/s\", \"latency\": \"1us\"}", "too large"),
        ("\"gpus\": 2, \"pcie\": {\"bandwidth\": \"10GB/s\", \"latency\": \"1e303s\"}", "too large"),
        ("\"gpus\": 2, \"pcie\": {\"bandwidth\": \"10GB/s\", \"latency\": \"1us\", \"efficiency\": 1e-300}", "too small"),
        ("\"gpus\": 8, \(nvswitch), \"reduceBandwidth\": \"1e-300GB/s\"", "too small"),
    ])
    func ranges(node: String, expected: String) {
        expectOneLine(parseError(Self.json(node)), contains: expected)
    }

    @Test("network times out of range are refused", arguments: ["\"switchLatency\": \"1e303s\"", "\"stepOverhead\": \"1e303s\"", "\"switchLatency\": \"5000s\""])
    func networkRanges(field: String) {
        let node = "\"gpus\": 8, \(Self.nvswitch), \"nics\": {\"count\": 8, \"kind\": \"ib-ndr\"}"
        expectOneLine(parseError(Self.json(node, nodes: "2", network: field)), contains: "too large")
    }

    @Test("a huge latency is 'too large', never 'must not be negative'")
    func hugeLatencyMessage() {
        let e = parseError(Self.json("\"gpus\": 8, \(Self.nvswitch), \"stepOverhead\": \"1e303s\""))
        #expect(e.map { !$0.description.contains("negative") } ?? false, "\(String(describing: e))")
    }

    // Class 7: duplicate mesh pairs were added together.
    @Test("a mesh pair listed twice (either order) is refused", arguments: ["[[0, 1, 1], [0, 1, 1]]", "[[0, 1, 2], [1, 0, 1]]"])
    func duplicatePairs(pairs: String) {
        let node = "\"gpus\": 2, \"nvlink\": {\"fabric\": \"mesh\", \"kind\": \"nvlink2\", \"pairs\": \(pairs)}"
        expectOneLine(parseError(Self.json(node)), contains: "listed twice")
    }

    // Class 5: work bounded. A full mesh of 256 GPUs has 32,640 pairs: reachability and the
    // fabric's tables were O(gpus^2 x pairs) (2e9 pair scans), now O(gpus^2 + pairs).
    @Test("a large full mesh validates and maps in seconds")
    func largeMesh() throws {
        let g = 256
        var pairs: [MeshPair] = []
        for a in 0..<g { for b in (a + 1)..<g { pairs.append(MeshPair(a, b, links: 1)) } }
        var t = Topology.preset("dgx1-v100")!
        t.node.gpuCount = g
        t.node.pcie = nil
        t.node.nicCount = 1
        t.node.nvlink!.pairs = pairs
        let start = Date()
        let map = try FabricMap(t)
        #expect(map.meshLinks(3, 200) == 1 && map.meshLinks(200, 3) == 1)
        #expect(Date().timeIntervalSince(start) < 20)
        t.node.nvlink!.pairs.removeLast()
        #expect(throws: TopologyError.self) { try t.validate() }
    }

    // Class 3: memory checked before allocating.
    @Test("the fabric's tables are sized with checked arithmetic")
    func fabricBytes() {
        var t = Topology.preset("dgx-h100")!
        #expect(FabricMap.estimatedBytes(t) == 8 * 8 * 36)
        t.node.gpuCount = Int.max / 2
        #expect(FabricMap.estimatedBytes(t) == nil)
    }
}

@Suite("Hardening: topology files")
struct TopologyFileHardeningTests {
    func error(_ text: String, _ format: Topology.FileFormat) -> String? {
        do {
            _ = try Topology.parse(data: Data(text.utf8), fileName: "t", format: format)
            return nil
        } catch {
            return error.description
        }
    }

    static let good = "{\"node\": {\"gpus\": 8, \"nvlink\": {\"fabric\": \"nvswitch\", \"kind\": \"nvlink4\", \"linksPerGPU\": 18}}}"

    // Class 7: duplicate keys were first-wins (JSON) and last-wins (YAML).
    @Test("a key given twice is refused in JSON and YAML")
    func duplicateKeys() {
        let j = error("{\"node\": {\"gpus\": 8, \"gpus\": 4}}", .json)
        #expect(j?.contains("duplicate key \"gpus\"") == true, "\(String(describing: j))")
        let y = error("node:\n  gpus: 8\n  gpus: 4\n", .yaml)
        #expect(y?.contains("duplicate key 'gpus'") == true, "\(String(describing: y))")
        #expect(y?.hasPrefix("t:3:") == true, "\(String(describing: y))")
    }

    @Test("YAML integers must be plain digits (1:30 was read as 90)", arguments: ["1:30", "0x10", "0o10", "1_000"])
    func plainIntegers(text: String) {
        let e = error("node:\n  gpus: \(text)\n", .yaml)
        #expect(e?.contains("not a plain integer") == true, "\(String(describing: e))")
    }

    @Test("YAML numbers must be finite", arguments: [".inf", "-.inf", ".nan"])
    func finiteNumbers(text: String) {
        let e = error("node:\n  gpus: 8\nnetwork:\n  oversubscription: \(text)\n", .yaml)
        #expect(e?.contains("not a finite decimal number") == true, "\(String(describing: e))")
    }

    // Class 8: clear messages.
    @Test("a YAML complex key gives a clean message")
    func complexKey() {
        let e = error("node:\n  ? [a, b]\n  : 3\n", .yaml)
        #expect(e == "t:2: a key must be a plain name, not a sequence", "\(String(describing: e))")
    }

    @Test("JSON syntax errors give line and column", arguments: [
        ("{\"node\": {\"gpus\": 8,\n  \"x\" 4}}", "t:2:7: not valid JSON: expected ':' after the key, found '4'"),
        ("{\"node\": {\"gpus\": 8,}}", "t:1:21: not valid JSON: expected a key in double quotes, found '}'"),
        ("{\"node\": [1, 2", "t:1:15: not valid JSON: expected ',' or ']', found the end of the file"),
        ("{\"gpus\": 1e999}", "t:1:10: not valid JSON: number 1e999 is out of range"),
        ("{} {}", "t:1:4: not valid JSON: unexpected text after the end of the document"),
    ])
    func jsonPositions(text: String, expected: String) {
        #expect(error(text, .json) == expected)
    }

    @Test("an error quoting a key or value with a newline stays one line", arguments: [
        ("{\"node\": {\"gpus\": 8, \"a\\nb\": 1}}", Topology.FileFormat.json, "a\\nb"),
        ("!!int 1.5\n\r5\n", .yaml, "1.5\\n5"),
    ])
    func controlCharacters(text: String, format: Topology.FileFormat, escaped: String) {
        let e = error(text, format)
        #expect(e.map { !$0.contains("\n") && !$0.contains("\r") && $0.contains(escaped) } == true, "\(String(describing: e))")
    }

    @Test("JSON strings: escapes and surrogate pairs are read")
    func jsonStrings() throws {
        let t = try Topology.parse(data: Data("{\"name\": \"a\\u00e9\\ud83d\\ude00\\n\\\"\", \"node\": {\"gpus\": 1}}".utf8))
        #expect(t.name == "a\u{e9}\u{1F600}\n\"")
    }

    // Class 5: parser bombs.
    @Test("deep nesting is refused, not a stack overflow", arguments: Topology.FileFormat.allCases)
    func deepNesting(format: Topology.FileFormat) {
        let deep = "{\"node\": " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}"
        #expect(error(deep, format)?.contains("nested deeper than \(Topology.Limits.maxNestingDepth) levels") == true)
        var block = "node:\n"
        for level in 1...1000 { block += String(repeating: " ", count: level) + "k:\n" }
        #expect(error(block, .yaml)?.contains("nested deeper") == true)
        let dashes = "node:\n" + String(repeating: "- ", count: 3000) + "1\n"
        #expect(error(dashes, .yaml)?.contains("nested deeper") == true)
    }

    @Test("a YAML alias bomb is refused at once")
    func aliasBomb() {
        var text = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        for k in 1...9 { text += "a\(k): &a\(k) [" + Array(repeating: "*a\(k - 1)", count: 9).joined(separator: ", ") + "]\n" }
        let start = Date()
        let e = error(text, .yaml)
        #expect(e?.contains("more than \(Topology.Limits.maxFileValues) values") == true, "\(String(describing: e))")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test("a file beyond the size bound is refused before it is parsed", arguments: Topology.FileFormat.allCases)
    func fileSize(format: Topology.FileFormat) throws {
        let big = String(Self.good.dropLast()) + ", \"description\": \"" + String(repeating: "x", count: Topology.Limits.maxFileBytes) + "\"}"
        #expect(error(big, format)?.contains("more than the \(Topology.Limits.maxFileBytes)") == true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hardening-\(getpid()).\(format.rawValue)").path
        try Data(big.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: TopologyError.self) { try Topology.load(path: path) }
    }

    @Test("every preset still reads back from both formats")
    func presetsRoundTrip() throws {
        for name in Topology.presetNames {
            let t = Topology.preset(name)!
            for format in Topology.FileFormat.allCases {
                let back = try Topology.parse(data: Data(t.fileText(format: format).utf8), defaultName: t.name, format: format)
                #expect(back == t, "\(name) \(format)")
            }
        }
    }
}
