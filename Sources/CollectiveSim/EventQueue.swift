/// A 4-ary min-heap of events keyed by (time, sequence), in one flat buffer.
///
/// Times are non-negative doubles, whose bit patterns order as unsigned integers, so the key is
/// one 128-bit integer `timeBits << 64 | sequence`: a single comparison, which the compiler turns
/// into branch-free selects when sifting. The sequence number is assigned at push time and
/// breaks ties between events of equal time in the order they were scheduled, so the engine is
/// deterministic: the same input pops the same events in the same order on every run and machine.
public struct EventQueue: ~Copyable {
    @usableFromInline
    struct Entry {
        @usableFromInline var key: UInt128
        @usableFromInline var payload: Int
        @inlinable init(key: UInt128, payload: Int) {
            self.key = key
            self.payload = payload
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

    /// Schedules `payload` at `time` (>= 0, finite).
    @inlinable
    public mutating func push(time: Double, payload: Int) {
        assert(time >= 0 && time.isFinite, "EventQueue: time \(time) must be finite and non-negative")
        if _count == _capacity { _grow() }
        let key = UInt128(time.bitPattern) << 64 | UInt128(_nextSequence)
        _nextSequence &+= 1
        var i = _count
        _count += 1
        while i > 0 {
            let parent = (i - 1) >> 2
            let p = _entries[parent]
            if key >= p.key { break }
            _entries[i] = p
            i = parent
        }
        _entries[i] = Entry(key: key, payload: payload)
    }

    /// Removes and returns the earliest event.
    @inlinable
    public mutating func pop() -> (time: Double, payload: Int)? {
        guard _count > 0 else { return nil }
        let top = _entries[0]
        _count -= 1
        let n = _count
        if n > 0 {
            let last = _entries[n]
            var i = 0
            while true {
                let first = 4 * i + 1
                if first >= n { break }
                var c = first
                var k = _entries[first].key
                if first + 3 < n {
                    // Four children: branch-free minimum.
                    let k1 = _entries[first + 1].key, k2 = _entries[first + 2].key, k3 = _entries[first + 3].key
                    let a = k1 < k ? first + 1 : first
                    let ka = k1 < k ? k1 : k
                    let b = k3 < k2 ? first + 3 : first + 2
                    let kb = k3 < k2 ? k3 : k2
                    c = kb < ka ? b : a
                    k = kb < ka ? kb : ka
                } else {
                    var j = first + 1
                    while j < n {
                        let kj = _entries[j].key
                        if kj < k { k = kj; c = j }
                        j += 1
                    }
                }
                if k >= last.key { break }
                _entries[i] = _entries[c]
                i = c
            }
            _entries[i] = last
        }
        return (Double(bitPattern: UInt64(truncatingIfNeeded: top.key >> 64)), top.payload)
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
