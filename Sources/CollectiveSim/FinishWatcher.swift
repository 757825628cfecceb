import CollectiveFabric

/// Watches a run for what gated its finish: the critical path (``CriticalPath``), the chain of
/// transfers that ends with the one completing last. It passes every call on to `inner` (a
/// progress line), so it can watch a run something else watches too.
public final class FinishWatcher: EngineObserver, @unchecked Sendable {
    // @unchecked: used by the one thread that runs the engine.
    public let inner: (any EngineObserver)?
    public let fabric: FabricMap
    public private(set) var critical: CriticalPath
    let path = UnsafeMutablePointer<Int>.allocate(capacity: FabricMap.maxPathLinks)

    /// Follows up to `limit` transfers' chain (48 bytes each); beyond, ``gate()`` names the last
    /// transfer alone.
    public init(fabric: FabricMap, inner: (any EngineObserver)? = nil, limit: Int = 1_000_000) {
        self.fabric = fabric
        self.inner = inner
        critical = CriticalPath(fabric: fabric, limit: limit)
    }

    deinit { path.deallocate() }

    public func transferStarted(_ transfer: ObservedTransfer) {
        let route = fabric.route(from: transfer.sourceRank, to: transfer.destinationRank, links: path)
        _ = critical.started(transfer, links: path, count: route.count)
        inner?.transferStarted(transfer)
    }

    public func transferCompleting(slot: Int, atSeconds seconds: Double) {
        critical.completing(slot: slot)
        inner?.transferCompleting(slot: slot, atSeconds: seconds)
    }

    /// `critical path of 28 transfers, ending at rank 3 step 27 (receive from rank 2); its slowest
    /// link node 3 nic 0 rx (at 50%) carried 14 of them; rank 5 entered 20us late`: where the
    /// chain ends, the slowest link its transfers crossed (its rate under the fabric's faults) and
    /// how many crossed it, the links it waited for, and the late or slow ranks on it. Nil before a
    /// transfer was seen, or when the chain had more than `limit` transfers.
    public func gate() -> String? {
        guard let ids = critical.path(), let lastID = ids.last else { return nil }
        let entries = critical.entries
        let last = entries[lastID]
        var parts = ["critical path of \(ids.count) transfer\(ids.count == 1 ? "" : "s"), ending at rank \(last.destination) step \(last.receiveStep) (receive from rank \(last.source)\(last.lane > 0 ? ", lane \(last.lane)" : ""))"]
        var slowest = -1, crossings = 0, waits = 0
        var ranks = Set<Int>()
        for id in ids {
            let e = entries[id]
            if e.waitedLink >= 0 { waits += 1 }
            ranks.insert(Int(e.source)); ranks.insert(Int(e.destination))
            let n = fabric.route(from: Int(e.source), to: Int(e.destination), links: path).count
            for k in 0..<n {
                if slowest < 0 || fabric.linkBytesPerSecond(path[k]) < fabric.linkBytesPerSecond(slowest) { slowest = path[k]; crossings = 0 }
                if path[k] == slowest { crossings += 1 }
            }
        }
        if slowest >= 0 {
            let factor = fabric.faults?.linkFactor[slowest] ?? 1
            parts.append("its slowest link \(fabric.linkName(slowest))" + (factor < 1 ? " (at \(PhysicalUnit.shortest((factor * 1000).rounded() / 10))%)" : "")
                         + " carried \(crossings) of them")
        }
        if waits > 0 { parts.append("\(waits) waited for a busy link") }
        if let f = fabric.faults {
            for r in ranks.sorted() where r < fabric.rankCount {
                if f.entrySeconds(r) > 0 { parts.append("rank \(r) entered \(PhysicalUnit.formatLatency((f.entrySeconds(r) * 1e9).rounded() / 1e3)) late") }
                if f.slowdown(r) > 1 { parts.append("rank \(r) runs \(PhysicalUnit.shortest(f.slowdown(r)))x slower") }
            }
        }
        return parts.joined(separator: "; ")
    }
}
