import Foundation
import Testing

/// Runs `allreduce args...` with standard error on a terminal (util-linux `script` gives the
/// command a pseudo-terminal) and standard output to a file; returns what the terminal showed
/// and the file.
func runOnTerminal(_ args: [String]) throws -> (terminal: String, stdout: String) {
    let out = try temporaryFile("", name: "stdout.txt")
    let quoted = ([CLI.executableURL.path] + args).map { "'" + $0 + "'" }.joined(separator: " ")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
    process.arguments = ["-qec", "\(quoted) > '\(out)'", "/dev/null"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return (String(decoding: data, as: UTF8.self), try String(contentsOfFile: out, encoding: .utf8))
}

@Suite("Progress on standard error", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
struct ProgressCLITests {
    /// A sweep of several seconds in a debug build.
    static let longSweep = ["sweep", "--topology", "dgx-h100", "--nodes", "8", "-b", "32M", "-e", "512M", "-f", "2",
                            "--algorithm", "nccl,ring", "--format", "csv"]

    @Test("a long sweep on a terminal shows done/total, events per second and the time left, then erases it")
    func terminal() throws {
        let r = try runOnTerminal(Self.longSweep)
        let updates = r.terminal.split(separator: "\r").filter { $0.hasPrefix("sweep: ") }
        #expect(!updates.isEmpty, "terminal showed: \(r.terminal.prefix(300))")
        for u in updates {
            #expect(u.contains("/10 points, ") && u.contains(" events/s, ETA ") && u.hasSuffix("\u{1B}[K"))
        }
        // Erased before the footer; the data is whole.
        #expect(r.terminal.contains("\r\u{1B}[K# topology: "))
        #expect(r.stdout.split(separator: "\n").count == 11)
        #expect(!r.stdout.contains("ETA"))
    }

    @Test("one long event run on a terminal counts its events as the engine plays them")
    func eventRun() throws {
        // About half a million events: seconds in a debug build.
        let r = try runOnTerminal(["simulate", "--topology", "dgx-h100", "--nodes", "64", "--size", "1G", "--algorithm", "ring"])
        let updates = r.terminal.split(separator: "\r").filter { $0.hasPrefix("simulate: ") }
        #expect(!updates.isEmpty, "terminal showed: \(r.terminal.prefix(300))")
        // Events so far grow; the total is not known before the run ends.
        let counts = updates.map { Int($0.dropFirst("simulate: ".count).prefix { $0.isNumber })! }
        #expect(counts == counts.sorted() && counts.allSatisfy { $0 > 0 })
        #expect(updates.allSatisfy { $0.contains(" events/s, ETA unknown") })
        #expect(r.stdout.contains("# engine: "))
    }

    @Test("--quiet, or standard error not a terminal: no progress")
    func quiet() throws {
        let r = try runOnTerminal(Self.longSweep + ["--quiet"])
        #expect(!r.terminal.contains("sweep: ") && !r.terminal.contains("ETA"))
        #expect(r.terminal.contains("# topology: "))
        let piped = try CLI.run(Self.longSweep)
        #expect(piped.status == 0)
        #expect(!piped.stderr.contains("ETA") && !piped.stderr.contains("\r"))
    }
}
