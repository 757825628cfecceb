import CollectiveFabric

/// Watches a run for the transfer that completes last: the end of the critical path, what gated
/// the finish. It passes every call on to `inner` (a progress line, a trace), so it can watch a
/// run something else watches too.
public final class FinishWatcher: EngineObserver, @unchecked Sendable {
    public let inner: (any EngineObserver)?
    /// The transfer that completes last so far (the first of several that complete together).
    public private(set) var last: ObservedTransfer?

    public init(inner: (any EngineObserver)? = nil) { self.inner = inner }

    public func transferStarted(_ transfer: ObservedTransfer) {
        if last == nil || transfer.completeSeconds > last!.completeSeconds { last = transfer }
        inner?.transferStarted(transfer)
    }

    public func transferCompleting(slot: Int, atSeconds seconds: Double) {
        inner?.transferCompleting(slot: slot, atSeconds: seconds)
    }

    /// `rank 5 step 13 (receive from rank 4, lane 2) over node 0 nic 5 tx (at 50%), ending at
    /// 1523.40 us`: the last transfer and the slowest link of its path on `fabric` (with its rate
    /// under the fabric's faults), and the late or slow rank among its two ends. Nil before a
    /// transfer was seen.
    public func gate(on fabric: FabricMap) -> String? {
        guard let t = last else { return nil }
        var parts = ["rank \(t.destinationRank) step \(t.receiveStep) (receive from rank \(t.sourceRank)\(t.lane > 0 ? ", lane \(t.lane)" : ""))"]
        let links = UnsafeMutablePointer<Int>.allocate(capacity: FabricMap.maxPathLinks)
        defer { links.deallocate() }
        let route = fabric.route(from: t.sourceRank, to: t.destinationRank, links: links)
        var slowest = -1
        for k in 0..<route.count where slowest < 0 || fabric.linkBytesPerSecond(links[k]) < fabric.linkBytesPerSecond(slowest) { slowest = links[k] }
        if slowest >= 0 {
            let factor = fabric.faults?.linkFactor[slowest] ?? 1
            parts.append("over \(fabric.linkName(slowest))" + (factor < 1 ? " (at \(PhysicalUnit.shortest((factor * 1000).rounded() / 10))%)" : ""))
        }
        if let f = fabric.faults {
            for r in [t.sourceRank, t.destinationRank] where r < fabric.rankCount {
                if f.entrySeconds(r) > 0 { parts.append("rank \(r) entered \(PhysicalUnit.formatLatency(f.entrySeconds(r) * 1e6)) late") }
                if f.slowdown(r) > 1 { parts.append("rank \(r) runs \(PhysicalUnit.shortest(f.slowdown(r)))x slower") }
            }
        }
        return parts.joined(separator: ", ")
    }
}
