import CollectiveCore

/// Random link faults for what-if sweeps: each draw picks network cables of a cluster (a NIC's
/// cable to its leaf, a leaf's cable to a spine) and takes them down or degrades them. Draws are
/// ``Fault``s, so a draw prints as specs that `--fault` replays, and the same seed gives the same
/// draws.
public struct RandomFaults: Sendable, Hashable {
    /// Which cables a draw picks from.
    public enum Cables: String, Sendable, Hashable, CaseIterable {
        /// NIC cables and spine cables.
        case network
        /// NIC cables (node n nic k).
        case nic
        /// Leaf-to-spine cables (leaf l uplink s).
        case spine
    }

    /// How many cables a draw picks.
    public enum Count: Sendable, Hashable {
        /// A number from the range, uniformly (distinct cables).
        case range(ClosedRange<Int>)
        /// Each cable on its own with this probability (`1/1000`: one link in a thousand).
        case fraction(Double)
    }

    public var cables: Cables
    public var count: Count
    public var effect: Fault.LinkEffect

    public init(cables: Cables, count: Count, effect: Fault.LinkEffect) {
        self.cables = cables
        self.count = count
        self.effect = effect
    }

    /// The cables of `fabric` a draw picks from, as the faults that take them out with ``effect``:
    /// NIC cables first (node by node), then spine cables (leaf by leaf).
    public func candidates(on fabric: FabricMap) -> [Fault] {
        var out: [Fault] = []
        if cables != .spine && fabric.nodeCount > 1 {
            for n in 0..<fabric.nodeCount {
                for k in 0..<fabric._nicCount { out.append(Fault(.link(.nic(node: n, nic: k), effect))) }
            }
        }
        if cables != .nic {
            for leaf in 0..<fabric.leafCount {
                for s in 0..<fabric.uplinksPerLeaf where fabric.leafCount > 1 { out.append(Fault(.link(.leafUplink(leaf: leaf, uplink: s), effect))) }
            }
        }
        return out
    }

    /// One draw from `candidates` (``candidates(on:)``), in the candidates' order.
    public func draw(from candidates: [Fault], using random: inout SplitMix64) -> [Fault] {
        guard !candidates.isEmpty else { return [] }
        switch count {
        case .fraction(let p):
            return candidates.filter { _ in random.nextUnit() < p }
        case .range(let r):
            let k = Swift.min(candidates.count, r.lowerBound + Int(random.next() % UInt64(r.count)))
            var picked = Set<Int>()
            // Floyd's algorithm: k distinct indices in k draws.
            for j in (candidates.count - k)..<candidates.count {
                let t = Int(random.next() % UInt64(j + 1))
                picked.insert(picked.contains(t) ? j : t)
            }
            return picked.sorted().map { candidates[$0] }
        }
    }
}
