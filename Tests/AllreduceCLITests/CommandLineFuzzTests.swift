import ArgumentParser
import CollectiveCore
import Foundation
import _TestSupport
import Testing
@testable import AllreduceCLI

/// Command lines built from the real options of every subcommand with hostile values (huge,
/// negative, fractional, with and without units), parsed and checked in process: parsing and
/// validation, then each command's own checks before it would start work (`prepare()` of
/// `simulate` and `sweep`, which resolve the cluster, its memory and the work estimate).
enum CommandLineFuzz {
    static let subcommands: [(name: String, options: [String])] = [
        ("simulate", cluster + ["--size", "--algorithm", "--format", "--collective"]),
        ("sweep", cluster + ["-b", "-e", "-f", "-i", "--algorithm", "--format", "--collective"]),
        ("verify", ["--ranks", "--count", "-d", "-o", "--algorithm", "--ranks-per-node", "--inter-node", "--chunk-bytes", "--channels",
                    "--seed", "--threads", "--max-steps", "--format", "--collective"]),
        ("train", ["--model", "--parameters", "--gpu-count", "--tp", "--pp", "--dp", "--zero", "--grad-dtype", "--bucket-mib",
                   "--first-bucket-mib", "--system", "--tokens-per-step", "--mfu", "--compute-ms", "--peak-tflops", "--max-steps", "--format"]),
        ("bench-executor", ["--ranks", "--size", "-d", "--algorithm", "--chunk-bytes", "--runs", "--threads", "--max-steps", "--format"]),
        ("bench-kernels", ["--min-bytes", "--max-bytes", "--step-factor", "-n", "--min-time-ms", "--format"]),
        ("mpi", ["-b", "-e", "-f", "-i", "-d", "-o", "--algorithm", "-n", "-w", "--iterations-large", "--warmup-large", "--rounds", "-c",
                 "--chunk-bytes", "--inter-node", "--ranks-per-node", "--channels", "--transport", "--timeout", "--format", "--collective"]),
        ("what-if", cluster + ["--size", "--algorithm", "--draws", "--seed", "--cables", "--faults-per-draw", "--link-fraction", "--effect", "--format"]),
        ("topologies show", ["--format"]),
        ("accuracy", ["--format"]),
    ]
    static let cluster = ["--topology", "--nodes", "--gpus", "--ranks", "--link-bandwidth", "--link-latency", "--model", "-d", "-o",
                          "--chunk-bytes", "--links", "--inter-node", "--protocol", "--channels", "--max-steps", "--fault"]
    static let flags = ["--symbolic", "--step-rate", "--in-place", "--no-openmpi", "--help", "--version"]

    static let values: [String: [String]] = [
        "--topology": ["switch", "dgx-h100", "dgx1-v100", "dgx-a100", "gb200-nvl72", "nope", "/nonexistent.json", "x.yaml", "SWITCH"],
        "--model": ["event", "analytic", "nccl", "NCCL", "fast"],
        "-d": ["float", "int16", "half", "bfloat16", "double", "int8", "float7", ""],
        "-o": ["sum", "max", "avg", "prod", "median"],
        "--algorithm": ["ring", "tree", "auto", "nccl", "nccl:ring", "nccl:nvls", "hierarchical", "all", "ring,tree,auto", "ring,,tree", "mpi", "bogus"],
        "--links": ["fifo", "fair", "FAIR", "lifo"],
        "--inter-node": ["ring", "tree", "auto", "mesh"],
        "--protocol": ["auto", "LL", "LL128", "Simple", "ll", "fast"],
        "--format": ["table", "csv", "json", "yaml", "xml"],
        "--transport": ["p2p", "shm", "tcp"],
        "--collective": ["allreduce", "reduce-scatter", "all-gather", "ALL_GATHER", "gather", ""],
        "--system": ["dgx-a100,hgx-a800", "dgx-h100", "nope", ",", "dgx-h100,,hgx-h800", "/nonexistent.json"],
        "--link-bandwidth": ["100GB/s", "1e-320GB/s", "1e-300b/s", "1e300GB/s", "0GB/s", "-5GB/s", "100", "inf GB/s", "1e9GB/s"],
        "--link-latency": ["1us", "1e303s", "0us", "-1us", "1000s", "2000s", "500ns", "1", "nan us"],
    ]
    static let numbers = ["0", "1", "2", "3", "7", "8", "64", "1000", "100000", "1000000", "10000000", "2147483648", "4611686018427387904",
                          "9223372036854775807", "9223372036854775808", "-1", "-3", "1.5", "1e3", "0x10", "", " 8"]
    static let sizes = ["0", "1", "3", "8", "4K", "17K", "1M", "1G", "1000T", "8G", "9223372036854775807", "8E", "1.5M", "-1", "1X", "4KiB", "16Z"]
    static let sizeOptions: Set<String> = ["--size", "-b", "-e", "-i", "--chunk-bytes", "--min-bytes", "--max-bytes"]

    /// Fault specs: the grammar's examples, then words replaced, dropped or repeated.
    static let faultSpecs = ["node 1 nic 2 at 50%", "node 0 nics down", "node 0 gpu 4 pcie at gen3", "node 1 gpu 0 nvlink at 12GB/s", "leaf 1 uplinks at 25%",
                             "leaf 0 uplink 3 down", "spine 2 down", "rank 5 late 20us", "rank 3 slow 2x", "jitter exponential 2us seed 7",
                             "jitter uniform 1ms"]
    static let faultWords = ["node", "nic", "nics", "gpu", "pcie", "nvlink", "leaf", "uplink", "uplinks", "spine", "rank", "late", "slow", "jitter",
                             "seed", "at", "down", "0", "-1", "99999999", "1e400", "0%", "101%", "nan%", "gen9", "0x", "1e9x", "-2us", "1e300s", "",
                             "uniform", "normal", "18446744073709551616", "é", "\u{0}"]

    static func faultSpec(_ r: inout Fuzz.Random) -> String {
        var words = r.pick(faultSpecs).split(separator: " ").map(String.init)
        for _ in 0..<r.below(3) {
            let i = r.below(words.count + 1)
            switch r.below(3) {
            case 0 where i < words.count: words[i] = r.pick(faultWords)
            case 1 where i < words.count: words.remove(at: i)
            default: words.insert(r.pick(faultWords), at: i)
            }
        }
        return words.joined(separator: " ")
    }

    static func value(for option: String, _ r: inout Fuzz.Random) -> String {
        if r.chance(5) { return r.pick(["--", "-", "--nodes", "-b", "=", "\u{0}", "é"]) }
        if option == "--fault" { return faultSpec(&r) }
        if option == "--effect" { return r.chance(50) ? r.pick(["down", "50%", "at gen3", "12GB/s", "0%", "up"]) : faultSpec(&r) }
        if option == "--cables" { return r.pick(["network", "nic", "spine", "leaf", ""]) }
        if option == "--faults-per-draw" { return r.pick(["1...8", "3", "0", "8...1", "1...", "...", "1...99999999999999999999", "-1...2"]) }
        if let list = values[option] { return r.pick(list) }
        return sizeOptions.contains(option) ? r.pick(sizes) : r.pick(numbers)
    }

    /// One command line, its arguments joined by U+001F (arguments may hold spaces).
    static func generate(_ r: inout Fuzz.Random) -> String {
        let command = r.pick(subcommands)
        var args = command.name.split(separator: " ").map(String.init)
        for _ in 0..<r.below(6) {
            let option = r.chance(90) ? r.pick(command.options) : r.pick(cluster + ["--bogus", "-x"])
            args.append(option)
            if r.chance(95) { args.append(value(for: option, &r)) }
        }
        if r.chance(5) { args.append(r.pick(flags)) }
        return args.joined(separator: "\u{1F}")
    }

    /// The line `allreduce` would print, nil when the command line is accepted.
    static func check(_ input: String) -> String? {
        let arguments = input.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        do {
            let command = try AllreduceCommand.parseAsRoot(arguments)
            if let c = command as? Simulate { _ = try c.prepare() }
            if let c = command as? Sweep { _ = try c.prepare() }
            if let c = command as? WhatIf { _ = try c.prepare() }
            return nil
        } catch {
            if AllreduceCommand.exitCode(for: error) == .success { return nil }  // --help, --version
            return AllreduceCommand.errorLine(for: error, arguments: ["allreduce"] + arguments)
        }
    }
}

@Suite("Fuzz: command lines")
struct CommandLineFuzzTests {
    @Test("hostile command lines are accepted or refused with one line, never crash or hang")
    func fuzz() {
        let findings = Fuzz.run(count: Fuzz.count(ci: 150), seed: Fuzz.seed, generate: CommandLineFuzz.generate, check: CommandLineFuzz.check)
        print("fuzz command lines: \(findings)")
        #expect(findings.hangs.isEmpty, "\(findings.hangs)")
        #expect(findings.badErrors.isEmpty, "\(findings.badErrors)")
        #expect(findings.accepted > findings.inputs / 50 && findings.refused > findings.inputs / 4, "\(findings)")
    }

    @Test("an enum option's error lists its choices on the one line")
    func choices() {
        let line = CommandLineFuzz.check("simulate\u{1F}-d\u{1F}int16")
        #expect(line?.contains("int8, uint8, int32, uint32, int64, uint64, half, float, double, bfloat16") == true, "\(String(describing: line))")
    }
}
