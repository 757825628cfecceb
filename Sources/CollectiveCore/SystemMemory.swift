#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much memory this machine (or its container) can still give to a job: the one place every
/// command and module asks before allocating (`mpi`, `verify`, `bench-executor`, the fabric model).
public enum SystemMemory {
    /// Bytes available: Linux's `MemAvailable` (/proc/meminfo), lowered to the cgroup v2 limit
    /// minus current use when the process runs under one. Nil when neither can be read.
    public static func availableBytes() -> Int? {
        var best: Int? = nil
        if let meminfo = readSmallFile("/proc/meminfo") {
            best = parseMemAvailable(meminfo)
        }
        if let maxText = readSmallFile("/sys/fs/cgroup/memory.max"), let limit = Int(maxText.trimmingSpacesAndNewlines) {
            let current = readSmallFile("/sys/fs/cgroup/memory.current").flatMap { Int($0.trimmingSpacesAndNewlines) } ?? 0
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
            let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
            return overflow ? Int.max : bytes
        }
        return nil
    }

    /// Throws a one-line ``MemoryLimitError`` when `bytes` (nil: more than `Int.max`) exceed the
    /// memory available now. Passes when the figure cannot be read (not Linux).
    public static func check(needed bytes: Int?, for what: String) throws(MemoryLimitError) {
        guard let available = availableBytes() else { return }
        guard let bytes, bytes <= available else {
            throw MemoryLimitError(what: what, neededBytes: bytes, availableBytes: available)
        }
    }

    /// `bytes` in GiB with two decimals, for messages.
    public static func gib(_ bytes: Int) -> String {
        let hundredths = Int((Double(bytes) / Double(1 << 30) * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) GiB"
    }

    /// A file of at most 64 KiB as text (the /proc and /sys figures), nil when it cannot be read.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 16 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A job that would not fit in the memory available now.
public struct MemoryLimitError: Error, Sendable, Hashable, CustomStringConvertible {
    public var what: String
    /// Bytes needed (nil: more than `Int.max`).
    public var neededBytes: Int?
    public var availableBytes: Int
    public var description: String {
        "\(what) needs \(neededBytes.map(SystemMemory.gib) ?? "more than 8 EiB") of memory, but only \(SystemMemory.gib(availableBytes)) is available"
    }
}

extension String {
    var trimmingSpacesAndNewlines: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
