/// Parses byte sizes as nccl-tests does: a whole number with an optional 1024-based suffix
/// `K`, `M`, `G`, `T` (also `KB`, `KiB`, ...; case-insensitive). docs/Sources.md section 1.
public enum ByteCount {
    /// The number of bytes `text` denotes, or a one-line reason it does not parse.
    public static func parse(_ text: String) -> Result<Int, ByteCountError> {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { return .failure(.init(text: text, reason: "empty size")) }
        var digits = Substring(trimmed)
        var suffix = ""
        while let last = digits.last, !last.isNumber { suffix.insert(last, at: suffix.startIndex); digits.removeLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else {
            return .failure(.init(text: text, reason: "expected a whole number of bytes with an optional K, M, G or T suffix"))
        }
        let shift: Int
        switch suffix.lowercased() {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        default: return .failure(.init(text: text, reason: "unknown suffix '\(suffix)' (use K, M, G or T, 1024-based)"))
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { return .failure(.init(text: text, reason: "too large")) }
        return .success(result)
    }

    /// Formats a byte count with the largest exact 1024-based suffix (`1G`, `512M`, `1000`).
    public static func format(_ bytes: Int) -> String {
        for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] where bytes >= (1 << shift) && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)"
    }
}

/// A byte size that does not parse.
public struct ByteCountError: Error, Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "invalid size '\(text)': \(reason)" }
}

extension String {
    @usableFromInline var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
