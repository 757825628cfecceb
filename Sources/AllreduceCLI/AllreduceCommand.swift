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
            Train.self,
            WhatIf.self,
            Topologies.self,
            Verify.self,
            MPIRun.self,
            Calibrate.self,
            BenchKernels.self,
            BenchExecutor.self,
        ]
    )

    /// Every error ends the process with one line on standard error and a non-zero status;
    /// `--help` and `--version` print as usual.
    static func main() {
        CrashReport.install()
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(MPIRun.withBarePredict(Array(CommandLine.arguments.dropFirst())))
        } catch {
            // Under mpirun every rank reads the same command line: rank 0 alone says what is
            // wrong with it (as `mpi` and `calibrate` do once running). The others leave a
            // moment later, so that mpirun, which ends the job at the first failed rank, does not
            // end rank 0 before it has spoken.
            if exitCode(for: error) != .success, let rank = getenv("OMPI_COMM_WORLD_RANK"), String(cString: rank) != "0" {
                sleep(2)
                Glibc.exit(exitCode(for: error).rawValue)
            }
            fail(error)
        }
        do {
            try command.run()
        } catch {
            fail(error)
        }
    }

    /// Ends the process for `error`: `--help` and `--version` print as usual; anything else is
    /// one line on standard error and a non-zero status.
    static func fail(_ error: any Error) -> Never {
        let code = exitCode(for: error)
        if code == .success {
            exit(withError: error)
        }
        var stderr = StandardError()
        print("allreduce: error: \(errorLine(for: error, arguments: CommandLine.arguments))", to: &stderr)
        Glibc.exit(code.rawValue == 0 ? 1 : code.rawValue)
    }

    /// The one line printed for `error` (after `allreduce: error: `), given the command line.
    static func errorLine(for error: any Error, arguments: [String]) -> String {
        let raw = Self.message(for: error)
        let parseError = raw.contains("Missing value") || raw.contains("Unknown option")
        return (parseError ? negativeValueMessage(arguments) : nil) ?? oneLine(raw)
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

    /// The first non-empty line of an error message, without ArgumentParser's `Error: ` prefix;
    /// a list of choices that follows it as `  - name` lines (ArgumentParser's form for an enum
    /// option with six or more values) is folded into the line.
    static func oneLine(_ message: String) -> String {
        let lines = message.split(separator: "\n").map(String.init)
        var first = lines.first ?? "unknown error"
        if first.hasPrefix("Error: ") { first = String(first.dropFirst(7)) }
        let choices = lines.dropFirst().map { $0.trimming(" ") }.prefix { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
        if !choices.isEmpty { first += " " + choices.joined(separator: ", ") }
        return first
    }
}

/// What a true bug (a trap, a bad access) prints: one line and exit status 70, instead of the
/// Swift runtime's backtrace. The handlers replace the runtime's own crash handlers, so they are
/// installed only when `SWIFT_BACKTRACE` is not set: `SWIFT_BACKTRACE=enable=yes allreduce ...`
/// gives the full backtrace (docs/Limits.md, "When allreduce crashes").
enum CrashReport {
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV]

    static func install() {
        guard getenv("SWIFT_BACKTRACE") == nil else { return }
        // An alternate stack, so a stack overflow can still be reported.
        let size = 1 << 16
        var stack = stack_t()
        stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        stack.ss_size = size
        stack.ss_flags = 0
        sigaltstack(&stack, nil)
        for s in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                // Only async-signal-safe calls: a fixed message per signal, write(2), _exit.
                let name: StaticString
                switch signal {
                case SIGSEGV: name = "allreduce: internal error (SIGSEGV, bad memory access); please report it with the command line; SWIFT_BACKTRACE=enable=yes gives a backtrace\n"
                case SIGBUS: name = "allreduce: internal error (SIGBUS, bad memory access); please report it with the command line; SWIFT_BACKTRACE=enable=yes gives a backtrace\n"
                case SIGFPE: name = "allreduce: internal error (SIGFPE, arithmetic fault); please report it with the command line; SWIFT_BACKTRACE=enable=yes gives a backtrace\n"
                case SIGABRT: name = "allreduce: internal error (SIGABRT, aborted); please report it with the command line; SWIFT_BACKTRACE=enable=yes gives a backtrace\n"
                default: name = "allreduce: internal error (a failed check); please report it with the command line; SWIFT_BACKTRACE=enable=yes gives a backtrace\n"
                }
                _ = Glibc.write(2, name.utf8Start, name.utf8CodeUnitCount)
                Glibc._exit(70)
            }
            action.sa_flags = SA_ONSTACK
            sigemptyset(&action.sa_mask)
            sigaction(s, &action, nil)
        }
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
