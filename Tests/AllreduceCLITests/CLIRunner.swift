import Foundation
import Testing

/// Runs the built `allreduce` executable and captures its output, for end-to-end tests of the
/// command line (exit status, one-line errors, output formats).
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    /// The `allreduce` binary next to the test bundle (`.build/<config>/allreduce`).
    static var executableURL: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("allreduce")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.appendingPathComponent("allreduce")
    }

    /// Runs `allreduce args...` to completion (stdin closed) and returns status and output.
    static func run(_ args: [String], environment: [String: String]? = nil, directory: String? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = executableURL
        process.arguments = args
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes while the process runs, so a large output cannot block it.
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let outData = outBox.data
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }
}

@Suite("Command line basics")
struct CLIBasicsTests {
    @Test("an unknown option is one line on stderr and a non-zero exit")
    func unknownOption() throws {
        let r = try CLI.run(["--definitely-not-an-option"])
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(r.stderr.hasPrefix("allreduce: error: "))
    }

    @Test("--help succeeds and lists the subcommands")
    func help() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        for sub in ["simulate", "sweep", "topologies", "verify", "mpi", "bench-kernels"] {
            #expect(r.stdout.contains(sub))
        }
    }
}

@Suite("Negative option values")
struct NegativeValueTests {
    @Test("a negative number after an option is named as such", arguments: [
        ["verify", "--ranks", "-3"],
        ["simulate", "--topology", "switch", "--ranks", "4", "--link-bandwidth", "-5GB/s", "--link-latency", "1us", "--size", "1M"],
    ])
    func negative(args: [String]) throws {
        let r = try CLI.run(args)
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("is negative"))
    }
}
