import Foundation

/// A Chrome / Perfetto trace as Perfetto reads it: the trace-event objects and the other
/// top-level keys, with the checks every trace of the package must pass (``schemaProblems``,
/// ``nestingProblems``). Shared by the tests of simulated traces (CollectiveSim), measured ones
/// (CollectiveCore, CollectiveMPI) and the command line's.
public struct LoadedTrace {
    public var events: [[String: Any]]
    public var otherData: [String: Any]

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        guard let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw Malformed(description: "the trace is not a JSON object")
        }
        guard let events = root["traceEvents"] as? [[String: Any]] else {
            throw Malformed(description: "the trace has no traceEvents array of objects")
        }
        self.events = events
        otherData = root["otherData"] as? [String: Any] ?? [:]
    }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw Malformed(description: "cannot read \(path)") }
        try self.init(String(decoding: data, as: UTF8.self))
    }

    public func slices(pid: Int) -> [[String: Any]] { events.filter { $0["ph"] as? String == "X" && $0["pid"] as? Int == pid } }

    /// The slices of one process, as (tid, name, begin, end) in microseconds.
    public func spans(pid: Int) -> [(tid: Int, name: String, begin: Double, end: Double, args: [String: Any])] {
        slices(pid: pid).map { e in
            let ts = e["ts"] as! Double, dur = e["dur"] as! Double
            return (e["tid"] as! Int, e["name"] as! String, ts, ts + dur, e["args"] as? [String: Any] ?? [:])
        }
    }

    /// The metadata value `key` of event `name` for (pid, tid).
    public func metadata(_ name: String, pid: Int, tid: Int = 0, key: String = "name") -> Any? {
        events.first { $0["ph"] as? String == "M" && $0["name"] as? String == name && $0["pid"] as? Int == pid && ($0["tid"] as? Int ?? 0) == tid }?["args"]
            .flatMap { ($0 as? [String: Any])?[key] }
    }

    /// Processes with slices.
    public var slicePids: Set<Int> { Set(events.filter { $0["ph"] as? String == "X" }.compactMap { $0["pid"] as? Int }) }

    /// What breaks the trace-event fields Perfetto reads (empty: none): every event has `ph`
    /// (X, M or C), an integer `pid` and a string `name`; a slice (X) an integer `tid` and
    /// `ts`, `dur` >= 0; a counter (C) a `ts` and numeric arguments in [0, 100] for `busy %`;
    /// metadata (M) an `args` object; and every process and every track with slices is named.
    public var schemaProblems: [String] {
        var problems: [String] = []
        var tracks = Set<[Int]>()
        for (k, e) in events.enumerated() {
            guard let ph = e["ph"] as? String, ["X", "M", "C"].contains(ph) else { problems.append("event \(k): ph \(e["ph"] ?? "missing")"); continue }
            guard let pid = e["pid"] as? Int, e["name"] is String else { problems.append("event \(k): no integer pid or string name"); continue }
            switch ph {
            case "X":
                guard let tid = e["tid"] as? Int, let ts = e["ts"] as? Double, let dur = e["dur"] as? Double, ts >= 0, dur >= 0 else {
                    problems.append("event \(k): a slice without tid, ts >= 0 and dur >= 0")
                    continue
                }
                tracks.insert([pid, tid])
            case "C":
                guard e["ts"] is Double, let args = e["args"] as? [String: Any], !args.isEmpty, args.values.allSatisfy({ $0 is Double }) else {
                    problems.append("event \(k): a counter without ts or numeric args")
                    continue
                }
                if let busy = args["busy %"] as? Double, !(0...100).contains(busy) { problems.append("event \(k): busy % \(busy)") }
            default:
                if !(e["args"] is [String: Any]) { problems.append("event \(k): metadata without args") }
            }
        }
        for pid in Set(tracks.map { $0[0] }) where !(metadata("process_name", pid: pid) is String) { problems.append("process \(pid) has no name") }
        for t in tracks where !(metadata("thread_name", pid: t[0], tid: t[1]) is String) { problems.append("track \(t) has no name") }
        return problems
    }

    /// Slices on one track that neither nest nor follow each other, as Perfetto needs (empty: none).
    public var nestingProblems: [String] {
        var problems: [String] = []
        for pid in slicePids.sorted() {
            var byTrack: [Int: [(begin: Double, end: Double)]] = [:]
            for s in spans(pid: pid) { byTrack[s.tid, default: []].append((s.begin, s.end)) }
            for (tid, list) in byTrack {
                var open: [Double] = []
                for s in list.sorted(by: { $0.begin < $1.begin || ($0.begin == $1.begin && $0.end > $1.end) }) {
                    while let top = open.last, top <= s.begin + 1e-9 { open.removeLast() }
                    if let top = open.last, s.end > top + 1e-9 { problems.append("pid \(pid) tid \(tid): a slice crosses its parent's end") }
                    open.append(s.end)
                }
            }
        }
        return problems
    }
}
