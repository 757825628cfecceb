/// The times a CPU node's memory is taken by same-node transfers: busy intervals in time order,
/// none overlapping, and the earliest gap a new transfer fits in.
///
/// The event engine times a transfer when it is issued, holding each link of its path from the
/// later of the data's arrival there and the link's free time (first come, first served in the
/// order transfers are issued). A node's memory is not such a link: every rank of the node copies
/// through it, on its own core, and a rank that posts many messages at once (NCCL's ring posts a
/// channel's sends up to its window) reserves the memory for all of them at the times their
/// sender's link lets them through, spaced out. Served in issue order, the next rank's messages
/// would then wait behind the first rank's last reservation while the memory stands idle in the
/// gaps, and the two ranks would take turns a window at a time where the real transport copies
/// both ranks' messages at once. The calendar serves the memory in the order data reaches it
/// instead: a transfer takes the earliest gap, from the time its data reaches the memory, that
/// holds it whole.
///
/// Intervals that end by the engine's current time are dropped as it moves on, so a node holds
/// at most as many intervals as its transfers in flight.
public struct MemoryCalendar: Sendable {
    /// Busy intervals by node, each in increasing order of start (the first `head[node]` spent).
    @usableFromInline var busy: [[Interval]]
    @usableFromInline var head: [Int]

    /// One reservation: the memory is busy from `start` until `end`, seconds.
    public struct Interval: Sendable, Hashable {
        public var start: Double
        public var end: Double
        @inlinable public init(start: Double, end: Double) {
            self.start = start
            self.end = end
        }
    }

    /// A calendar for `nodes` memories, all free.
    @inlinable public init(nodes: Int) {
        busy = Array(repeating: [], count: Swift.max(0, nodes))
        head = Array(repeating: 0, count: Swift.max(0, nodes))
    }

    /// Reserves `node`'s memory for `hold` seconds, from the earliest time at or after
    /// `notBefore` it is free for that long, and returns that start. Intervals that end at or
    /// before `now` (the engine's time, which never goes back) are forgotten first.
    @inlinable
    public mutating func reserve(node: Int, notBefore: Double, hold: Double, now: Double) -> Double {
        var first = head[node]
        let count = busy[node].count
        while first < count && busy[node][first].end <= now { first += 1 }
        if first == count {
            busy[node].removeAll(keepingCapacity: true)
            first = 0
        } else if first > 32 && 2 * first > count {
            busy[node].removeFirst(first)
            first = 0
        }
        head[node] = first
        var start = notBefore
        var at = busy[node].count
        for j in first..<busy[node].count {
            let interval = busy[node][j]
            if interval.end <= start { continue }
            if interval.start >= start + hold { at = j; break }
            start = interval.end
        }
        busy[node].insert(Interval(start: start, end: start + hold), at: at)
        return start
    }

    /// `node`'s reservations still held: those that end after the last `now` given to
    /// ``reserve(node:notBefore:hold:now:)``, in increasing order of start.
    public func intervals(node: Int) -> ArraySlice<Interval> { busy[node][head[node]...] }
}
