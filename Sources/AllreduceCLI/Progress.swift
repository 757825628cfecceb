import CollectiveCore
import ArgumentParser
import CollectiveSim
#if canImport(Glibc)
import Glibc
#endif

/// `--quiet`, shared by the commands that show progress.
struct ProgressOptions: ParsableArguments {
    @Flag(name: .long, help: "No progress line on standard error (it is shown only when standard error is a terminal and the run takes over a second).")
    var quiet = false

    init() {}
    init(quiet: Bool) { self.quiet = quiet }
}

/// A progress line on standard error for long runs: points done of the total, engine events per
/// second, and an estimate of the time left. It is drawn only when standard error is a terminal
/// and `--quiet` is not given, first after a second of work, at most five times a second, and
/// erased when the run ends, so that the output proper is never mixed with it.
///
/// It watches the event engine (an ``EngineObserver``) to count events while a point runs,
/// passing every call on to `inner` (a trace recorder) when one is set.
final class ProgressLine: EngineObserver, @unchecked Sendable {
    // @unchecked: used by the one thread that runs the command.
    let label: String
    let enabled: Bool
    let unit: String
    let totalCount: Int
    let totalWeight: Double
    /// Whether the work is engine events (the `mpi` runner's is not).
    let showsEvents: Bool
    /// Events a single run will handle, when known (a replay of a run timed before).
    var expectedEvents: Int?
    var inner: (any EngineObserver)?

    var doneCount = 0
    var doneWeight = 0.0
    var events = 0
    var simulatedSeconds = 0.0
    let start = WallClock.now()
    var lastDraw = -1.0
    var drawn = false

    /// `totalCount` points of `unit` (`points`, `sizes`), weighing `totalWeight` together.
    init(label: String, options: ProgressOptions, totalCount: Int = 1, totalWeight: Double = 1, unit: String = "points", showsEvents: Bool = true) {
        self.showsEvents = showsEvents
        self.label = label
        self.enabled = !options.quiet && isatty(STDERR_FILENO) == 1
        self.totalCount = totalCount
        self.totalWeight = totalWeight
        self.unit = unit
    }

    /// The observer to give the engine: this line when it is drawn, else `inner` alone (a run
    /// nobody watches pays nothing).
    var observer: (any EngineObserver)? { enabled ? self : inner }

    func transferStarted(_ transfer: ObservedTransfer) { inner?.transferStarted(transfer) }

    func transferCompleting(slot: Int, atSeconds seconds: Double) {
        inner?.transferCompleting(slot: slot, atSeconds: seconds)
        events += 1
        if events & 0x3FFF == 0 {
            simulatedSeconds = seconds
            tick()
        }
    }

    /// One point done, of `weight` (and `events` engine events, when not watched live).
    func completed(weight: Double = 1, events extra: Int = 0) {
        doneCount += 1
        doneWeight += weight
        events += extra
        tick()
    }

    func tick() {
        guard enabled else { return }
        let now = WallClock.now() - start
        guard now >= 1, now - lastDraw >= 0.2 else { return }
        lastDraw = now
        var parts: [String] = []
        var fraction: Double? = nil
        if totalCount > 1 {
            parts.append("\(doneCount)/\(totalCount) \(unit)")
            fraction = totalWeight > 0 ? doneWeight / totalWeight : nil
        } else if let expectedEvents, expectedEvents > 0 {
            parts.append("\(events)/\(expectedEvents) events")
            fraction = Double(events) / Double(expectedEvents)
        } else {
            parts.append("\(events) events, simulated \(formatFixed(simulatedSeconds * 1e6, decimals: 0)) us so far")
        }
        if showsEvents {
            let rate = Double(events) / now
            parts.append(rate >= 1e6 ? "\(formatFixed(rate / 1e6, decimals: 1)) M events/s" : "\(formatFixed(rate / 1e3, decimals: 1)) k events/s")
        }
        if let f = fraction, f > 0, f <= 1 {
            parts.append("ETA \(Self.clock((1 - f) / f * now))")
        } else {
            parts.append("ETA unknown")
        }
        write("\r\(label): " + parts.joined(separator: ", ") + "\u{1B}[K")
        drawn = true
    }

    /// Erases the line (call before printing results).
    func finish() {
        if drawn { write("\r\u{1B}[K") }
        drawn = false
    }

    func write(_ s: String) {
        var err = StandardError()
        err.write(s)
    }

    /// `0:07`, `12:34`, `1:02:03`.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
        return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
    }
}
