import Foundation

/// Parses and prints the physical quantities of topology files and command-line options:
/// bandwidths (`100GB/s`, `400Gb/s`, `12.5 GBps`, `800Mb/s`) and latencies (`2us`, `500ns`,
/// `1.5µs`, `0.1ms`). Bandwidth prefixes are decimal (G = 1e9), as link rates are quoted.
public enum PhysicalUnit {
    /// Bytes per second in GB/s (1e9 bytes/s) that `text` denotes, or a one-line reason.
    public static func parseBandwidthGBps(_ text: String) -> Result<Double, UnitError> {
        let (number, unit) = split(text)
        guard let value = number else {
            return .failure(UnitError(text: text, reason: "expected a number followed by a bandwidth unit such as 100GB/s or 400Gb/s"))
        }
        let key = unit.lowercased().replacing("ps", with: "/s").replacing(" ", with: "")
        // Bytes (B) or bits (b): compare case-sensitively on the letter before "/s".
        let compact = unit.replacing(" ", with: "").replacing("ps", with: "/s")
        let scale: Double
        switch compact {
        case "TB/s": scale = 1e3
        case "GB/s": scale = 1
        case "MB/s": scale = 1e-3
        case "KB/s", "kB/s": scale = 1e-6
        case "B/s": scale = 1e-9
        case "Tb/s": scale = 1e3 / 8
        case "Gb/s": scale = 1.0 / 8
        case "Mb/s": scale = 1e-3 / 8
        case "Kb/s", "kb/s": scale = 1e-6 / 8
        case "b/s": scale = 1e-9 / 8
        default:
            let hint = key.isEmpty ? "missing unit" : "unknown unit '\(unit)'"
            return .failure(UnitError(text: text, reason: "\(hint) (use GB/s or Gb/s, also TB/s MB/s Tb/s Mb/s)"))
        }
        guard value.isFinite else { return .failure(UnitError(text: text, reason: "not a finite number")) }
        guard value >= 0 else { return .failure(UnitError(text: text, reason: "bandwidth must not be negative")) }
        guard (value * scale).isFinite else { return .failure(UnitError(text: text, reason: "too large")) }
        return .success(value * scale)
    }

    /// Microseconds that `text` denotes, or a one-line reason.
    public static func parseLatencyMicroseconds(_ text: String) -> Result<Double, UnitError> {
        let (number, unit) = split(text)
        guard let value = number else {
            return .failure(UnitError(text: text, reason: "expected a number followed by a time unit such as 2us or 500ns"))
        }
        let scale: Double
        switch unit.replacing(" ", with: "").lowercased() {
        case "s": scale = 1e6
        case "ms": scale = 1e3
        case "us", "µs", "μs": scale = 1
        case "ns": scale = 1e-3
        case "ps": scale = 1e-6
        default:
            let hint = unit.isEmpty ? "missing unit" : "unknown unit '\(unit)'"
            return .failure(UnitError(text: text, reason: "\(hint) (use s, ms, us or ns)"))
        }
        guard value.isFinite else { return .failure(UnitError(text: text, reason: "not a finite number")) }
        guard value >= 0 else { return .failure(UnitError(text: text, reason: "latency must not be negative")) }
        guard (value * scale).isFinite else { return .failure(UnitError(text: text, reason: "too large")) }
        return .success(value * scale)
    }

    /// `50GB/s`, `12.5GB/s`: a bandwidth in the file format, shortest exact decimal.
    public static func formatBandwidth(_ gbps: Double) -> String { "\(shortest(gbps))GB/s" }

    /// `0.6us`, `130ns`: a latency in the file format.
    public static func formatLatency(_ microseconds: Double) -> String {
        if microseconds != 0 && microseconds < 1, (microseconds * 1000).rounded() == microseconds * 1000 {
            return "\(shortest(microseconds * 1000))ns"
        }
        return "\(shortest(microseconds))us"
    }

    /// `x` rounded to `digits` significant digits (a measured figure as a file shows it).
    public static func rounded(_ x: Double, significantDigits digits: Int) -> Double {
        guard x.isFinite, x != 0 else { return x }
        return Double(String(format: "%.\(digits)g", x)) ?? x
    }

    /// `12.5`, `50` (no trailing `.0`).
    public static func shortest(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(Int(d)) }
        return "\(d)"
    }

    /// Splits `" 12.5 GB/s "` into (12.5, "GB/s").
    static func split(_ text: String) -> (Double?, String) {
        let t = text._fabricTrimmed
        var end = t.startIndex
        for i in t.indices {
            let c = t[i]
            if c.isNumber || c == "." || c == "-" || c == "+" || ((c == "e" || c == "E") && i != t.startIndex && t[t.index(before: i)].isNumber && t.index(after: i) < t.endIndex && (t[t.index(after: i)].isNumber || t[t.index(after: i)] == "-")) {
                end = t.index(after: i)
            } else { break }
        }
        let number = Double(t[t.startIndex..<end])
        let unit = String(t[end...])._fabricTrimmed
        return (number, unit)
    }
}

/// A quantity that does not parse.
public struct UnitError: Error, Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "'\(text)': \(reason)" }
}

extension String {
    var _fabricTrimmed: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
