import CollectiveFabric

/// Follows the chain of transfers that decided a run's time, from what an ``EngineObserver``
/// sees: each transfer was released either by the completion the engine was handling when it
/// started, or, when it waited for a link, by the transfer that held that link last (the
/// engine's FIFO link state, mirrored). The chain ends at the transfer that completes last.
/// ``ChromeTraceRecorder`` draws it; ``FinishWatcher`` names what gated the finish from it.
/// Memory: per transfer one ``Entry`` (up to `limit` transfers), per link a time and a holder.
public struct CriticalPath: Sendable {
    /// One transfer as the chain sees it.
    public struct Entry: Sendable {
        /// What released it: the transfer before it on a chain (-1: the start).
        public var previous: Int32
        /// The link it waited for (-1: none: it started when released).
        public var waitedLink: Int32
        public var source: Int32
        public var destination: Int32
        public var receiveStep: Int32
        public var lane: Int32
        public var start: Double
        public var linkEnd: Double
        public var complete: Double
    }

    /// Most transfers followed: beyond, the chain is dropped (``entries`` empty, ``truncated``).
    public let limit: Int
    public private(set) var entries: [Entry] = []
    public private(set) var truncated = false
    /// Transfers seen, numbered in start order; the one that completes last so far.
    public private(set) var transfersSeen = 0
    public private(set) var lastOrdinal = -1
    var lastComplete = -Double.infinity
    var ordinalOfSlot: [Int32] = []
    var cause: Int32 = -1
    var linkFreeAt: [Double]
    var linkHolder: [Int32]

    public init(fabric: FabricMap, limit: Int) {
        self.limit = limit
        linkFreeAt = [Double](repeating: 0, count: fabric.linkCount)
        linkHolder = [Int32](repeating: -1, count: fabric.linkCount)
    }

    /// The engine handles the completion of the transfer in `slot`.
    public mutating func completing(slot: Int) {
        cause = slot < ordinalOfSlot.count ? ordinalOfSlot[slot] : -1
    }

    /// Transfer `t` started over the `count` links of `links` (its route); returns its ordinal.
    public mutating func started(_ t: ObservedTransfer, links: UnsafeMutablePointer<Int>, count: Int) -> Int {
        let ordinal = transfersSeen
        transfersSeen += 1
        if t.slot >= ordinalOfSlot.count { ordinalOfSlot += [Int32](repeating: -1, count: t.slot + 1 - ordinalOfSlot.count + 64) }
        ordinalOfSlot[t.slot] = Int32(truncatingIfNeeded: ordinal)
        if t.completeSeconds > lastComplete { lastComplete = t.completeSeconds; lastOrdinal = ordinal }
        // What held it back: a link (the one free last, if it was free after the start) or the
        // event being handled. (The engine's link times are sums of its own terms; a femtosecond
        // is far above their rounding and far below any time it models.)
        var waited = -1
        if t.linkBeginSeconds > t.startSeconds + 1e-15 {
            var latest = -Double.infinity
            for k in 0..<count where linkFreeAt[links[k]] > latest { latest = linkFreeAt[links[k]]; waited = links[k] }
            if latest <= t.startSeconds + 1e-15 { waited = -1 }
        }
        if !truncated {
            if ordinal < limit {
                entries.append(Entry(previous: waited >= 0 ? linkHolder[waited] : cause, waitedLink: Int32(waited), source: Int32(t.sourceRank),
                                     destination: Int32(t.destinationRank), receiveStep: Int32(truncatingIfNeeded: t.receiveStep),
                                     lane: Int32(truncatingIfNeeded: t.lane), start: t.startSeconds, linkEnd: t.linkEndSeconds, complete: t.completeSeconds))
            } else {
                truncated = true
                entries = []
            }
        }
        for k in 0..<count {
            linkFreeAt[links[k]] = t.linkEndSeconds
            linkHolder[links[k]] = Int32(truncatingIfNeeded: ordinal)
        }
        return ordinal
    }

    /// The chain's transfers (ordinals into ``entries``), first to last; nil when truncated.
    public func path() -> [Int]? {
        guard !truncated else { return nil }
        var ids: [Int] = []
        var o = lastOrdinal
        while o >= 0 { ids.append(o); o = Int(entries[o].previous) }
        return ids.reversed()
    }
}
