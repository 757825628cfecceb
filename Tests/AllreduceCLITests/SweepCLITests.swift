import Foundation
import Testing

@Suite("allreduce sweep")
struct SweepCLITests {
    @Test("-b 8 -e 64 -f 2 gives 8, 16, 32, 64 for each algorithm")
    func sizes() throws {
        let r = try CLI.run(["sweep", "--topology", "switch", "--ranks", "4", "-b", "8", "-e", "64", "-f", "2", "--algorithm", "ring", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").dropFirst()
        #expect(rows.map { String($0.split(separator: ",")[0]) } == ["8", "16", "32", "64"])
    }

    @Test("-i steps additively")
    func additive() throws {
        let r = try CLI.run(["sweep", "--topology", "switch", "-b", "1K", "-e", "4K", "-i", "1K", "--algorithm", "ring", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").dropFirst()
        #expect(rows.map { String($0.split(separator: ",")[0]) } == ["1024", "2048", "3072", "4096"])
    }

    @Test("several algorithms: rows per size, auto picks the fastest, footer names the changes")
    func several() throws {
        let r = try CLI.run(["sweep", "--topology", "dgx-h100", "--nodes", "16", "-b", "8", "-e", "1G", "-f", "16",
                             "--model", "analytic", "--algorithm", "ring,tree,auto"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(rows.count == 7 * 3)  // 8, 128, 2K, 32K, 512K, 8M, 128M
        for k in stride(from: 0, to: rows.count, by: 3) {
            let times = rows[k..<(k + 3)].map { Double($0.split(separator: " ", omittingEmptySubsequences: true)[6])! }
            #expect(times[2] <= min(times[0], times[1]))
            #expect(rows[k + 2].contains("auto("))
        }
        #expect(r.stdout.contains("# Avg bus bandwidth (ring) : "))
        #expect(r.stdout.contains("# Avg bus bandwidth (auto) : "))
        #expect(r.stdout.contains("# fastest: "))
        #expect(r.stdout.contains(" -> "))
    }

    @Test("the nccl model picks the protocol per size")
    func ncclSweep() throws {
        let r = try CLI.run(["sweep", "--topology", "dgx-a100", "-b", "8", "-e", "1G", "-f", "32", "--model", "nccl", "--algorithm", "auto", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let protocols = rows.compactMap { $0["protocol"] as? String }
        #expect(protocols.first == "LL")
        #expect(protocols.last == "Simple")
    }

    @Test("bad sweeps are one-line errors")
    func bad() throws {
        expectOneLineError(try CLI.run(["sweep", "-b", "1G", "-e", "8"]), contains: ["-b"])
        expectOneLineError(try CLI.run(["sweep", "-e", "8Z"]), contains: ["-e"])
        expectOneLineError(try CLI.run(["sweep", "-f", "1"]), contains: ["-f"])
        expectOneLineError(try CLI.run(["sweep", "--algorithm", "ring,,tree"]), contains: ["--algorithm"])
        expectOneLineError(try CLI.run(["sweep", "--algorithm", "ring,warp"]), contains: ["warp"])
        expectOneLineError(try CLI.run(["sweep", "--nodes", "0"]), contains: ["--nodes"])
    }
}

@Suite("allreduce sweep --plot")
struct SweepPlotCLITests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("allreduce-\(UUID().uuidString)-\(name)").path
    }

    @Test("draws one predicted line per algorithm, a point per size, in the SVG file")
    func plot() throws {
        let path = Self.temporaryPath("sweep.svg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLI.run(["sweep", "--topology", "switch", "--ranks", "8", "-b", "1K", "-e", "1M", "-f", "4",
                             "--algorithm", "ring,tree", "--plot", path, "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("# plot: \(path)"))
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        #expect(svg.hasPrefix("<?xml"))
        #expect(svg.hasSuffix("</svg>\n"))
        let series = svg.split(separator: "\n").filter { $0.contains("class=\"series\"") }
        #expect(series.count == 2)
        #expect(series[0].contains("data-name=\"ring\"") && series[0].contains("data-origin=\"predicted\""))
        #expect(series[1].contains("data-name=\"tree\""))
        let polylines = svg.split(separator: "\n").filter { $0.contains("<polyline") }
        // 1K, 4K, 16K, 64K, 256K, 1M.
        #expect(polylines.map { $0.split(separator: "points=\"")[1].split(separator: "\"")[0].split(separator: " ").count } == [6, 6])
        #expect(svg.contains("bus bandwidth (GB/s)"))
        // The same sweep draws the same picture.
        let again = Self.temporaryPath("again.svg")
        defer { try? FileManager.default.removeItem(atPath: again) }
        _ = try CLI.run(["sweep", "--topology", "switch", "--ranks", "8", "-b", "1K", "-e", "1M", "-f", "4",
                         "--algorithm", "ring,tree", "--plot", again, "--format", "csv"])
        #expect(try String(contentsOfFile: again, encoding: .utf8) == svg)
    }

    @Test("--plot-y time draws microseconds on a log axis")
    func time() throws {
        let path = Self.temporaryPath("time.svg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLI.run(["sweep", "--topology", "switch", "-b", "8", "-e", "64K", "-f", "8", "--algorithm", "ring",
                             "--plot", path, "--plot-y", "time"])
        #expect(r.status == 0, "\(r.stderr)")
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        #expect(svg.contains("time per allreduce (us)"))
    }

    @Test("an unwritable --plot file is a one-line error")
    func unwritable() throws {
        expectOneLineError(try CLI.run(["sweep", "--topology", "switch", "-b", "8", "-e", "64", "--algorithm", "ring",
                                        "--plot", "/nonexistent-dir/x.svg"]), contains: ["--plot"])
        expectOneLineError(try CLI.run(["sweep", "--plot-y", "speed"]), contains: ["--plot-y"])
    }
}

@Suite("allreduce sweep --plot-measured")
struct SweepMeasuredPlotCLITests {
    @Test("published measurements of the same cluster within the sizes become solid lines beside the predicted ones")
    func published() throws {
        let path = SweepPlotCLITests.temporaryPath("measured.svg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = packagePath("Data/nccl-tests-published.tsv")
        let r = try CLI.run(["sweep", "--topology", "dgx-a100", "-b", "1M", "-e", "64M", "-f", "8", "--algorithm", "ring",
                             "--plot", path, "--plot-measured", data])
        #expect(r.status == 0, "\(r.stderr)")
        // dgx-a100, 1 node x 8 GPUs: auto at 1M, 8M, 64M (and larger sizes outside the sweep).
        #expect(r.stdout.contains("measured: nccl-tests auto (3 points) from \(data)"))
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        let groups = svg.split(separator: "\n").filter { $0.contains("class=\"series\"") }
        #expect(groups.count == 2)
        #expect(groups[0].contains("data-name=\"nccl-tests auto\"") && groups[0].contains("data-origin=\"measured\""))
        #expect(groups[1].contains("data-name=\"ring\"") && groups[1].contains("data-origin=\"predicted\""))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 3 + 1)  // three points and the legend's dot
    }

    @Test("a cluster nobody published says so; --plot-measured needs --plot")
    func none() throws {
        let path = SweepPlotCLITests.temporaryPath("none.svg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = packagePath("Data/nccl-tests-published.tsv")
        let r = try CLI.run(["sweep", "--topology", "switch", "-b", "1K", "-e", "4K", "--algorithm", "ring", "--plot", path, "--plot-measured", data])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("no published measurements of this cluster"))
        expectOneLineError(try CLI.run(["sweep", "--plot-measured", data]), contains: ["--plot-measured", "--plot"])
    }
}
