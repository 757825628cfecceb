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
