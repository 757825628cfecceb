import Foundation
import Testing

/// The data rows of a CSV output, as (size, algorithm).
func csvRows(_ stdout: String) -> [(size: String, algorithm: String)] {
    let lines = stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
    guard let header = lines.first?.split(separator: ",").map(String.init),
          let s = header.firstIndex(of: "size"), let a = header.firstIndex(of: "algorithm") else { return [] }
    return lines.dropFirst().map { let f = $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init); return (f[s], f[a]) }
}

@Suite("--algorithm lists and all, on every subcommand")
struct AlgorithmListTests {
    /// What `all` plays on the 8-rank switch model: every textbook schedule but those that reduce in switches.
    static let switchAll = ["ring", "tree", "rabenseifner", "recursive-doubling", "hierarchical", "nccl-ring", "nccl-tree"]

    @Test("simulate --algorithm all: a row per schedule the cluster plays, each once even if named again")
    func simulateAll() throws {
        let r = try CLI.run(["simulate", "--topology", "switch", "--size", "1M", "--algorithm", "all,ring", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(csvRows(r.stdout).map(\.algorithm) == Self.switchAll)
        // On a cluster whose NVSwitches reduce, all includes NVLS.
        let g = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--size", "1M", "--algorithm", "all", "--format", "csv"])
        #expect(g.status == 0, "\(g.stderr)")
        #expect(csvRows(g.stdout).map(\.algorithm).contains("nccl-nvls-tree"))
    }

    @Test("simulate takes a list: one row per algorithm, in the order given")
    func simulateList() throws {
        let r = try CLI.run(["simulate", "--topology", "switch", "--size", "64K", "--algorithm", "tree, ring,auto", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let names = csvRows(r.stdout).map(\.algorithm)
        #expect(names.count == 3 && names[0] == "tree" && names[1] == "ring")
    }

    @Test("sweep and what-if take all")
    func sweepAndWhatIf() throws {
        let s = try CLI.run(["sweep", "--topology", "switch", "-b", "1K", "-e", "4K", "-f", "4", "--algorithm", "all", "--format", "csv"])
        #expect(s.status == 0, "\(s.stderr)")
        let rows = csvRows(s.stdout)
        #expect(rows.count == 2 * Self.switchAll.count)
        #expect(Set(rows.map(\.algorithm)) == Set(Self.switchAll))
        let w = try CLI.run(["what-if", "--topology", "dgx-h100", "--nodes", "2", "--size", "1M", "--draws", "1", "--algorithm", "all", "--format", "csv"])
        #expect(w.status == 0, "\(w.stderr)")
        #expect(w.stdout.contains("rabenseifner") && w.stdout.contains("nccl-nvls-tree"))
    }

    @Test("verify takes a list as well as all")
    func verifyList() throws {
        let r = try CLI.run(["verify", "--ranks", "4", "--count", "64", "--algorithm", "ring,tree,ring", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let names = r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.dropFirst().map { String($0.split(separator: ",")[0]) }
        #expect(names == ["ring", "tree"])
    }

    @Test("empty and unknown names: one line, non-zero, on every subcommand", arguments: [
        (["simulate", "--algorithm", "ring,,tree"], ["--algorithm: empty name in 'ring,,tree'"]),
        (["simulate", "--algorithm", "all,bogus"], ["unknown algorithm 'bogus'", "all"]),
        (["sweep", "--topology", "switch", "--algorithm", "ring,"], ["--algorithm: empty name"]),
        (["what-if", "--algorithm", "bogus"], ["unknown algorithm 'bogus'"]),
        (["verify", "--algorithm", "ring,bogus"], ["unknown algorithm 'bogus'", "all"]),
        (["verify", "--algorithm", ","], ["--algorithm: empty name"]),
        (["mpi", "--algorithm", "ring,,mpi"], ["--algorithm: empty name"]),
        (["mpi", "--algorithm", "all,bogus"], ["unknown algorithm 'bogus'"]),
        (["simulate", "--algorithm", "all", "--trace", "/tmp/t.json"], ["--trace writes one algorithm's run"]),
    ])
    func errors(arguments: [String], expected: [String]) throws {
        expectOneLineError(try CLI.run(arguments), contains: expected)
    }
}

@Suite("Typed options: model, links, inter-node")
struct TypedOptionTests {
    @Test("a bad value is one line naming the valid ones, on every subcommand that takes it", arguments: [
        (["simulate", "--model", "fast"], ["'fast'", "--model", "'event', 'analytic' or 'nccl'"]),
        (["sweep", "--links", "lifo"], ["'lifo'", "--links", "'fifo' and 'fair'"]),
        (["what-if", "--inter-node", "mesh"], ["'mesh'", "'ring', 'tree' or 'auto'"]),
        (["verify", "--inter-node", "auto"], ["'auto'", "'ring' and 'tree'"]),
        (["mpi", "--inter-node", "mesh"], ["'mesh'", "'ring' and 'tree'"]),
    ])
    func bad(arguments: [String], expected: [String]) throws {
        expectOneLineError(try CLI.run(arguments), contains: expected)
    }

    @Test("values are read in any case, and the help lists them from the types")
    func caseAndHelp() throws {
        let r = try CLI.run(["simulate", "--topology", "switch", "--size", "64K", "--model", "ANALYTIC", "--links", "Fifo",
                             "--inter-node", "Tree", "--algorithm", "hierarchical", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("model: analytic"))
        // The help wraps its lines: compare with the whitespace collapsed.
        let help = try CLI.run(["simulate", "--help"]).stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(help.contains("values: event, analytic, nccl") && help.contains("values: fifo, fair") && help.contains("values: ring, tree, auto"))
    }
}
