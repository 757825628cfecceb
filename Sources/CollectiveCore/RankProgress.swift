/// One rank's progress through its steps: what has been issued, what has completed, and whether
/// the next step may start. Every executor (in-process, simulator, MPI) drives its ranks with
/// this one type, so they all give steps the same meaning.
///
/// Memory is proportional to the steps in flight (issued, not yet completed), never to the
/// length of the program. The completion flags of up to 256 steps in flight are bits stored
/// inline (the counters and flags share the first cache line, so completing a step touches no
/// other memory); a wider window moves them to a heap array.
public struct RankProgress<Steps: IteratorProtocol<Step>> {
    /// Index of the next step to issue.
    @usableFromInline var _nextIndex = 0
    /// Every step below this index has completed.
    @usableFromInline var _completedPrefix = 0
    /// Steps issued and not yet completed.
    @usableFromInline var _inFlight = 0
    /// Completion flags of steps completedPrefix ..< nextIndex while the window fits 256 steps:
    /// bit (index mod 256).
    @usableFromInline var _bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var _exhausted = false
    @usableFromInline var _lookahead: Step?
    /// Completion flags in a ring of power-of-two size once the window outgrew the bits (empty
    /// until then).
    @usableFromInline var _done: [Bool] = []
    @usableFromInline var _steps: Steps

    @inlinable public var nextIndex: Int { _nextIndex }
    @inlinable public var completedPrefix: Int { _completedPrefix }
    @inlinable public var inFlight: Int { _inFlight }

    public init(_ steps: Steps) {
        _steps = steps
    }

    /// Steps the inline bits can track.
    @usableFromInline static var _inlineWindow: Int { 256 }

    @inlinable @inline(__always)
    func _flag(_ index: Int) -> Bool {
        if _done.isEmpty {
            let b = index & 255
            let word: UInt64
            switch b >> 6 {
            case 0: word = _bits.0
            case 1: word = _bits.1
            case 2: word = _bits.2
            default: word = _bits.3
            }
            return word & (1 << UInt64(b & 63)) != 0
        }
        return _done[index & (_done.count - 1)]
    }

    @inlinable @inline(__always)
    mutating func _setFlag(_ index: Int, _ value: Bool) {
        if _done.isEmpty {
            let b = index & 255
            let mask: UInt64 = 1 << UInt64(b & 63)
            switch b >> 6 {
            case 0: if value { _bits.0 |= mask } else { _bits.0 &= ~mask }
            case 1: if value { _bits.1 |= mask } else { _bits.1 &= ~mask }
            case 2: if value { _bits.2 |= mask } else { _bits.2 &= ~mask }
            default: if value { _bits.3 |= mask } else { _bits.3 &= ~mask }
            }
        } else {
            _done[index & (_done.count - 1)] = value
        }
    }

    /// The next step, if any, without issuing it.
    @inlinable
    public mutating func peek() -> Step? {
        if _lookahead == nil && !_exhausted {
            _lookahead = _steps.next()
            if _lookahead == nil { _exhausted = true }
        }
        return _lookahead
    }

    /// Whether step `index` (already issued) has completed.
    @inlinable
    public func isCompleted(_ index: Int) -> Bool {
        if index < _completedPrefix { return true }
        if index >= _nextIndex { return false }
        return _flag(index)
    }

    /// Whether the next step exists and every step it depends on has completed.
    @inlinable
    public mutating func nextIsReady() -> Bool {
        guard let step = peek() else { return false }
        if step.dependencies.fence && _completedPrefix < _nextIndex { return false }
        for d in step.dependencies {
            precondition(d < _nextIndex, "RankProgress: step \(_nextIndex) depends on step \(d), which is not earlier")
            if !isCompleted(d) { return false }
        }
        return true
    }

    /// Issues the next step if it may start now, returning it with its index.
    @inlinable
    public mutating func issueNext() -> (index: Int, step: Step)? {
        guard nextIsReady(), let step = _lookahead else { return nil }
        _lookahead = nil
        let index = _nextIndex
        if index - _completedPrefix >= (_done.isEmpty ? Self._inlineWindow : _done.count) { _grow() }
        _setFlag(index, false)
        _nextIndex += 1
        _inFlight += 1
        return (index, step)
    }

    /// Marks issued step `index` as completed.
    @inlinable
    public mutating func complete(_ index: Int) {
        precondition(index >= _completedPrefix && index < _nextIndex && !_flag(index),
                     "RankProgress: step \(index) completed twice or never issued")
        _setFlag(index, true)
        _inFlight -= 1
        while _completedPrefix < _nextIndex && _flag(_completedPrefix) {
            _completedPrefix += 1
        }
    }

    /// All steps issued and completed.
    @inlinable
    public mutating func isFinished() -> Bool { _inFlight == 0 && peek() == nil }

    /// Doubles the window (moving the flags to the heap when they outgrow the inline bits).
    @usableFromInline
    mutating func _grow() {
        let oldCount = _done.isEmpty ? Self._inlineWindow : _done.count
        var new = Array(repeating: false, count: oldCount * 2)
        for i in _completedPrefix..<_nextIndex { new[i & (new.count - 1)] = _flag(i) }
        _done = new
    }
}
