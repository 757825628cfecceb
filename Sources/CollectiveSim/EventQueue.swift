/// A 4-ary min-heap of events keyed by (time, sequence), in one flat, cache-line-aligned buffer.
///
/// An event is one 128-bit integer: the time's bit pattern (non-negative doubles order as
/// unsigned integers) in the high 64 bits, then a 36-bit sequence number, then a 28-bit payload.
/// Ordering events is a single integer comparison, a node's four children fill one 64-byte cache
/// line, and the sequence number, assigned at push time, breaks ties between events of equal
/// time in the order they were scheduled: the engine is deterministic, the same input pops the
/// same events in the same order on every run and machine.
public struct EventQueue: ~Copyable {
    /// Largest payload (2^28 - 1).
    public static let maxPayload = (1 << 28) - 1
    /// Events one queue can order (2^36); beyond, pushing traps rather than reorder ties.
    public static let maxEvents: UInt64 = 1 << 36

    @usableFromInline var _storage: UnsafeMutableRawPointer
    /// Entry i lives at `_slots[i + 3]`, so the children 4i+1 ... 4i+4 sit at 4i+4 ... 4i+7:
    /// one aligned cache line.
    @usableFromInline var _slots: UnsafeMutablePointer<UInt128>
    @usableFromInline var _capacity: Int
    @usableFromInline var _count = 0
    @usableFromInline var _nextSequence: UInt64 = 0

    public init(capacity: Int = 1024) {
        _capacity = Swift.max(16, capacity)
        (_storage, _slots) = Self._allocate(_capacity)
    }

    deinit { _storage.deallocate() }

    static func _allocate(_ capacity: Int) -> (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt128>) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: (capacity + 4) * 16, alignment: 64)
        return (raw, raw.bindMemory(to: UInt128.self, capacity: capacity + 4))
    }

    @inlinable public var count: Int { _count }
    @inlinable public var isEmpty: Bool { _count == 0 }
    /// Events pushed so far.
    @inlinable public var pushed: UInt64 { _nextSequence }

    /// Schedules `payload` (0 ... ``maxPayload``) at `time` (>= 0, finite).
    @inlinable
    public mutating func push(time: Double, payload: Int) {
        precondition(payload >= 0 && payload <= Self.maxPayload, "EventQueue: payload \(payload) out of range")
        precondition(_nextSequence < Self.maxEvents, "EventQueue: more than 2^36 events")
        assert(time >= 0 && time.isFinite, "EventQueue: time \(time) must be finite and non-negative")
        if _count == _capacity { _grow() }
        let key = UInt128(time.bitPattern) << 64 | UInt128(_nextSequence) << 28 | UInt128(payload)
        _nextSequence &+= 1
        let slots = _slots + 3
        var i = _count
        _count += 1
        while i > 0 {
            let parent = (i - 1) >> 2
            let p = slots[parent]
            if key >= p { break }
            slots[i] = p
            i = parent
        }
        slots[i] = key
    }

    /// Removes and returns the earliest event.
    @inlinable
    public mutating func pop() -> (time: Double, payload: Int)? {
        guard _count > 0 else { return nil }
        let slots = _slots + 3
        let top = slots[0]
        _count -= 1
        let n = _count
        if n > 0 {
            let last = slots[n]
            var i = 0
            while true {
                let first = 4 * i + 1
                if first >= n { break }
                var c = first
                var k = slots[first]
                if first + 3 < n {
                    let k1 = slots[first + 1], k2 = slots[first + 2], k3 = slots[first + 3]
                    let a = k1 < k ? first + 1 : first
                    let ka = k1 < k ? k1 : k
                    let b = k3 < k2 ? first + 3 : first + 2
                    let kb = k3 < k2 ? k3 : k2
                    c = kb < ka ? b : a
                    k = kb < ka ? kb : ka
                } else {
                    var j = first + 1
                    while j < n {
                        let kj = slots[j]
                        if kj < k { k = kj; c = j }
                        j += 1
                    }
                }
                if k >= last { break }
                slots[i] = k
                i = c
            }
            slots[i] = last
        }
        return (Double(bitPattern: UInt64(truncatingIfNeeded: top >> 64)), Int(truncatingIfNeeded: top & UInt128(Self.maxPayload)))
    }

    /// Payload of the earliest event (the next `pop`), if any.
    @inlinable
    public var firstPayload: Int? {
        _count > 0 ? Int(truncatingIfNeeded: _slots[3] & UInt128(Self.maxPayload)) : nil
    }

    /// Payload of the second earliest event (the root's smallest child), if any: with
    /// ``firstPayload``, what a caller may prefetch for the next two pops.
    @inlinable
    public var secondPayload: Int? {
        let slots = _slots + 3
        let n = _count
        guard n > 1 else { return nil }
        var k = slots[1]
        var j = 2
        while j < Swift.min(n, 5) {
            let kj = slots[j]
            if kj < k { k = kj }
            j += 1
        }
        return Int(truncatingIfNeeded: k & UInt128(Self.maxPayload))
    }

    @usableFromInline
    mutating func _grow() {
        let (raw, slots) = Self._allocate(_capacity * 2)
        (slots + 3).moveInitialize(from: _slots + 3, count: _count)
        _storage.deallocate()
        _storage = raw
        _slots = slots
        _capacity *= 2
    }
}
