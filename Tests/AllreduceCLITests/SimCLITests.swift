import Foundation
import Testing

/// Path of a file in the package (tests run from the package root or .build).
func packagePath(_ relative: String) -> String {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
        dir = dir.deletingLastPathComponent()
    }
    return relative
}

/// Writes `text` to a fresh temporary file and returns its path.
func temporaryFile(_ text: String, name: String = "topology.json") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("allreduce-sim-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

/// Asserts a one-line error on stderr and a non-zero status.
func expectOneLineError(_ r: CLIResult, contains: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status != 0, sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderr.hasPrefix("allreduce: error: "), sourceLocation: sourceLocation)
    for c in contains { #expect(r.stderr.contains(c), "missing '\(c)' in: \(r.stderr)", sourceLocation: sourceLocation) }
}

@Suite("allreduce simulate")
struct SimulateCLITests {
    @Test("ring on a switch prints the closed-form time")
    func switchRing() throws {
        let r = try CLI.run(["simulate", "--topology", "switch", "--ranks", "4", "--link-bandwidth", "800Gb/s", "--link-latency", "1000ns",
                             "--size", "1M", "--algorithm", "ring", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
        let row = rows[0]
        #expect(Set(row.keys) == ["size", "count", "type", "redop", "root", "algorithm", "time_us", "algbw_GBps", "busbw_GBps"])
        #expect(row["size"] as? Int == 1 << 20)
        #expect(row["count"] as? Int == 1 << 18)
        #expect(row["type"] as? String == "float")
        #expect(row["root"] as? Int == -1)
        // 2(p-1) alpha + 2(p-1)/p S/B = 6 us + 1.5 * 1048576 / 100e9 s.
        let expected = 6 + 1.5 * 1048576 / 100e9 * 1e6
        let time = try #require(row["time_us"] as? Double)
        #expect(abs(time - expected) / expected < 1e-3)
        let algbw = try #require(row["algbw_GBps"] as? Double), busbw = try #require(row["busbw_GBps"] as? Double)
        #expect(abs(algbw - 1048576 / (time * 1e-6) / 1e9) < 1e-6 * algbw)
        #expect(abs(busbw - algbw * 1.5) < 1e-9 * busbw + 1e-12)
        // Engine statistics go to stderr in json mode.
        #expect(r.stderr.contains("# engine: ") && r.stderr.contains("events/s") && r.stderr.contains("peak memory"))
    }

    @Test("table output reads like nccl-tests and ends with the engine line")
    func table() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-a100", "--size", "64M", "--algorithm", "ring"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines[0].contains("size") && lines[0].contains("busbw"))
        #expect(lines[1].contains("(B)") && lines[1].contains("(GB/s)"))
        #expect(lines[2].contains("67108864") && lines[2].contains("ring"))
        #expect(lines.last?.hasPrefix("# engine: ") == true)
    }

    @Test("the nccl model adds the protocol column", arguments: ["csv", "json"])
    func ncclProtocol(format: String) throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--size", "8", "--model", "nccl", "--format", format])
        #expect(r.status == 0, "\(r.stderr)")
        if format == "csv" {
            #expect(r.stdout.hasPrefix("size,count,type,redop,root,algorithm,time_us,algbw_GBps,busbw_GBps,protocol\n"))
            #expect(r.stdout.contains(",LL\n"))
        } else {
            #expect(r.stdout.contains("\"protocol\": \"LL\""))
        }
        #expect(!r.stderr.contains("engine"))
    }

    @Test("hierarchical with a tree between nodes is faster than with a ring for small messages on many nodes")
    func interNodeTree() throws {
        func time(_ extra: [String]) throws -> Double {
            let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "16", "--size", "64K", "--algorithm", "hierarchical", "--format", "csv"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return Double(r.stdout.split(separator: "\n")[1].split(separator: ",")[6])!
        }
        let ring = try time(["--inter-node", "ring"]), tree = try time(["--inter-node", "tree"])
        #expect(tree < ring)
        // auto (the default) takes the faster closed form, here the tree, and says so.
        #expect(try time([]) == tree)
        #expect(try time(["--inter-node", "auto"]) == tree)
    }

    @Test("--inter-node auto switches from tree to ring as a sweep grows, and names where")
    func interNodeAutoSweep() throws {
        let r = try CLI.run(["sweep", "--topology", "dgx-h100", "--nodes", "16", "-b", "64K", "-e", "1G", "-f", "16384", "--algorithm", "hierarchical"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("hierarchical between nodes (--inter-node auto, the faster closed form): tree from 64K, ring from"), "\(r.stdout)")
        let fixed = try CLI.run(["sweep", "--topology", "dgx-h100", "--nodes", "16", "-b", "64K", "-e", "1G", "-f", "16384", "--algorithm", "hierarchical", "--inter-node", "ring"])
        #expect(fixed.status == 0)
        #expect(!fixed.stdout.contains("between nodes"))
        let bad = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--inter-node", "star"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("The value 'star' is invalid for '--inter-node <inter-node>'. Please provide one of 'ring', 'tree' or 'auto'."))
    }

    @Test("a topology file from Examples/ runs, and `topologies show` output (JSON or YAML) runs like its preset",
          arguments: [("b200-ndr.json", "dgx1-v100", "json"), ("gb200-xdr.yaml", "dgx-h100", "yaml")])
    func files(example: String, preset: String, format: String) throws {
        let a = try CLI.run(["simulate", "--topology", packagePath("Examples/topologies/\(example)"), "--size", "16M", "--algorithm", "ring", "--format", "csv"])
        #expect(a.status == 0, "\(a.stderr)")
        let shown = try CLI.run(["topologies", "show", preset, "--format", format])
        #expect(shown.status == 0)
        #expect(shown.stdout.hasPrefix(format == "json" ? "{\n" : "name: \(preset)\n"))
        let path = try temporaryFile(shown.stdout, name: "mine.\(format)")
        let viaFile = try CLI.run(["simulate", "--topology", path, "--nodes", "2", "--size", "16M", "--algorithm", "ring", "--format", "csv"])
        let viaPreset = try CLI.run(["simulate", "--topology", preset, "--nodes", "2", "--size", "16M", "--algorithm", "ring", "--format", "csv"])
        #expect(viaFile.status == 0, "\(viaFile.stderr)")
        #expect(viaFile.stdout == viaPreset.stdout)
        // A bare file name in the working directory is a file too, not an unknown preset.
        let url = URL(fileURLWithPath: path)
        let bare = try CLI.run(["simulate", "--topology", url.lastPathComponent, "--nodes", "2", "--size", "16M", "--algorithm", "ring", "--format", "csv"],
                               directory: url.deletingLastPathComponent().path)
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(bare.stdout == viaPreset.stdout)
    }

    @Test("--links fair plays the tree to its stage formula; a bad --links is refused")
    func fairLinks() throws {
        // p = 8, 8 chunks of 4000 B per half at 4 GB/s, no latency: 41 c beta = 41 us with fair
        // links (FairShareTests derives it); FIFO service takes longer.
        let args = ["simulate", "--topology", "switch", "--ranks", "8", "--link-bandwidth", "4GB/s", "--link-latency", "0us",
                    "--size", "64000", "--chunk-bytes", "4000", "--algorithm", "tree", "--format", "csv"]
        let fair = try CLI.run(args + ["--links", "fair"])
        #expect(fair.status == 0, "\(fair.stderr)")
        #expect(fair.stdout.split(separator: "\n")[1].split(separator: ",")[6] == "41.00")
        let fifo = try CLI.run(args)
        #expect(Double(fifo.stdout.split(separator: "\n")[1].split(separator: ",")[6])! > 41)
        let table = try CLI.run(Array(args.dropLast(2)) + ["--links", "fair"])
        #expect(table.stdout.contains("model: event (links shared max-min fairly)"))
        let big = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "256", "--links", "fair"])
        #expect(big.status != 0)
        #expect(big.stderr.contains("--links fair plays at most 1024 ranks"), "\(big.stderr)")
        #expect(big.stderr.split(separator: "\n").count == 1)
        // A CPU node's shared memory (a calibrated topology) is the FIFO engine's: refused, not
        // played at the path's rate with free reductions.
        let cpu = try Self.cpuNodeFile(pcieGBps: 8, memory: "{transferBandwidth: 6GB/s, reduceBandwidth: 40GB/s}", name: "cpu.yaml")
        for command in ["simulate", "sweep"] {
            let cpuFair = try CLI.run([command, "--topology", cpu, "--algorithm", "ring", "--links", "fair"])
            expectOneLineError(cpuFair, contains: ["--links fair", "CPU node's shared memory", "--links fifo"])
        }
        #expect(try CLI.run(["simulate", "--topology", cpu, "--size", "1M", "--algorithm", "ring"]).status == 0)
        let analytic = try CLI.run(["simulate", "--topology", "dgx-h100", "--links", "fair", "--model", "analytic"])
        #expect(analytic.status != 0)
        #expect(analytic.stderr.contains("--links fair applies to --model event"), "\(analytic.stderr)")
        let bad = try CLI.run(["simulate", "--topology", "dgx-h100", "--links", "lossy"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("The value 'lossy' is invalid for '--links <links>'. Please provide one of 'fifo' and 'fair'."))
    }

    /// A topology file of one node of two CPU ranks, their same-node link at `pcieGBps` (1 us),
    /// with `memory` (a YAML flow mapping) as `node.memory`.
    static func cpuNodeFile(pcieGBps: Double, memory: String, name: String) throws -> String {
        try temporaryFile("""
            name: cpu
            nodes: 1
            node:
              gpu: CPU rank
              gpus: 2
              pcie: {bandwidth: \(pcieGBps)GB/s, latency: 1us}
              reduceBandwidth: 40GB/s
              memory: \(memory)
            network: {leafPorts: 1, oversubscription: 1, railOptimized: false, switchLatency: 0us}
            """, name: name)
    }

    @Test("--in-place: a calibrated CPU node's working set is one buffer, not an input and an output; a GPU preset times the same")
    func inPlace() throws {
        let cpu = try Self.cpuNodeFile(pcieGBps: 100, memory: "{transferBandwidth: 20GB/s, reduceBandwidth: 40GB/s, workingSets: [{bytes: 8M, transferBandwidth: 5GB/s, reduceBandwidth: 10GB/s}]}",
                                       name: "cpu-in-place.yaml")
        func time(_ command: String, _ topology: String, _ extra: [String]) throws -> Double {
            let size = command == "simulate" ? ["--size", "4M"] : ["-b", "4M", "-e", "4M"]
            let r = try CLI.run([command, "--topology", topology] + size + ["--algorithm", "ring", "--format", "csv"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let row = r.stdout.split(separator: "\n").first { $0.hasPrefix("4194304,") }
            return Double(try #require(row).split(separator: ",")[6])!
        }
        for command in ["simulate", "sweep"] {
            // 4 MiB out of place spans 8 MiB per rank (the DRAM regime); in place, 4 MiB.
            let out = try time(command, cpu, []), inPlace = try time(command, cpu, ["--in-place"])
            #expect(out > 3 * inPlace, "\(command): \(out) vs \(inPlace)")
            #expect(try time(command, "dgx-h100", []) == time(command, "dgx-h100", ["--in-place"]))
        }
    }

    @Test("--gpus 4 runs on the first 4 GPUs of each node")
    func gpus() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--gpus", "4", "--size", "1G", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
        let time = try #require(rows[0]["time_us"] as? Double)
        let busbw = try #require(rows[0]["busbw_GBps"] as? Double)
        let algbw = try #require(rows[0]["algbw_GBps"] as? Double)
        #expect(time > 0 && abs(busbw / algbw - 1.5) < 1e-3)   // busbw = algbw x 2 (p-1)/p with p = 4
        let text = try CLI.run(["simulate", "--topology", "dgx-h100", "--gpus", "4", "--size", "1G"])
        #expect(text.status == 0 && text.stdout.contains("1 node x 4 GPUs = 4 ranks"), "\(text.stdout)")
        let two = try CLI.run(["sweep", "--topology", "dgx1-v100", "--nodes", "2", "--gpus", "3", "-b", "1M", "-e", "1M"])
        #expect(two.status == 0 && two.stdout.contains("2 nodes x 3 GPUs = 6 ranks"), "\(two.stdout)\(two.stderr)")
    }

    @Test("a YAML file's errors name the file line; an unknown --format is refused")
    func yamlErrors() throws {
        let shown = try CLI.run(["topologies", "show", "dgx-h100", "--format", "yaml"])
        let broken = try temporaryFile(shown.stdout.replacingOccurrences(of: "kind: ib-ndr, bandwidth: 50GB/s", with: "kind: ib-ndr, bandwidth: 50 furlongs"), name: "broken.yaml")
        let bad = try CLI.run(["simulate", "--topology", broken])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("broken.yaml:9: node.nics.bandwidth:"), "\(bad.stderr)")
        let format = try CLI.run(["topologies", "show", "dgx-h100", "--format", "xml"])
        #expect(format.status != 0)
        #expect(format.stderr.contains("--format: must be json or yaml, got 'xml'"))
    }
}

@Suite("allreduce simulate: bad input")
struct SimulateBadInputTests {
    @Test("unknown preset lists the presets")
    func unknownPreset() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-z900"])
        expectOneLineError(r, contains: ["dgx-z900", "dgx-h100", "nd-a100-v4", "switch"])
    }

    @Test("nodes < 1", arguments: ["0", "-3"])
    func nodes(value: String) throws {
        expectOneLineError(try CLI.run(["simulate", "--nodes", value]), contains: ["--nodes"])
    }

    @Test("sizes that do not parse or overflow", arguments: ["12Q", "abc", "99999999999T", "-1"])
    func sizes(value: String) throws {
        expectOneLineError(try CLI.run(["simulate", "--size", value]), contains: ["size"])
    }

    @Test("unknown algorithm and model")
    func names() throws {
        expectOneLineError(try CLI.run(["simulate", "--algorithm", "bogus"]), contains: ["bogus", "ring"])
        expectOneLineError(try CLI.run(["simulate", "--model", "magic"]), contains: ["magic", "event"])
        expectOneLineError(try CLI.run(["simulate", "--inter-node", "mesh"]), contains: ["--inter-node", "mesh"])
    }

    @Test("--gpus outside 1 ... the node's GPUs, or with --topology switch", arguments: [
        (["--topology", "dgx-h100", "--gpus", "0"], ["--gpus", "between 1 and 8"]),
        (["--topology", "dgx-h100", "--gpus", "9"], ["--gpus", "between 1 and 8", "got 9"]),
        (["--topology", "gb200", "--gpus", "5"], ["--gpus", "between 1 and 4"]),
        (["--topology", "switch", "--gpus", "2"], ["--gpus", "switch"]),
    ])
    func gpus(args: [String], contains: [String]) throws {
        expectOneLineError(try CLI.run(["simulate"] + args + ["--size", "1G"]), contains: contains)
        expectOneLineError(try CLI.run(["sweep"] + args + ["-b", "1K", "-e", "1K"]), contains: contains)
    }

    @Test("switch options: wrong unit, negative bandwidth, misuse")
    func switchOptions() throws {
        expectOneLineError(try CLI.run(["simulate", "--topology", "switch", "--link-bandwidth", "100GHz"]), contains: ["--link-bandwidth", "unit"])
        expectOneLineError(try CLI.run(["simulate", "--topology", "switch", "--link-bandwidth=-5GB/s"]), contains: ["--link-bandwidth", "negative"])
        expectOneLineError(try CLI.run(["simulate", "--topology", "switch", "--link-latency", "5"]), contains: ["--link-latency", "unit"])
        expectOneLineError(try CLI.run(["simulate", "--topology", "dgx-h100", "--ranks", "4"]), contains: ["switch"])
    }

    static let good = """
        {
          "nodes": 2,
          "node": {
            "gpus": 4,
            "nvlink": {"fabric": "nvswitch", "kind": "nvlink4", "linksPerGPU": 18},
            "nics": {"count": 4, "bandwidth": "400Gb/s", "latency": "1us"}
          }
        }
        """

    @Test("topology files: missing field, wrong unit, negative bandwidth, unreachable GPU, missing file")
    func files() throws {
        let missing = try temporaryFile(Self.good.replacing("\"gpus\": 4,", with: ""))
        expectOneLineError(try CLI.run(["simulate", "--topology", missing]), contains: ["node.gpus", "missing field", "topology.json:3"])
        let unit = try temporaryFile(Self.good.replacing("400Gb/s", with: "400 furlongs"))
        expectOneLineError(try CLI.run(["simulate", "--topology", unit]), contains: ["node.nics.bandwidth", "unknown unit", "topology.json:6"])
        let negative = try temporaryFile(Self.good.replacing("400Gb/s", with: "-400Gb/s"))
        expectOneLineError(try CLI.run(["simulate", "--topology", negative]), contains: ["node.nics.bandwidth", "negative", "topology.json:6"])
        let mesh = try temporaryFile(#"{"node": {"gpus": 3, "nvlink": {"fabric": "mesh", "kind": "nvlink2", "pairs": [[0, 1, 1], [1, 2, 1]]}}}"#)
        expectOneLineError(try CLI.run(["simulate", "--topology", mesh]), contains: ["GPU 0 cannot reach GPU 2"])
        let noNIC = try temporaryFile(#"{"node": {"gpus": 2, "nvlink": {"fabric": "nvswitch", "kind": "nvlink3", "linksPerGPU": 12}}}"#)
        expectOneLineError(try CLI.run(["simulate", "--topology", noNIC, "--nodes", "2"]), contains: ["node.nics", "cannot reach"])
        expectOneLineError(try CLI.run(["simulate", "--topology", "/nonexistent/x.json"]), contains: ["cannot read"])
    }
}
