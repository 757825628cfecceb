import Foundation
import Testing

@Suite("Faults on the command line")
struct FaultCLITests {
    @Test("a bad --fault is one line naming the token", arguments: [
        (["--fault", "node x nic 2 down"], "'x'"), (["--fault", "node 1 nic 2 at 150%"], "'150%'"), (["--fault", "rank 3"], "end of spec"),
        (["--fault", "node 9 nic 0 down"], "node 9"), (["--fault", "rank 1 late 5us", "--model", "analytic"], "--model event"),
    ])
    func badFault(args: [String], token: String) throws {
        let r = try CLI.run(["simulate", "--topology", "switch", "--ranks", "4", "--size", "1M"] + args)
        expectOneLineError(r, contains: [token])
        let s = try CLI.run(["sweep", "--topology", "switch", "--ranks", "4", "-b", "1M", "-e", "1M"] + args)
        expectOneLineError(s, contains: [token])
    }

    @Test("simulate with a fault shows the healthy time and the slowdown, and what gated the finish")
    func simulate() throws {
        let r = try CLI.run(["simulate", "--topology", "switch", "--ranks", "8", "--size", "64M", "--algorithm", "ring", "--fault", "node 3 nic 0 at 50%",
                             "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first?.hasSuffix(",healthy_us,slowdown") == true)
        let cells = lines.dropFirst().first?.split(separator: ",") ?? []
        let time = Double(cells.count > 6 ? cells[6] : "") ?? 0, healthy = Double(cells.count > 9 ? cells[9] : "") ?? 0
        #expect(time > 1.99 * healthy && time < 2 * healthy)
        let table = try CLI.run(["simulate", "--topology", "switch", "--ranks", "8", "--size", "64M", "--algorithm", "ring", "--fault", "node 3 nic 0 at 50%"])
        #expect(table.stdout.contains("# faults: node 3 nic 0 at 50%"))
        #expect(table.stdout.contains("# finish: critical path of "))
        #expect(table.stdout.contains(", ending at rank 3 step "))
        #expect(table.stdout.contains("its slowest link node 3 nic 0 rx (at 50%)"))
        #expect(table.stdout.contains("# busiest links, healthy: "))
    }

    @Test("a GPU cut off ends the run with one line: which ranks, and that NCCL's communicator would fail")
    func cutOff() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--gpus", "2", "--size", "1M", "--fault", "node 1 nic 1 down"])
        expectOneLineError(r, contains: ["rank 3 (node 1 gpu 1) is cut off", "NCCL's communicator would fail"])
    }

    @Test("a topology file's faults are played, and --fault adds to them")
    func file() throws {
        let path = packagePath("Examples/topologies/h100-fat-tree-faults.json")
        let r = try CLI.run(["simulate", "--topology", path, "--size", "4M", "--fault", "rank 0 late 3us"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("# faults: leaf 0 uplink 0 down; node 2 nic 5 at 50%; rank 9 slow 1.5x; jitter exponential 500ns seed 7; rank 0 late 3us"))
    }

    @Test("what-if: the same seed prints the same output; another seed other draws")
    func whatIf() throws {
        let args = ["what-if", "--topology", "dgx-h100", "--nodes", "4", "--gpus", "2", "--size", "1M", "--algorithm", "ring,tree", "--draws", "6",
                    "--faults-per-draw", "1...3", "--effect", "25%"]
        let a = try CLI.run(args + ["--seed", "3"])
        #expect(a.status == 0, "\(a.stderr)")
        let b = try CLI.run(args + ["--seed", "3"])
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.contains("what-if: 6 draws (seed 3) of 1...3 cables at 25% out of 72 NIC and spine cables"))
        let rows = a.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(rows.count == 2)
        let c = try CLI.run(args + ["--seed", "4"])
        #expect(c.stdout != a.stdout)
        // Cables down: a GPU's only NIC down fails the draw.
        let down = try CLI.run(["what-if", "--topology", "dgx-h100", "--nodes", "4", "--gpus", "2", "--size", "1M", "--algorithm", "ring", "--draws", "4",
                                "--cables", "nic", "--faults-per-draw", "1"])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(down.stdout.contains("failed: 4 of 4 draws cut ranks off"))
    }

    @Test("what-if refuses what it cannot draw, with one line", arguments: [
        (["--topology", "switch", "--ranks", "8", "--cables", "spine"], "no such cables"), (["--nodes", "2", "--faults-per-draw", "0"], "--faults-per-draw"),
        (["--nodes", "2", "--effect", "sideways"], "'sideways'"), (["--nodes", "2", "--link-fraction", "2"], "--link-fraction"),
        (["--nodes", "2", "--cables", "leaf"], "--cables"), (["--nodes", "2", "--draws", "0"], "--draws"), (["--nodes", "2", "--model", "analytic"], "--model event"),
    ])
    func whatIfRefuses(args: [String], contains: String) throws {
        let r = try CLI.run(["what-if", "--size", "1M"] + args)
        expectOneLineError(r, contains: [contains])
    }
}
