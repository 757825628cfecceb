/// One rank's progress through its steps: what has been issued, what has completed, and whether
/// the next step may start. Every executor (in-process, simulator, MPI) drives its ranks with
/// this one type, so they all give steps the same meaning.
///
/// Memory is proportional to the steps in flight (issued, not yet completed), never to the
/// length of the program. The completion flags of up to 256 steps in flight are bits stored
/// inline (the counters and flags share the first cache line, so completing a step touches no
/// other memory); a wider window moves them to a heap array.
public struct RankProgress<Steps: IteratorProtocol<Step>> {
    // The counters (32-bit: step indices are, as in ``StepDependencies``), the inline
    // completion flags and the next step fill the first 112 bytes; the step iterator follows
    // (at byte 112 when its alignment is 8 or less), so that with the iterator's first 80 bytes,
    // where iterators keep what producing a step reads, everything issuing and completing a step
    // reads lies in the first three cache lines (``hotBytes``).
    /// Index of the next step to issue.
    @usableFromInline var _next32: Int32 = 0
    /// Every step below this index has completed.
    @usableFromInline var _prefix32: Int32 = 0
    /// Steps issued and not yet completed.
    @usableFromInline var _inFlight32: Int32 = 0
    /// 0: the next step is not fetched yet; 1: `_lookahead` holds it; 2: there is none.
    @usableFromInline var _state: UInt8 = 0
    /// The flags live in `_done` (the window outgrew the inline bits).
    @usableFromInline var _wide = false
    /// Completion flags of steps completedPrefix ..< nextIndex while the window fits 256 steps:
    /// bit (index mod 256).
    @usableFromInline var _bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var _lookahead = Step(kind: .send, peer: 0, offset: 0, count: 0)
    @usableFromInline var _steps: Steps
    /// Completion flags in a ring of power-of-two size once the window outgrew the bits (empty
    /// until then).
    @usableFromInline var _done: [Bool] = []

    @inlinable var _nextIndex: Int {
        get { Int(_next32) }
        set { _next32 = Int32(truncatingIfNeeded: newValue) }
    }
    @inlinable var _completedPrefix: Int {
        get { Int(_prefix32) }
        set { _prefix32 = Int32(truncatingIfNeeded: newValue) }
    }
    @inlinable var _inFlight: Int {
        get { Int(_inFlight32) }
        set { _inFlight32 = Int32(truncatingIfNeeded: newValue) }
    }

    /// The leading bytes of a `RankProgress` that issuing and completing steps read when the
    /// iterator keeps what producing a step reads in its first 80 bytes: for executors that
    /// prefetch a rank's progress.
    public static var hotBytes: Int {
        MemoryLayout<Self>.offset(of: \._steps)! + Swift.min(MemoryLayout<Steps>.size, 80)
    }

    @inlinable public var nextIndex: Int { _nextIndex }
    @inlinable public var completedPrefix: Int { _completedPrefix }
    @inlinable public var inFlight: Int { _inFlight }

    // Inlinable, so that an executor's specialised loop builds its progress without the
    // generic metadata look-up an unspecialised initialiser costs on every run.
    @inlinable
    public init(_ steps: Steps) {
        _steps = steps
    }

    /// Steps the inline bits can track.
    @usableFromInline static var _inlineWindow: Int { 256 }

    @inlinable @inline(__always)
    func _flag(_ index: Int) -> Bool {
        if !_wide {
            let b = index & 255
            let word = withUnsafeBytes(of: _bits) { $0.load(fromByteOffset: (b >> 6) &* 8, as: UInt64.self) }
            return (word >> UInt64(b & 63)) & 1 != 0
        }
        return _done[index & (_done.count - 1)]
    }

    @inlinable @inline(__always)
    mutating func _setFlag(_ index: Int, _ value: Bool) {
        if !_wide {
            let b = index & 255
            let mask: UInt64 = 1 << UInt64(b & 63)
            withUnsafeMutableBytes(of: &_bits) { raw in
                let o = (b >> 6) &* 8
                let word = raw.load(fromByteOffset: o, as: UInt64.self)
                raw.storeBytes(of: value ? word | mask : word & ~mask, toByteOffset: o, as: UInt64.self)
            }
        } else {
            _done[index & (_done.count - 1)] = value
        }
    }

    /// Fetches the next step into `_lookahead` (state 0 only).
    @inlinable @inline(__always)
    mutating func _fetch() {
        if let step = _steps.next() {
            _lookahead = step
            _state = 1
        } else {
            _state = 2
        }
    }

    /// The next step, if any, without issuing it.
    @inlinable
    public mutating func peek() -> Step? {
        if _state == 0 { _fetch() }
        return _state == 1 ? _lookahead : nil
    }

    /// Whether step `index` (already issued) has completed.
    /// The peer of the step this rank issues next, if its iterator has produced it (-1 when not):
    /// a hint for prefetching that reads the rank's counters and next step, never its iterator.
    @inlinable
    public var nextPeerHint: Int { _state == 1 ? _lookahead.peer : -1 }

    @inlinable
    public func isCompleted(_ index: Int) -> Bool {
        if index < _completedPrefix { return true }
        if index >= _nextIndex { return false }
        return _flag(index)
    }

    /// Whether dependency `d` (an index, or negative for none) has completed.
    @inlinable @inline(__always)
    func _satisfied(_ d: Int32) -> Bool {
        if d < 0 { return true }
        let index = Int(d)
        precondition(index < _nextIndex, "RankProgress: step \(_nextIndex) depends on step \(index), which is not earlier")
        return index < _completedPrefix || _flag(index)
    }

    /// Whether the next step exists and every step it depends on has completed.
    @inlinable @inline(__always)
    public mutating func nextIsReady() -> Bool {
        if _state == 0 { _fetch() }
        guard _state == 1 else { return false }
        let deps = _lookahead.dependencies
        if deps.fence && _completedPrefix < _nextIndex { return false }
        // Dependencies fill d0, d1, ... in order: none if d0 is empty.
        if deps._d0 < 0 { return true }
        return _satisfied(deps._d0) && _satisfied(deps._d1) && _satisfied(deps._d2) && _satisfied(deps._d3)
    }

    /// Issues the next step if it may start now, returning it with its index.
    @inlinable @inline(__always)
    public mutating func issueNext() -> (index: Int, step: Step)? {
        guard nextIsReady() else { return nil }
        _state = 0
        let index = _nextIndex
        precondition(index < Int(Int32.max), "RankProgress: more than 2^31 - 1 steps")
        if index - _completedPrefix >= (_wide ? _done.count : Self._inlineWindow) { _grow() }
        _setFlag(index, false)
        _nextIndex = index + 1
        _inFlight += 1
        return (index, _lookahead)
    }

    /// Marks issued step `index` as completed.
    @inlinable @inline(__always)
    public mutating func complete(_ index: Int) {
        precondition(index >= _completedPrefix && index < _nextIndex && !_flag(index),
                     "RankProgress: step \(index) completed twice or never issued")
        _setFlag(index, true)
        _inFlight -= 1
        if index == _completedPrefix {
            var p = index + 1
            while p < _nextIndex && _flag(p) { p += 1 }
            _completedPrefix = p
        }
    }

    /// All steps issued and completed.
    @inlinable
    public mutating func isFinished() -> Bool { _inFlight == 0 && peek() == nil }

    /// Doubles the window (moving the flags to the heap when they outgrow the inline bits).
    @usableFromInline
    mutating func _grow() {
        let oldCount = _wide ? _done.count : Self._inlineWindow
        var new = Array(repeating: false, count: oldCount * 2)
        for i in _completedPrefix..<_nextIndex { new[i & (new.count - 1)] = _flag(i) }
        _done = new
        _wide = true
    }
}
