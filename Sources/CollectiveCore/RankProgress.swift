/// One rank's progress through its steps: what has been issued, what has completed, and whether
/// the next step may start. Every executor (in-process, simulator, MPI) drives its ranks with
/// this one type, so they all give steps the same meaning.
///
/// Memory is proportional to the steps in flight (issued, not yet completed), never to the
/// length of the program.
public struct RankProgress<Steps: IteratorProtocol<Step>> {
    @usableFromInline var _steps: Steps
    @usableFromInline var _lookahead: Step?
    @usableFromInline var _exhausted = false
    /// Index of the next step to issue.
    @usableFromInline var _nextIndex = 0
    @inlinable public var nextIndex: Int { _nextIndex }
    /// Every step below this index has completed.
    @usableFromInline var _completedPrefix = 0
    @inlinable public var completedPrefix: Int { _completedPrefix }
    /// Steps issued and not yet completed.
    @usableFromInline var _inFlight = 0
    @inlinable public var inFlight: Int { _inFlight }
    /// Completion flags of steps completedPrefix ..< nextIndex, in a ring of power-of-two size.
    @usableFromInline var _done: [Bool] = Array(repeating: false, count: 16)

    public init(_ steps: Steps) {
        _steps = steps
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
        if index < completedPrefix { return true }
        if index >= nextIndex { return false }
        return _done[index & (_done.count - 1)]
    }

    /// Whether the next step exists and every step it depends on has completed.
    @inlinable
    public mutating func nextIsReady() -> Bool {
        guard let step = peek() else { return false }
        if step.dependencies.fence && completedPrefix < nextIndex { return false }
        for d in step.dependencies {
            precondition(d < nextIndex, "RankProgress: step \(nextIndex) depends on step \(d), which is not earlier")
            if !isCompleted(d) { return false }
        }
        return true
    }

    /// Issues the next step if it may start now, returning it with its index.
    @inlinable
    public mutating func issueNext() -> (index: Int, step: Step)? {
        guard nextIsReady(), let step = _lookahead else { return nil }
        _lookahead = nil
        let index = nextIndex
        if index - completedPrefix >= _done.count { _grow() }
        _done[index & (_done.count - 1)] = false
        _nextIndex += 1
        _inFlight += 1
        return (index, step)
    }

    /// Marks issued step `index` as completed.
    @inlinable
    public mutating func complete(_ index: Int) {
        precondition(index >= completedPrefix && index < nextIndex && !_done[index & (_done.count - 1)],
                     "RankProgress: step \(index) completed twice or never issued")
        _done[index & (_done.count - 1)] = true
        _inFlight -= 1
        while completedPrefix < nextIndex && _done[completedPrefix & (_done.count - 1)] {
            _completedPrefix += 1
        }
    }

    /// All steps issued and completed.
    @inlinable
    public mutating func isFinished() -> Bool { inFlight == 0 && peek() == nil }

    @usableFromInline
    mutating func _grow() {
        let old = _done
        var new = Array(repeating: false, count: old.count * 2)
        for i in completedPrefix..<nextIndex { new[i & (new.count - 1)] = old[i & (old.count - 1)] }
        _done = new
    }
}
