import Foundation
import Testing

@Suite("allreduce simulate --algorithm nccl, and allreduce accuracy")
struct NCCLCLITests {
    @Test("GPU clusters default to what NCCL would run; the row names algorithm, protocol and channels")
    func defaultIsNCCL() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-a100", "--size", "8G", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first?["algorithm"] as? String == "nccl(ring/Simple/24ch)")
        let small = try CLI.run(["simulate", "--topology", "dgx-a100", "--size", "8"])
        #expect(small.status == 0 && small.stdout.contains("nccl(ring/LL/1ch)"), "\(small.stdout)")
        // The switch keeps the textbook default.
        let sw = try CLI.run(["simulate", "--topology", "switch", "--size", "1M"])
        #expect(sw.status == 0 && sw.stdout.contains("auto("), "\(sw.stdout)")
    }

    @Test("nccl:ring, --protocol and --channels force NCCL's choices")
    func forced() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--size", "64M", "--algorithm", "nccl:tree",
                             "--protocol", "LL128", "--channels", "4"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("nccl(tree/LL128/4ch)"), "\(r.stdout)")
        let sweep = try CLI.run(["sweep", "--topology", "dgx-h100", "-b", "1K", "-e", "1M", "-f", "32", "--algorithm", "nccl,nccl:ring,ring"])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        #expect(sweep.stdout.contains("Avg bus bandwidth (nccl:ring)"))
    }

    @Test("--channels sets the channels of the nccl-ring and nccl-tree schedules; without it they run as allreduce mpi runs them")
    func scheduleChannels() throws {
        func time(_ algorithm: String, _ extra: [String]) throws -> Double {
            let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--size", "64M", "--algorithm", algorithm,
                                 "--format", "json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
            return try #require(rows.first?["time_us"] as? Double)
        }
        for algorithm in ["nccl-ring", "nccl-tree"] {
            let one = try time(algorithm, ["--channels", "1"])
            let two = try time(algorithm, ["--channels", "2"])
            let four = try time(algorithm, ["--channels", "4"])
            // More channels drive more of the node's NICs and NVLink ports at once: faster, not equal.
            #expect(four < two && two < one, "\(algorithm): 1 / 2 / 4 channels \(one) / \(two) / \(four) us")
            #expect(try time(algorithm, []) == two, "\(algorithm): the default is 2 channels")
        }
        // sweep plays the same schedules.
        let sweep = try CLI.run(["sweep", "--topology", "dgx-h100", "--nodes", "2", "-b", "64M", "-e", "64M", "--algorithm", "nccl-ring",
                                 "--channels", "4", "--format", "json"])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(sweep.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first?["time_us"] as? Double == (try time("nccl-ring", ["--channels", "4"])))
    }

    @Test("--fold plays NCCL's NVLS tree folded and says so; off refuses a playback past --max-steps; bad values are errors")
    func fold() throws {
        let on = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2048", "--size", "16M", "--algorithm", "nccl:nvls-tree", "--fold", "on"])
        #expect(on.status == 0, "\(on.stderr)")
        #expect(on.stdout.contains("nccl(nvls-tree/Simple/16ch)") && on.stdout.contains("folded: the NVLS tree over 2048 nodes played as 22"), "\(on.stdout)")
        let off = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2048", "--size", "16M", "--algorithm", "nccl:nvls-tree",
                               "--fold", "off", "--max-steps", "1000000"])
        #expect(off.status != 0 && off.stderr.contains("more than") && off.stderr.split(separator: "\n").count == 1, "\(off.stderr)")
        let auto = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "16", "--size", "64M", "--algorithm", "nccl:nvls-tree"])
        #expect(auto.status == 0 && !auto.stdout.contains("folded"), "\(auto.stdout)")
        // Where it cannot fold (12 nodes), --fold on says so and plays every node.
        let twelve = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "12", "--size", "64M", "--algorithm", "nccl:nvls-tree", "--fold", "on"])
        #expect(twelve.status == 0 && twelve.stdout.contains("not folded: --fold on") && !twelve.stdout.contains("folded: the NVLS"), "\(twelve.stdout)")
        let bad = try CLI.run(["simulate", "--fold", "sometimes"])
        #expect(bad.status != 0 && bad.stderr.contains("--fold"))
    }

    @Test("bad NCCL choices are one-line errors", arguments: [
        (["--algorithm", "nccl:nvls"], "do not reduce"),
        (["--algorithm", "nccl-nvls"], "do not reduce"),
        (["--algorithm", "nccl:collnet-chain"], "is invalid for '--algorithm"),
        (["--algorithm", "nccl:collnet"], "SHARP"),
        (["--algorithm", "nccl-collnet", "--nodes", "2"], "SHARP"),
        (["--algorithm", "nccl:bogus"], "is invalid for '--algorithm"),
        (["--protocol", "LL64"], "--protocol"),
        (["--channels", "0"], "--channels"),
        (["--channels", "65"], "--channels"),
        (["--model", "analytic", "--algorithm", "nccl"], "analytic"),
        (["--links", "fair", "--algorithm", "nccl"], "fifo"),
    ])
    func badChoices(_ extra: [String], _ message: String) throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-a100", "--size", "1M"] + extra)
        expectOneLineError(r, contains: [message])
    }

    @Test("--model nccl gives NCCL's closed form for the same plan")
    func closedForm() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-a100", "--size", "8G", "--model", "nccl", "--algorithm", "nccl"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("nccl(ring/Simple/24ch)"))
    }

    @Test("NVLS on a Hopper node: NCCL's pick at 1 GiB, played with the switch reducing; ring LL at 4 KiB; refused by mpi")
    func nvls() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--size", "1G", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first?["algorithm"] as? String == "nccl(nvls/Simple/16ch)")
        // (n + 1)/n of the buffer each way on 360 GB/s ports at NVLS's 0.85: about 472 GB/s of bus bandwidth.
        let busbw = try #require(rows.first?["busbw_GBps"] as? Double)
        #expect(busbw > 440 && busbw < 480, "\(busbw)")
        let small = try CLI.run(["simulate", "--topology", "dgx-h100", "--size", "4K"])
        #expect(small.status == 0 && small.stdout.contains("nccl(ring/LL/"), "\(small.stdout)")
        let verify = try CLI.run(["verify", "--algorithm", "nccl-nvls", "--ranks", "8", "--ranks-per-node", "8", "--count", "1000", "--chunk-bytes", "64"])
        #expect(verify.status == 0, "\(verify.stderr)")
        expectOneLineError(try CLI.run(["mpi", "--algorithm", "nccl-nvls"]), contains: ["no counterpart"])
    }

    @Test("CollNet Direct with --sharp: nccl:collnet is played across A100 nodes and named in the row; mpi refuses it")
    func collnet() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-a100", "--nodes", "2", "--sharp", "--size", "1G", "--algorithm", "nccl:collnet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("nccl(collnet-direct/Simple/"), "\(r.stdout)")
        let verify = try CLI.run(["verify", "--algorithm", "nccl-collnet", "--ranks", "12", "--ranks-per-node", "4", "--count", "1000", "--chunk-bytes", "64"])
        #expect(verify.status == 0, "\(verify.stderr)")
        expectOneLineError(try CLI.run(["mpi", "--algorithm", "nccl-collnet"]), contains: ["SHARP", "no counterpart"])
    }

    @Test("accuracy prints every published point and the summary")
    func accuracy() throws {
        let r = try CLI.run(["accuracy", packagePath("Data/nccl-tests-published.tsv")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("points NVLS does not decide"))
        #expect(r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 18)
    }

    @Test("accuracy: a missing or malformed file is a one-line error")
    func accuracyErrors() throws {
        expectOneLineError(try CLI.run(["accuracy", "/nonexistent/points.tsv"]), contains: ["cannot read"])
        let bad = try temporaryFile("dgx-a100\t1\teight\t1024\t10\tauto\tsrc\n", name: "points.tsv")
        expectOneLineError(try CLI.run(["accuracy", bad]), contains: ["line 1"])
        let unknown = try temporaryFile("dgx-z900\t1\t8\t1024\t10\tauto\tsrc\n", name: "points.tsv")
        expectOneLineError(try CLI.run(["accuracy", unknown]), contains: ["unknown system"])
    }
}
