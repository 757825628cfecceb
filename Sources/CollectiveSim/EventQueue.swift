/// A binary min-heap of events keyed by (time, sequence), in one flat buffer.
///
/// The sequence number is assigned at push time and breaks ties between events of equal time in
/// the order they were scheduled, so the engine is deterministic: the same input pops the same
/// events in the same order on every run and machine.
public struct EventQueue: ~Copyable {
    @usableFromInline
    struct Entry {
        @usableFromInline var time: Double
        @usableFromInline var sequence: UInt64
        @usableFromInline var payload: Int
        @inlinable init(time: Double, sequence: UInt64, payload: Int) {
            self.time = time
            self.sequence = sequence
            self.payload = payload
        }
        @inlinable func precedes(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && sequence < other.sequence)
        }
    }

    @usableFromInline var _entries: UnsafeMutablePointer<Entry>
    @usableFromInline var _capacity: Int
    @usableFromInline var _count = 0
    @usableFromInline var _nextSequence: UInt64 = 0

    public init(capacity: Int = 1024) {
        _capacity = Swift.max(16, capacity)
        _entries = .allocate(capacity: _capacity)
    }

    deinit { _entries.deallocate() }

    @inlinable public var count: Int { _count }
    @inlinable public var isEmpty: Bool { _count == 0 }
    /// Events pushed so far.
    @inlinable public var pushed: UInt64 { _nextSequence }

    /// Schedules `payload` at `time`.
    @inlinable
    public mutating func push(time: Double, payload: Int) {
        if _count == _capacity { _grow() }
        let e = Entry(time: time, sequence: _nextSequence, payload: payload)
        _nextSequence &+= 1
        var i = _count
        _count += 1
        while i > 0 {
            let parent = (i - 1) >> 1
            let p = _entries[parent]
            if !e.precedes(p) { break }
            _entries[i] = p
            i = parent
        }
        _entries[i] = e
    }

    /// Removes and returns the earliest event.
    @inlinable
    public mutating func pop() -> (time: Double, payload: Int)? {
        guard _count > 0 else { return nil }
        let top = _entries[0]
        _count -= 1
        if _count > 0 {
            let last = _entries[_count]
            var i = 0
            let n = _count
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var c = l
                let r = l + 1
                if r < n && _entries[r].precedes(_entries[l]) { c = r }
                if !_entries[c].precedes(last) { break }
                _entries[i] = _entries[c]
                i = c
            }
            _entries[i] = last
        }
        return (top.time, top.payload)
    }

    @usableFromInline
    mutating func _grow() {
        let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: _capacity * 2)
        bigger.moveInitialize(from: _entries, count: _count)
        _entries.deallocate()
        _entries = bigger
        _capacity *= 2
    }
}
