/// A set of element indices kept as sorted, disjoint, non-adjacent ranges.
///
/// The runners use it to play a schedule out of place without first copying the input into
/// the output: the output holds the schedule's buffer only on the ranges some step has already
/// written; everywhere else the buffer's value is still the input's. So a send reads the input
/// directly, the first reduction into a range reads the input and writes the output in one pass,
/// and whatever no step touched is copied at the end.
public struct ElementRangeSet: Sendable, Hashable {
    /// The ranges, sorted, disjoint and non-adjacent.
    public private(set) var ranges: [Range<Int>] = []

    public init() {}

    public mutating func removeAll() { ranges.removeAll(keepingCapacity: true) }

    /// Index of the first range whose upper bound is at least `x`.
    func _firstEndingAtOrAfter(_ x: Int) -> Int {
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Adds every index of `r`.
    public mutating func insert(_ r: Range<Int>) {
        guard !r.isEmpty else { return }
        let i = _firstEndingAtOrAfter(r.lowerBound)
        var j = i
        var lower = r.lowerBound
        var upper = r.upperBound
        while j < ranges.count && ranges[j].lowerBound <= r.upperBound {
            lower = Swift.min(lower, ranges[j].lowerBound)
            upper = Swift.max(upper, ranges[j].upperBound)
            j += 1
        }
        // The usual cases (a new range, or one range widened) without the generic replacement.
        if j == ranges.count && i == j {
            ranges.append(lower..<upper)
        } else if j == i {
            ranges.insert(lower..<upper, at: i)
        } else if j == i + 1 {
            ranges[i] = lower..<upper
        } else {
            ranges.replaceSubrange(i..<j, with: CollectionOfOne(lower..<upper))
        }
    }

    /// Calls `body` on the consecutive pieces of `r`, in order, each wholly inside the set
    /// (`true`) or wholly outside it (`false`).
    @inline(__always)
    public func forEachPiece(of r: Range<Int>, _ body: (Range<Int>, _ contained: Bool) -> Void) {
        guard !r.isEmpty else { return }
        var cursor = r.lowerBound
        var i = _firstEndingAtOrAfter(r.lowerBound + 1)
        while cursor < r.upperBound {
            if i < ranges.count && ranges[i].lowerBound <= cursor {
                let end = Swift.min(ranges[i].upperBound, r.upperBound)
                body(cursor..<end, true)
                cursor = end
                i += 1
            } else {
                let end = i < ranges.count ? Swift.min(ranges[i].lowerBound, r.upperBound) : r.upperBound
                body(cursor..<end, false)
                cursor = end
            }
        }
    }

    /// Whether every index of `r` is in the set.
    public func contains(_ r: Range<Int>) -> Bool {
        guard !r.isEmpty else { return true }
        let i = _firstEndingAtOrAfter(r.lowerBound + 1)
        return i < ranges.count && ranges[i].lowerBound <= r.lowerBound && ranges[i].upperBound >= r.upperBound
    }

    /// Whether no index of `r` is in the set.
    public func isDisjoint(with r: Range<Int>) -> Bool {
        guard !r.isEmpty else { return true }
        let i = _firstEndingAtOrAfter(r.lowerBound + 1)
        return i >= ranges.count || ranges[i].lowerBound >= r.upperBound
    }
}

// MARK: - Out-of-place runs

extension ElementRangeSet {
    /// Where a send of `range` reads from in an out-of-place run, with `self` the ranges some
    /// step has written: the input (`false`) while no step has written any of `range`; the
    /// output (`true`) otherwise, after `copyInput` has filled the pieces of `range` not yet
    /// written (which are then marked written).
    public mutating func sendReadsOutput(_ range: Range<Int>, copyInput: (Range<Int>) -> Void) -> Bool {
        if let whole = coverage(of: range) { return whole }
        forEachPiece(of: range) { piece, written in if !written { copyInput(piece) } }
        insert(range)
        return true
    }

    /// Whether `range` is written in whole (`true`), not at all (`false`), or in part (nil). A
    /// runner's hot path asks this first and passes a closure (``forEachPiece(of:_:)``,
    /// ``sendReadsOutput(_:copyInput:)``) only for a range written in part: forming one around
    /// a runner's method takes a retain and a release of the runner each time.
    @inline(__always)
    public func coverage(of range: Range<Int>) -> Bool? {
        contains(range) ? true : isDisjoint(with: range) ? false : nil
    }

    /// At the end of an out-of-place run: `copyInput` over every piece of `0..<count` that no
    /// step wrote (those still hold the input's value).
    public func copyUnwritten(count: Int, copyInput: (Range<Int>) -> Void) {
        forEachPiece(of: 0..<count) { piece, written in if !written { copyInput(piece) } }
    }
}
