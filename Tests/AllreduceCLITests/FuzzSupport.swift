import CollectiveCore
import Foundation
import _TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Seeded fuzzing of the inputs users control (topology files, command lines), shared by the
/// bounded runs in the test suite and by `Scripts/fuzz` (which sets `ALLREDUCE_FUZZ_COUNT`).
///
/// Every input is checked for the promise of issue 11: it is accepted, or refused with one
/// non-empty line; it never crashes and never takes longer than the hang bound. A crash is
/// reported with the input that caused it (a signal handler prints the last input).
enum Fuzz {
    /// Inputs per fuzz test: `ALLREDUCE_FUZZ_COUNT`, else `ciCount`.
    static func count(ci ciCount: Int) -> Int {
        ProcessInfo.processInfo.environment["ALLREDUCE_FUZZ_COUNT"].flatMap(Int.init) ?? ciCount
    }

    /// The seed: `ALLREDUCE_FUZZ_SEED`, else a fixed one (so a CI failure reproduces).
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["ALLREDUCE_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_0011
    }

    /// Seconds one input may take before it counts as a hang: `ALLREDUCE_FUZZ_HANG_SECONDS`, else 10.
    static var hangSeconds: Double {
        ProcessInfo.processInfo.environment["ALLREDUCE_FUZZ_HANG_SECONDS"].flatMap(Double.init) ?? 10
    }

    /// The seeded generator: CollectiveCore's SplitMix64 with the draws of _TestSupport.
    typealias Random = SplitMix64

    /// What a run found.
    struct Findings: CustomStringConvertible {
        var inputs = 0
        var accepted = 0
        var refused = 0
        var hangs: [String] = []
        var badErrors: [String] = []
        var slowestSeconds = 0.0
        var description: String {
            "\(inputs) inputs: \(accepted) accepted, \(refused) refused with one line; 0 crashes; \(hangs.count) hangs over \(Fuzz.hangSeconds) s; \(badErrors.count) bad error messages; slowest input \(String(format: "%.3f", slowestSeconds)) s"
        }

        /// Records one input's outcome: `error` nil when accepted, else the line shown to users.
        mutating func record(_ input: String, error: String?, seconds: Double) {
            inputs += 1
            slowestSeconds = max(slowestSeconds, seconds)
            if seconds > Fuzz.hangSeconds, hangs.count < 20 { hangs.append("\(String(format: "%.1f", seconds)) s: \(input.debugDescription.prefix(300))") }
            guard let error else { accepted += 1; return }
            refused += 1
            let trimmed = error.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || error.contains("\n") || trimmed.hasSuffix(":"), badErrors.count < 20 {
                badErrors.append("\(error.debugDescription.prefix(300)) <- \(input.debugDescription.prefix(300))")
            }
        }
    }

    // MARK: Crash report

    nonisolated(unsafe) static var lastInput = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 16)
    nonisolated(unsafe) static var lastInputCount = 0

    /// Keeps (a prefix of) `input` where the crash handler can print it.
    static func remember(_ input: String) {
        let bytes = Array(("\nfuzz: crashed on input: " + input.debugDescription + "\n").utf8.prefix(lastInput.count))
        _ = UnsafeMutableBufferPointer(rebasing: lastInput[0..<bytes.count]).initialize(from: bytes)
        lastInputCount = bytes.count
    }

    /// Installs handlers that print the last input, then let the signal end the process.
    static func installCrashReport() {
        for s in [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV] {
            signal(s) { sig in
                _ = write(2, Fuzz.lastInput.baseAddress, Fuzz.lastInputCount)
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }

    /// Runs `body` on every input of `count`, timing each.
    static func run(count: Int, seed: UInt64, generate: (inout Random) -> String, check: (String) -> String?) -> Findings {
        installCrashReport()
        var random = Random(seed: seed)
        var findings = Findings()
        for _ in 0..<count {
            let input = generate(&random)
            remember(input)
            let start = DispatchTime.now().uptimeNanoseconds
            let error = check(input)
            findings.record(input, error: error, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return findings
    }
}
