import Foundation
import Testing

/// Issue 11 end to end: every bad input is one line on standard error and a non-zero exit, never
/// a trap, a backtrace, a hang or a wrong answer with status 0. One test per defect class, each
/// with the reproducers.
@Suite("Hardening: command line")
struct HardeningCLITests {
    /// Runs `args` and checks the refusal: non-zero, one line, the expected text, no crash output.
    func refused(_ args: [String], _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try CLI.run(args)
        #expect(r.status != 0 && r.status < 64 + 64, "status \(r.status) for \(args)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(args): \(r.stderr.prefix(500))", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("allreduce: error: "), "\(args): \(r.stderr.prefix(300))", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(expected), "\(args): expected '\(expected)' in \(r.stderr.prefix(300))", sourceLocation: sourceLocation)
        #expect(r.status != 70, "\(args) crashed: \(r.stderr.prefix(300))", sourceLocation: sourceLocation)
    }

    func file(_ name: String, _ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hardening-cli-\(getpid())-\(name)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("class 1: sizes that overflow Int are refused with checked arithmetic")
    func overflow() throws {
        try refused(["simulate", "--nodes", "9223372036854775807", "--size", "1M"], "nodes: too large")
        try refused(["simulate", "--topology", "switch", "--ranks", "4611686018427387904"], "--ranks: too large")
        try refused(["bench-executor", "--ranks", "9223372036854775807"], "more than 8 EiB")
        try refused(["bench-executor", "--ranks", "4", "--threads", "9223372036854775807"], "--threads must be between 1 and 1024")
        try refused(["bench-executor", "--ranks", "4", "--size", "4K", "--runs", "2000000000"], "use fewer --runs")
        let gpus = try file("gpus.json", "{\"node\": {\"gpus\": 3000000000, \"pcie\": {\"kind\": \"pcie-gen5\"}}}")
        defer { try? FileManager.default.removeItem(atPath: gpus) }
        try refused(["simulate", "--topology", gpus, "--size", "1M"], "node.gpus: too large")
        try refused(["sweep", "-b", "9223372036854775807", "-e", "9223372036854775807"], "not a whole number")
    }

    @Test("class 2: a size check users can hit is a real message in every build")
    func preconditions() throws {
        try refused(["simulate", "--topology", "switch", "--ranks", "2147483648", "--size", "1M"], "at most 1048576 ranks")
        try refused(["verify", "--ranks", "1048577", "--count", "1", "--algorithm", "ring"], "steps")
    }

    @Test("class 3: a model that would not fit in available memory is refused with the figure")
    func memory() throws {
        try refused(["bench-executor", "--ranks", "1000000"], "GiB of memory, but only")
        try refused(["verify", "--ranks", "1000", "--count", "4000000000"], "is available")
        let big = try file("big.json", "{\"node\": {\"gpus\": 100000, \"nvlink\": {\"fabric\": \"nvswitch\", \"kind\": \"nvlink4\", \"linksPerGPU\": 18}}}")
        defer { try? FileManager.default.removeItem(atPath: big) }
        try refused(["simulate", "--topology", big], "at most 1024")
    }

    @Test("class 4: figures out of range after unit scaling are refused, times stay finite")
    func finite() throws {
        try refused(["simulate", "--topology", "switch", "--link-bandwidth", "1e-320GB/s"], "--link-bandwidth: too small")
        try refused(["simulate", "--topology", "switch", "--link-bandwidth", "1e-300b/s"], "--link-bandwidth: too small")
        try refused(["simulate", "--topology", "switch", "--link-latency", "1e303s"], "too large")
        try refused(["simulate", "--topology", "switch", "--link-latency", "5000s"], "--link-latency: too large")
        let r = try CLI.run(["simulate", "--topology", "switch", "--link-bandwidth", "1B/s", "--link-latency", "1000s", "--size", "1G", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("inf") && !r.stdout.contains("nan"), "\(r.stdout)")
    }

    @Test("class 5: parser bombs end at once with one line")
    func bombs() throws {
        let deep = try file("deep.yaml", "node: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
        var aliases = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        for k in 1...9 { aliases += "a\(k): &a\(k) [" + Array(repeating: "*a\(k - 1)", count: 9).joined(separator: ", ") + "]\n" }
        let bomb = try file("bomb.yaml", aliases)
        defer { for p in [deep, bomb] { try? FileManager.default.removeItem(atPath: p) } }
        try refused(["simulate", "--topology", deep], "nested deeper than")
        try refused(["simulate", "--topology", bomb], "values")
    }

    @Test("class 6: simulate, sweep and bench-executor estimate their work first and refuse beyond --max-steps")
    func workCap() throws {
        try refused(["simulate", "--topology", "switch", "--ranks", "1000", "--size", "1000T", "--chunk-bytes", "1"], "--max-steps 600000000")
        try refused(["sweep", "--topology", "switch", "--ranks", "4096", "-b", "1G", "-e", "1T", "--chunk-bytes", "4K"], "runs), more than --max-steps")
        try refused(["bench-executor", "--ranks", "100000", "--size", "4K", "--step-rate"], "raise --max-steps")
        try refused(["simulate", "--topology", "switch", "--size", "1M", "--max-steps", "10"], "more than --max-steps 10")
        let r = try CLI.run(["simulate", "--topology", "switch", "--size", "1M", "--max-steps", "100000"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("class 7: inputs that gave a wrong answer with status 0 are refused")
    func wrongAnswers() throws {
        try refused(["simulate", "--size", "3"], "--size 3: not a whole number of float elements (4 bytes each); use 4")
        try refused(["sweep", "-b", "2", "-e", "1K", "-d", "double"], "-b 2: not a whole number of double elements")
        try refused(["simulate", "--topology", "switch", "--model", "nccl", "--link-latency", "50us"], "--link-latency does not apply to --model nccl")
        let dup = try file("dup.json", "{\"node\": {\"gpus\": 8, \"gpus\": 4, \"nvlink\": {\"fabric\": \"nvswitch\", \"kind\": \"nvlink4\", \"linksPerGPU\": 18}}}")
        let sexagesimal = try file("sexagesimal.yaml", "node:\n  gpus: 1:30\n")
        defer { for p in [dup, sexagesimal] { try? FileManager.default.removeItem(atPath: p) } }
        try refused(["simulate", "--topology", dup], "duplicate key \"gpus\"")
        try refused(["simulate", "--topology", sexagesimal], "'1:30' is not a plain integer")
    }

    @Test("class 8: messages list the choices, say 'too large', give positions")
    func messages() throws {
        try refused(["simulate", "-d", "int16"], "one of the following: int8, uint8, int32, uint32, int64, uint64, half, float, double, bfloat16")
        let latency = try file("latency.json", "{\"node\": {\"gpus\": 8, \"nvlink\": {\"fabric\": \"nvswitch\", \"kind\": \"nvlink4\", \"linksPerGPU\": 18}, \"stepOverhead\": \"1e303s\"}}")
        let syntax = try file("syntax.json", "{\"node\": {\"gpus\": 8,\n  \"x\" 4}}")
        let complex = try file("complex.yaml", "node:\n  ? [a, b]\n  : 3\n")
        defer { for p in [latency, syntax, complex] { try? FileManager.default.removeItem(atPath: p) } }
        try refused(["simulate", "--topology", latency], "too large")
        try refused(["simulate", "--topology", syntax], "syntax.json:2:7: not valid JSON: expected ':' after the key")
        try refused(["simulate", "--topology", complex], "complex.yaml:2: a key must be a plain name, not a sequence")
    }

    @Test("a true bug prints one line and exits 70; SWIFT_BACKTRACE set by the user keeps Swift's crash report", arguments: ["trap", "segv"])
    func crash(kind: String) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = nil
        let r = try CLI.run(["topologies", "list", "--test-crash", kind], environment: environment)
        #expect(r.status == 70, "\(r.status): \(r.stderr.prefix(500))")
        // One line; a debug build's runtime names a failed check on the line before.
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 || (lines.count == 2 && lines[0].contains("Fatal error")), "\(r.stderr.prefix(500))")
        #expect(lines.last?.hasPrefix("allreduce: internal error") == true && r.stderr.contains("SWIFT_BACKTRACE=enable=yes"), "\(r.stderr.prefix(300))")
        #expect(!r.stderr.contains("Backtracing") && !r.stderr.contains("Thread 0"), "\(r.stderr.prefix(300))")
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let raw = try CLI.run(["topologies", "list", "--test-crash", kind], environment: environment)
        #expect(raw.status != 0 && raw.status != 70, "\(raw.status)")
    }
}
