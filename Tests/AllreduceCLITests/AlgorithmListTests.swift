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

    @Test("empty and unknown names: the parser's one line naming the valid ones, non-zero, on every subcommand", arguments: [
        (["simulate", "--algorithm", "ring,,tree"], ["'ring,,tree' is invalid for '--algorithm", "nccl:tree", "auto", "all"]),
        (["simulate", "--algorithm", "all,bogus"], ["'all,bogus' is invalid for '--algorithm", "recursive-doubling", "all"]),
        (["simulate", "--algorithm", "nccl:bogus"], ["'nccl:bogus' is invalid", "nccl:ring"]),
        (["sweep", "--topology", "switch", "--algorithm", "ring,"], ["'ring,' is invalid for '--algorithm", "nccl:pat"]),
        (["what-if", "--algorithm", "bogus"], ["'bogus' is invalid for '--algorithm", "nccl"]),
        (["verify", "--algorithm", "ring,bogus"], ["'ring,bogus' is invalid for '--algorithm", "nccl-nvls", "all"]),
        (["verify", "--algorithm", ","], ["',' is invalid for '--algorithm"]),
        (["verify", "--algorithm", "auto"], ["'auto' is invalid for '--algorithm"]),
        (["mpi", "--algorithm", "ring,,mpi"], ["'ring,,mpi' is invalid for '--algorithm", "memcpy"]),
        (["mpi", "--algorithm", "all,bogus"], ["'all,bogus' is invalid for '--algorithm", "mpi, memcpy, all"]),
        (["mpi", "--algorithm", "ring,nccl-nvls"], ["nccl-nvls reduces inside the NVSwitch", "nccl:nvls"]),
        (["simulate", "--algorithm", "all", "--trace", "/tmp/t.json"], ["--trace writes one algorithm's run"]),
    ])
    func errors(arguments: [String], expected: [String]) throws {
        expectOneLineError(try CLI.run(arguments), contains: expected)
    }
}

@Suite("Typed --algorithm lists: the names come from the types")
struct AlgorithmSelectionTests {
    /// The help of `command`, its wrapped lines joined.
    static func help(_ command: String) throws -> String {
        try CLI.run([command, "--help"]).stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
    }

    @Test("each subcommand's help lists the names its --algorithm takes")
    func helpLists() throws {
        let simulated = "values: nccl, nccl:tree, nccl:ring, nccl:collnet-direct, nccl:nvls, nccl:nvls-tree, nccl:pat, ring, tree, rabenseifner, recursive-doubling, hierarchical, nccl-ring, nccl-tree, nccl-nvls, nccl-nvls-tree, nccl-collnet, nccl-pat, auto, all"
        for command in ["simulate", "sweep", "what-if"] {
            #expect(try Self.help(command).contains(simulated), "\(command)")
        }
        #expect(try Self.help("verify").contains("values: ring, tree, rabenseifner, recursive-doubling, hierarchical, nccl-ring, nccl-tree, nccl-nvls, nccl-nvls-tree, nccl-collnet, nccl-pat, all; default: all"))
        #expect(try Self.help("mpi").contains("values: ring, tree, rabenseifner, recursive-doubling, hierarchical, nccl-ring, nccl-tree, nccl-pat, mpi, memcpy, all; default: all"))
    }

    @Test("every spelling is read: case, spaces, nccl:ALGO as NCCL_ALGO spells it, duplicates dropped")
    func spellings() throws {
        let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--size", "1M", "--algorithm", " NCCL:NVLS_TREE ,Ring,ring, nccl", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let names = csvRows(r.stdout).map(\.algorithm)
        #expect(names.count == 3, "\(names)")
        #expect(names.first?.hasPrefix("nccl(nvls-tree") == true && names[1] == "ring" && names[2].hasPrefix("nccl("))
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
