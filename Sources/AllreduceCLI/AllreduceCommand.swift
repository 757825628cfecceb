import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `allreduce`: simulate, verify, run and benchmark allreduce schedules.
@main
struct AllreduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Simulate, verify, run and benchmark Allreduce schedules.",
        discussion: """
            Output reads like nccl-tests' all_reduce_perf: size, count, type, redop, time, algbw, busbw.
            Sizes take 1024-based suffixes (8, 64K, 1M, 8G); bandwidths are in GB/s (1e9 bytes/s).
            """,
        subcommands: [
            Simulate.self,
            Accuracy.self,
            Sweep.self,
            Topologies.self,
            Verify.self,
            MPIRun.self,
            BenchKernels.self,
            BenchExecutor.self,
        ]
    )

    /// Every error ends the process with one line on standard error and a non-zero status;
    /// `--help` and `--version` print as usual.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            let raw = Self.message(for: error)
            let parseError = raw.contains("Missing value") || raw.contains("Unknown option")
            let message = (parseError ? negativeValueMessage(CommandLine.arguments) : nil) ?? oneLine(raw)
            var stderr = StandardError()
            print("allreduce: error: \(message)", to: &stderr)
            Glibc.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }

    /// ArgumentParser reads `--ranks -3` as an option `--ranks` without a value followed by an
    /// unknown flag `-3`; say what actually happened instead. Every numeric option of allreduce is
    /// non-negative, so a value that starts with `-` and a digit is always an error.
    static func negativeValueMessage(_ arguments: [String]) -> String? {
        for (option, value) in zip(arguments, arguments.dropFirst()) where option.hasPrefix("-") {
            guard value.count >= 2, value.hasPrefix("-"),
                  let second = value.dropFirst().first, second.isNumber || second == "." else { continue }
            return "\(option): '\(value)' is negative; the value must not be negative"
        }
        return nil
    }

    /// The first non-empty line of an error message, without ArgumentParser's `Error: ` prefix.
    static func oneLine(_ message: String) -> String {
        let first = message.split(separator: "\n").first.map(String.init) ?? "unknown error"
        return first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
    }
}

/// A failure at run time, reported as one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
