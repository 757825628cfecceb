import Foundation
import Testing
import _TestSupport

@Suite("allreduce simulate --trace")
struct TraceCLITests {
    /// Loads a trace file: its events, which must pass the trace checks (fields, named tracks, nesting).
    static func events(_ path: String) throws -> [[String: Any]] {
        let trace = try LoadedTrace(contentsOf: path)
        #expect(trace.schemaProblems == [])
        #expect(trace.nestingProblems == [])
        return trace.events
    }

    @Test("what NCCL would run, written as a trace that Perfetto loads; the footer says what it holds")
    func nccl() throws {
        let path = try temporaryFile("", name: "trace.json")
        let r = try CLI.run(["simulate", "--topology", "dgx-h100", "--nodes", "2", "--size", "4M", "--trace", path])
        #expect(r.status == 0, "\(r.stderr)")
        let note = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("# trace: \(path) (") })
        #expect(note.contains("16 of 16 ranks") && note.contains("critical path"))
        let events = try Self.events(path)
        let slices = events.filter { $0["ph"] as? String == "X" }
        #expect(slices.allSatisfy { $0["ts"] is Double && $0["dur"] is Double && $0["tid"] is Int })
        #expect(Set(slices.map { $0["pid"] as! Int }) == [1, 2, 3])
        let names = events.filter { $0["name"] as? String == "thread_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
        #expect(names.contains("rank 0") && names.contains("rank 15") && names.contains("critical path"))
        #expect(names.contains { $0.hasPrefix("node 1 nic") })
        // The critical path ends at the time in the row.
        let row = try #require(r.stdout.split(separator: "\n").first { !$0.hasPrefix("#") })
        let time = try #require(Double(row.split(separator: " ")[6]))
        let end = slices.filter { $0["pid"] as? Int == 3 }.map { ($0["ts"] as! Double) + ($0["dur"] as! Double) }.max()!
        #expect(abs(end - time) < 0.01)
    }

    @Test("--trace-ranks samples ranks and says so")
    func sampled() throws {
        let path = try temporaryFile("", name: "trace.json")
        let r = try CLI.run(["simulate", "--topology", "switch", "--ranks", "32", "--size", "1M", "--algorithm", "auto",
                             "--trace", path, "--trace-ranks", "8", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("8 of 32 ranks traced (every 4th: 0, 4, 8, ...) by --trace-ranks"))
        let ranks = Set(try Self.events(path).filter { $0["ph"] as? String == "X" && $0["pid"] as? Int == 1 }.map { ($0["tid"] as! Int) / 64 })
        #expect(ranks == Set(stride(from: 0, to: 32, by: 4)))
    }

    @Test("--trace needs the event model with FIFO links and a writable file")
    func errors() throws {
        expectOneLineError(try CLI.run(["simulate", "--model", "analytic", "--trace", "/tmp/x.json"]), contains: ["--trace", "event"])
        expectOneLineError(try CLI.run(["simulate", "--topology", "switch", "--links", "fair", "--trace", "/tmp/x.json"]), contains: ["--links fifo"])
        expectOneLineError(try CLI.run(["simulate", "--topology", "switch", "--size", "1K", "--trace", "/nonexistent-dir/t.json"]),
                           contains: ["--trace", "/nonexistent-dir/t.json"])
        expectOneLineError(try CLI.run(["simulate", "--trace-ranks", "0"]), contains: ["--trace-ranks"])
    }

    @Test("mpi --trace: an empty file name and --trace-ranks below 1 are refused before MPI starts")
    func mpiErrors() throws {
        expectOneLineError(try CLI.run(["mpi", "-b", "1K", "-e", "1K", "--trace", ""]), contains: ["--trace: empty file name"])
        expectOneLineError(try CLI.run(["mpi", "-b", "1K", "-e", "1K", "--trace", "/tmp/t.json", "--trace-ranks", "0"]),
                           contains: ["--trace-ranks must be at least 1, got 0"])
    }
}
