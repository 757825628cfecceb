import Foundation
import Testing

/// `--collective` on simulate, sweep and verify.
@Suite("--collective reduce-scatter and all-gather")
struct CollectiveCLITests {
    func rows(_ args: [String]) throws -> [[String: Any]] {
        let r = try CLI.run(args + ["--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    }

    @Test("A ring reduce-scatter or all-gather takes half a ring allreduce's steps: busbw agrees, time halves (switch, 8 ranks, 64 MiB)")
    func ringHalves() throws {
        var busbw: [String: Double] = [:], time: [String: Double] = [:]
        for c in ["allreduce", "reduce-scatter", "all-gather"] {
            let r = try rows(["simulate", "--topology", "switch", "--ranks", "8", "--size", "64M", "--algorithm", "ring", "--collective", c])
            busbw[c] = try #require(r.first?["busbw_GBps"] as? Double)
            time[c] = try #require(r.first?["time_us"] as? Double)
            // nccl-tests' all_gather_perf prints redop "none"; the reducing collectives their op.
            #expect(r.first?["redop"] as? String == (c == "all-gather" ? "none" : "sum"))
        }
        for c in ["reduce-scatter", "all-gather"] {
            #expect(abs(busbw[c]! / busbw["allreduce"]! - 1) < 0.02, "\(busbw)")
            #expect(abs(2 * time[c]! / time["allreduce"]! - 1) < 0.02, "\(time)")
        }
    }

    @Test("sweep --collective all-gather: one row per size and algorithm, NCCL's ring for nccl")
    func sweep() throws {
        let r = try rows(["sweep", "--topology", "dgx-a100", "-b", "1M", "-e", "4M", "-f", "4", "--collective", "all-gather",
                          "--algorithm", "ring,rabenseifner,nccl"])
        #expect(r.count == 6)
        #expect(r.allSatisfy { $0["redop"] as? String == "none" })
        #expect(r.compactMap { $0["algorithm"] as? String }.filter { $0.hasPrefix("nccl(ring/") }.count == 2)
    }

    @Test("simulate --algorithm nccl:pat plays PAT for a reduce-scatter or an all-gather; NCCL picks it at one GPU per node on 64 nodes; refused for an allreduce")
    func pat() throws {
        for c in ["reduce-scatter", "all-gather"] {
            let forced = try rows(["simulate", "--topology", "dgx-h100", "--nodes", "4", "--size", "16M", "--collective", c, "--algorithm", "nccl:pat"])
            #expect((forced.first?["algorithm"] as? String)?.hasPrefix("nccl(pat/Simple/") == true, "\(forced)")
            let picked = try rows(["simulate", "--topology", "dgx-h100", "--nodes", "64", "--gpus", "1", "--size", "16M", "--collective", c, "--algorithm", "nccl"])
            #expect((picked.first?["algorithm"] as? String)?.hasPrefix("nccl(pat/") == true, "\(picked)")
        }
        expectOneLineError(try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--size", "1M", "--algorithm", "nccl:pat"]), contains: ["PAT", "not an allreduce"])
        expectOneLineError(try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--size", "1M", "--collective", "all-gather", "--algorithm", "nccl:pat", "--protocol", "LL"]),
                           contains: ["Simple"])
    }

    @Test("mpi --collective refuses an algorithm that builds no such collective, before MPI is needed", arguments: ["reduce-scatter", "all-gather"])
    func mpiRefuses(_ collective: String) throws {
        for a in ["tree", "hierarchical", "recursive-doubling", "ring,nccl-tree"] {
            expectOneLineError(try CLI.run(["mpi", "--collective", collective, "--algorithm", a]), contains: ["builds no \(collective)", "it is built by ring, rabenseifner, nccl-ring"])
        }
        expectOneLineError(try CLI.run(["mpi", "--collective", "gather"]), contains: ["--collective"])
    }

    @Test("verify --collective: every algorithm that builds it, 0 wrong", arguments: ["reduce-scatter", "all-gather"])
    func verify(_ collective: String) throws {
        let r = try rows(["verify", "--ranks", "6", "--count", "1001", "-d", "int32", "--collective", collective])
        #expect(r.compactMap { $0["algorithm"] as? String } == ["ring", "rabenseifner", "nccl-ring", "nccl-pat"])
        #expect(r.allSatisfy { ($0["wrong"] as? Int) == 0 })
    }

    @Test("Bad --collective input: one line, non-zero exit")
    func errors() throws {
        expectOneLineError(try CLI.run(["simulate", "--collective", "gather"]), contains: ["'gather'", "reduce-scatter"])
        expectOneLineError(try CLI.run(["simulate", "--collective", "all-gather", "--algorithm", "tree"]), contains: ["tree builds no all-gather"])
        expectOneLineError(try CLI.run(["simulate", "--collective", "reduce-scatter", "--model", "analytic", "--algorithm", "ring"]),
                           contains: ["allreduce only"])
        expectOneLineError(try CLI.run(["simulate", "--collective", "reduce-scatter", "--algorithm", "nccl:tree"]), contains: ["not modelled for a reduce-scatter"])
        expectOneLineError(try CLI.run(["verify", "--collective", "reduce-scatter", "--algorithm", "hierarchical"]), contains: ["hierarchical builds no reduce-scatter"])
    }
}
