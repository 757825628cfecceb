import Foundation
import Testing

/// `--format osu`: OSU's osu_allreduce `--full` table, so scripts that parse OMB output read ours.
@Suite("--format osu")
struct OSUFormatCLITests {
    static let header = "# Size       Avg Latency(us)   Min Latency(us)   Max Latency(us)  Iterations"

    /// The data lines (not `#`) of an OSU block, split at OMB's fixed columns (10, 18, 18, 18, 12).
    static func fields(_ line: Substring) -> [String] {
        let chars = Array(line)
        var out: [String] = [], start = 0
        for width in [10, 18, 18, 18, 12] {
            let end = min(chars.count, start + width)
            out.append(String(chars[start..<end]).trimmingCharacters(in: .whitespaces))
            start = end
        }
        return out
    }

    @Test("sweep: one block per algorithm as asked, OMB's header and columns, the times of --format csv")
    func sweep() throws {
        let args = ["sweep", "--topology", "dgx-h100", "--nodes", "2", "-b", "8", "-e", "1M", "-f", "32", "--algorithm", "nccl,ring"]
        let osu = try CLI.run(args + ["--format", "osu"])
        #expect(osu.status == 0, "\(osu.stderr)")
        let lines = osu.stdout.split(separator: "\n")
        #expect(lines.filter { $0 == Self.header }.count == 2)
        let titles = lines.filter { $0.hasPrefix("# Allreduce Latency Test: ") }
        #expect(titles.count == 2)
        #expect(titles.first?.hasPrefix("# Allreduce Latency Test: nccl (simulated on dgx-h100") == true)
        #expect(titles.last?.hasPrefix("# Allreduce Latency Test: ring (simulated on dgx-h100") == true)
        let data = lines.filter { !$0.hasPrefix("#") }
        #expect(data.count == 2 * 4)  // 8, 256, 8K, 256K for each algorithm
        #expect(data.allSatisfy { $0.count == 10 + 18 * 3 + 12 })

        let csv = try CLI.run(args + ["--format", "csv"])
        let csvRows = csv.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        // CSV interleaves the algorithms per size; OSU groups them: nccl's four rows, then ring's.
        let expected = csvRows.enumerated().sorted { ($0.offset % 2, $0.offset) < ($1.offset % 2, $1.offset) }.map { $0.element }
        for (line, row) in zip(data, expected) {
            let f = Self.fields(line)
            #expect(f[0] == String(row[0]))
            #expect(f[1] == String(row[6]))
            #expect(f[2] == f[1] && f[3] == f[1], "a simulated time is one figure: min = max = avg")
            #expect(f[4] == "1")
        }
    }

    @Test("simulate prints one block with the datatype line")
    func simulate() throws {
        let r = try CLI.run(["simulate", "--topology", "switch", "--ranks", "4", "--size", "1M", "-d", "int32", "-o", "max", "--algorithm", "ring", "--format", "osu"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "# Allreduce Latency Test: ring (simulated on switch, 4 ranks)")
        #expect(lines.dropFirst().first == "# Datatype: int32, op max.")
        #expect(lines.dropFirst(2).first.map(String.init) == Self.header)
        #expect(lines.dropFirst(3).first?.hasPrefix("1048576   ") == true)
    }

    @Test("commands whose rows are not allreduce times refuse it in one line")
    func refused() throws {
        expectOneLineError(try CLI.run(["verify", "--format", "osu"]), contains: ["--format osu", "mpi"])
        expectOneLineError(try CLI.run(["bench-kernels", "--format", "osu"]), contains: ["--format osu"])
        expectOneLineError(try CLI.run(["sweep", "--format", "osa"]), contains: ["--format"])
    }
}
