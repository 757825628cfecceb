#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a trace's text goes, piece by piece (the trace is never held whole).
public protocol TraceSink: AnyObject {
    func write(_ text: String)
}

/// A trace sink that collects the text (tests, small traces).
public final class StringTraceSink: TraceSink {
    public private(set) var text = ""
    public init() {}
    public func write(_ text: String) { self.text += text }
}

/// Why a trace file could not be written: `cannot write 'x.json': Permission denied`.
public struct TraceFileError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A trace sink writing a file through the C library's buffered stream.
public final class FileTraceSink: TraceSink {
    let file: UnsafeMutablePointer<FILE>
    let path: String

    /// Creates (or truncates) the file at `path`.
    public init(path: String) throws(TraceFileError) {
        guard let f = fopen(path, "w") else {
            throw TraceFileError("cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
        file = f
        self.path = path
    }

    public func write(_ text: String) {
        var t = text
        t.withUTF8 { b in _ = fwrite(b.baseAddress, 1, b.count, file) }
    }

    /// Flushes and closes the file; throws when any write failed.
    public func close() throws(TraceFileError) {
        let failed = ferror(file) != 0
        let closed = fclose(file) == 0
        if failed || !closed { throw TraceFileError("writing '\(path)' failed: \(String(cString: strerror(errno)))") }
    }
}

/// The one writer of Chrome / Perfetto trace files (the JSON trace-event format that
/// ui.perfetto.dev and chrome://tracing open): the document, its processes, tracks, slices and
/// counters, streamed to a ``TraceSink``.
///
/// It lives in CollectiveCore, the lowest module of both its users: the simulator's
/// `ChromeTraceRecorder` (CollectiveSim: a played schedule) and ``MeasuredTimelineTrace`` (the
/// steps `allreduce mpi` measured, in CollectiveMPI's reach). So `simulate --trace` and
/// `mpi --trace` write the same format, and one `mpi --trace --predict` file holds both.
///
/// Times are seconds, written as microseconds with three decimals (nanoseconds); a slice's two
/// ends are rounded to the nanosecond first, so that nested slices stay nested as written.
public final class ChromeTraceWriter {
    let sink: any TraceSink
    var first = true
    var closed = false
    /// Slices written so far.
    public private(set) var slicesWritten = 0

    /// Starts the document.
    public init(sink: any TraceSink) {
        self.sink = sink
        sink.write("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")
    }

    /// A metadata event (`process_name`, `thread_name`, `process_sort_index`, ...); `args` is the
    /// JSON inside the arguments' braces.
    public func metadata(pid: Int, tid: Int = 0, name: String, args: String) {
        event("{\"ph\":\"M\",\"pid\":\(pid),\"tid\":\(tid),\"name\":\"\(name)\",\"args\":{\(args)}}")
    }

    /// Names a process and sets its place among the processes.
    public func process(pid: Int, name: String, sortIndex: Int) {
        metadata(pid: pid, name: "process_name", args: "\"name\":\(jsonQuote(name))")
        metadata(pid: pid, name: "process_sort_index", args: "\"sort_index\":\(sortIndex)")
    }

    /// Names a track (thread) of a process and sets its place.
    public func track(pid: Int, tid: Int, name: String, sortIndex: Int) {
        metadata(pid: pid, tid: tid, name: "thread_name", args: "\"name\":\(jsonQuote(name))")
        metadata(pid: pid, tid: tid, name: "thread_sort_index", args: "\"sort_index\":\(sortIndex)")
    }

    /// A complete slice (`"ph":"X"`) from `begin` to `end` seconds.
    public func slice(pid: Int, tid: Int, name: String, begin: Double, end: Double, args: String) {
        slicesWritten += 1
        let from = nanoseconds(begin), to = Swift.max(from, nanoseconds(end))
        event("{\"ph\":\"X\",\"pid\":\(pid),\"tid\":\(tid),\"name\":\(jsonQuote(name)),\"ts\":\(microseconds(from)),\"dur\":\(microseconds(to - from)),\"args\":{\(args)}}")
    }

    /// A counter value (`"ph":"C"`) at `seconds`.
    public func counter(pid: Int, name: String, atSeconds seconds: Double, args: String) {
        event("{\"ph\":\"C\",\"pid\":\(pid),\"name\":\(jsonQuote(name)),\"ts\":\(micro(seconds)),\"args\":{\(args)}}")
    }

    /// Any event, as its JSON object.
    public func event(_ json: String) {
        precondition(!closed, "ChromeTraceWriter: written after close")
        sink.write(first ? json : ",\n" + json)
        first = false
    }

    /// Ends the document; `otherData` is the JSON inside the `otherData` object's braces.
    public func close(otherData: String) {
        precondition(!closed, "ChromeTraceWriter: closed twice")
        closed = true
        sink.write("\n],\"otherData\":{\(otherData)}}\n")
    }

    func nanoseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1e9).rounded()) }

    /// Nanoseconds as microseconds with three decimals.
    func microseconds(_ ns: Int64) -> String {
        let frac = String(ns % 1000)
        return "\(ns / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    /// Seconds as microseconds with three decimals (nanoseconds).
    public func micro(_ seconds: Double) -> String { fixedDecimals(seconds * 1e6, 3) }
}

/// Which ranks a trace gives tracks: all up to `limit`, beyond that every `stride`-th (the
/// smallest stride that keeps at most `limit`). Shared by simulated and measured traces.
public struct TraceRankSampling: Sendable, Equatable {
    public let rankCount: Int
    /// Every `stride`-th rank is traced (0, stride, 2 stride, ...).
    public let stride: Int

    public init(rankCount: Int, limit: Int) {
        self.rankCount = rankCount
        let l = Swift.max(1, limit)
        stride = Swift.max(1, (rankCount + l - 1) / l)
    }

    /// Ranks with tracks.
    public var tracedCount: Int { (rankCount + stride - 1) / stride }

    /// Whether rank `r` has tracks.
    public func isTraced(_ r: Int) -> Bool { r >= 0 && r < rankCount && r % stride == 0 }

    /// `64 of 256 ranks traced (every 4th: 0, 4, 8, ...)`.
    public var note: String {
        "\(tracedCount) of \(rankCount) ranks traced (every \(stride)\(ordinalSuffix(stride)): 0, \(stride), \(2 * stride), ...)"
    }
}

/// `x` with exactly `decimals` decimals, no exponent (JSON and deterministic).
package func fixedDecimals(_ x: Double, _ decimals: Int) -> String {
    guard x.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let n = (abs(x) * scale).rounded()
    guard n < 9e18 else { return "\(Int64(x))" }
    let i = Int64(n), s = Int64(scale)
    let frac = String(i % s)
    let sign = x < 0 && i != 0 ? "-" : ""
    return decimals == 0 ? sign + "\(i)" : sign + "\(i / s)." + String(repeating: "0", count: decimals - frac.count) + frac
}

/// `st`, `nd`, `rd` or `th` after `n`.
package func ordinalSuffix(_ n: Int) -> String {
    if (11...13).contains(n % 100) { return "th" }
    switch n % 10 {
    case 1: return "st"
    case 2: return "nd"
    case 3: return "rd"
    default: return "th"
    }
}
