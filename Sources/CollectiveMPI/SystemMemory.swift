import Foundation

/// How much memory this machine (or its container) can still give to a job.
public enum SystemMemory {
    /// Bytes available: Linux's `MemAvailable` (/proc/meminfo), lowered to the cgroup v2 limit
    /// minus current use when the process runs under one. Nil when neither can be read.
    public static func availableBytes() -> Int? {
        var best: Int? = nil
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            best = parseMemAvailable(meminfo)
        }
        if let maxText = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let limit = Int(maxText.trimmingCharacters(in: .whitespacesAndNewlines)) {
            let currentText = (try? String(contentsOfFile: "/sys/fs/cgroup/memory.current", encoding: .utf8)) ?? "0"
            let current = Int(currentText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            let room = Swift.max(0, limit - current)
            best = best.map { Swift.min($0, room) } ?? room
        }
        return best
    }

    /// The `MemAvailable:` figure of a /proc/meminfo text, in bytes.
    public static func parseMemAvailable(_ text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    /// `bytes` in GiB with two decimals, for messages.
    public static func gib(_ bytes: Int) -> String {
        let v = Double(bytes) / Double(1 << 30)
        return String(format: "%.2f GiB", v)
    }
}
