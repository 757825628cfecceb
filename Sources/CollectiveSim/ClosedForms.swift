import CollectiveCore
import CollectiveFabric

/// Alpha-beta-gamma closed forms of the allreduce algorithms (docs/Sources.md section 2: Thakur,
/// Rabenseifner and Gropp, IJHPCA 2005; Patarasuk and Yuan, JPDC 2009).
///
/// `alpha`: seconds per message; `beta`: seconds per byte moved; `gamma`: seconds per byte
/// reduced; `n`: bytes per rank; `p`: ranks. Every function returns seconds.
public struct AlphaBetaGamma: Sendable, Hashable {
    public var alphaSeconds: Double
    public var betaSecondsPerByte: Double
    public var gammaSecondsPerByte: Double

    public init(alphaSeconds: Double, betaSecondsPerByte: Double, gammaSecondsPerByte: Double = 0) {
        self.alphaSeconds = alphaSeconds
        self.betaSecondsPerByte = betaSecondsPerByte
        self.gammaSecondsPerByte = gammaSecondsPerByte
    }

    /// The slower of two costs, term by term (the bottleneck of two path classes).
    public func bottleneck(_ other: AlphaBetaGamma) -> AlphaBetaGamma {
        AlphaBetaGamma(alphaSeconds: max(alphaSeconds, other.alphaSeconds),
                       betaSecondsPerByte: max(betaSecondsPerByte, other.betaSecondsPerByte),
                       gammaSecondsPerByte: max(gammaSecondsPerByte, other.gammaSecondsPerByte))
    }

    /// The same costs for a GPU that reduces *while* data streams in (NCCL's kernels; the event
    /// engine's model): a reduced byte costs `max(beta, gamma)` instead of `beta + gamma`, so the
    /// closed forms apply with gamma replaced by its excess over beta, `max(0, gamma - beta)`.
    public var streamingReduction: AlphaBetaGamma {
        AlphaBetaGamma(alphaSeconds: alphaSeconds, betaSecondsPerByte: betaSecondsPerByte,
                       gammaSecondsPerByte: max(0, gammaSecondsPerByte - betaSecondsPerByte))
    }

    /// Ring: `2(p-1) alpha + 2((p-1)/p) n beta + ((p-1)/p) n gamma`.
    public func ring(ranks p: Int, bytes n: Double) -> Double {
        guard p > 1 else { return 0 }
        let f = Double(p - 1) / Double(p)
        return 2 * Double(p - 1) * alphaSeconds + 2 * f * n * betaSecondsPerByte + f * n * gammaSecondsPerByte
    }

    /// NVLS on one node (``NVLSSchedule``), with `alpha` and `beta` those of a GPU's path to its
    /// reducing switch: a chunk crosses four hops in turn (contribution, sum to its owner, the
    /// owner's multicast store, the copies), and a GPU's port carries `(p + 1)/p` of the buffer
    /// each way, with the switch adding at line rate: `4 alpha + ((p+1)/p) n beta`.
    public func nvls(ranks p: Int, bytes n: Double) -> Double {
        guard p > 1 else { return 0 }
        return 4 * alphaSeconds + Double(p + 1) / Double(p) * n * betaSecondsPerByte
    }

    /// Recursive doubling, one full-buffer exchange per round (as swift-allreduce's schedule, MPICH
    /// and Open MPI run it): `lg p (alpha + n beta + n gamma)` for p a power of two; otherwise, with
    /// q = 2^floor(lg p), the first 2r = 2(p - q) ranks fold pairwise first (one full-buffer send
    /// and reduce) and unfold last (one full-buffer send):
    /// `(lg q + 2) alpha + (lg q + 2) n beta + (lg q + 1) n gamma`.
    public func recursiveDoubling(ranks p: Int, bytes n: Double) -> Double {
        guard p > 1 else { return 0 }
        let lgq = Double(floorLog2(p))
        if p & (p - 1) == 0 { return lgq * (alphaSeconds + n * betaSecondsPerByte + n * gammaSecondsPerByte) }
        return (lgq + 2) * alphaSeconds + (lgq + 2) * n * betaSecondsPerByte + (lgq + 1) * n * gammaSecondsPerByte
    }

    /// Rabenseifner: `2 lg p alpha + 2((p-1)/p) n beta + ((p-1)/p) n gamma` for p a power of two;
    /// otherwise `(2 lg q + 2) alpha + (2((q-1)/q) + 2) n beta + (1 + (q-1)/q) n gamma`.
    public func rabenseifner(ranks p: Int, bytes n: Double) -> Double {
        guard p > 1 else { return 0 }
        let q = 1 << floorLog2(p)
        let lgq = Double(floorLog2(p))
        let f = Double(q - 1) / Double(q)
        if p == q { return 2 * lgq * alphaSeconds + 2 * f * n * betaSecondsPerByte + f * n * gammaSecondsPerByte }
        return (2 * lgq + 2) * alphaSeconds + (2 * f + 2) * n * betaSecondsPerByte + (1 + f) * n * gammaSecondsPerByte
    }

    /// The double binary tree without pipelining (one chunk per half, `c = n/2`), p = 2^m ranks,
    /// as swift-allreduce's tree schedule runs it: going up, an interior rank takes its two
    /// children's chunks one after the other (2 messages per level, m - 1 levels, then the root's
    /// single child); going down, a rank forwards to its two children over one port (the second
    /// leaves `c beta` later): `(3m - 1) alpha + (4m - 2) c beta`.
    public func doubleBinaryTreeUnpipelined(ranks p: Int, bytes n: Double) -> Double {
        guard p > 1 else { return 0 }
        let m = Double(floorLog2(p))
        return (3 * m - 1) * alphaSeconds + (4 * m - 2) * (n / 2) * betaSecondsPerByte
    }

    /// The double binary tree in `k` chunks per half (`c = n / (2k)` bytes each).
    ///
    /// One chunk (`k = 1`) and p = 2^m: the exact form of the schedule as the event engine plays
    /// it on a switch, ``doubleBinaryTreeUnpipelined(ranks:bytes:)``. For other p with one chunk
    /// the same form with m = ceil(lg p), which the engine undercuts by up to about 20%. Gamma (the
    /// reduction's excess over beta) counts the `(2m - 1)` half-buffers reduced on the way up.
    ///
    /// Several chunks: the idealised pipeline (Sanders, Speck and Traff 2009; NCCL's tree). Two
    /// trees of depth `d = floor(lg p)` each carry half the data, reducing up and broadcasting
    /// down, the two pipelines chained through the roots. A rank is interior in one tree and a
    /// leaf in the other, so in steady state its port takes `4c` bytes per stage (two children's
    /// chunks, one from its parent in each tree): a stage costs `alpha + (2n/k) beta`, and the
    /// run `2d + k - 1` stages, plus the reductions of an interior rank (two chunks per stage):
    /// `(2d + k - 1)(alpha + (2n/k) beta) + (d + k - 1)(n/k) gamma`. For large n this is
    /// `2 n beta`: bus bandwidth at best that of ring (docs/Sources.md section 2).
    ///
    /// This pipelined form is NOT what swift-allreduce's tree schedule achieves on the event
    /// engine, and no closed form in alpha and beta can be: a rank issues its steps in one order
    /// (a send that waits for its chunk holds back the receives behind it) and links serve whole
    /// transfers first come, first served, without back-filling, so the chunks of the two trees
    /// leave gaps on the ports. On a switch with alpha = 0 the schedule's steady state is about
    /// 6 c beta per chunk at p = 4, 7-8 at p = 8 and 8-9 at p = 16 instead of 4, and the played
    /// time is not even monotone in alpha (p = 8, k = 8: 54 c beta at alpha = 0, 50 at
    /// alpha = c beta). ``doubleBinaryTreeLowerBound(ranks:bytes:chunks:)`` is what holds.
    public func doubleBinaryTree(ranks p: Int, bytes n: Double, chunks k: Int) -> Double {
        guard p > 1 else { return 0 }
        if k <= 1 {
            let m = Double(floorLog2(p) + (p & (p - 1) == 0 ? 0 : 1))
            return (3 * m - 1) * alphaSeconds + (4 * m - 2) * (n / 2) * betaSecondsPerByte + (2 * m - 1) * (n / 2) * gammaSecondsPerByte
        }
        let d = Double(floorLog2(p))
        let kk = Double(k)
        let stage = alphaSeconds + (2 * n / kk) * betaSecondsPerByte
        return (2 * d + kk - 1) * stage + (d + kk - 1) * (n / kk) * gammaSecondsPerByte
    }

    /// The double binary tree in `k` chunks per half (`c = n / (2k)` bytes) as its schedule runs
    /// with ports shared fairly (max-min fair link service on a switch): the schedule's slots are
    /// stages (a fence opens each), every rank starts slot s together, and a slot lasts until its
    /// busiest port has moved its `L_s` messages at the fair share, plus alpha:
    /// `T = sum over slots (alpha + L_s c beta)` = `S alpha + (sum L_s) c beta` (S: the slots
    /// some message uses), with the slot
    /// loads of ``TreeSchedule/slotPortLoads(ranks:chunks:)`` (steady state: L_s = 4, two children
    /// and a parent in one tree, a parent in the other). Gamma is not included (reductions at
    /// least as fast as the ports).
    public func doubleBinaryTreeStages(ranks p: Int, bytes n: Double, chunks k: Int) -> Double {
        guard p > 1 else { return 0 }
        let kk = max(1, k)
        let loads = TreeSchedule.slotPortLoads(ranks: p, chunks: kk)
        let c = n / Double(2 * kk)
        // A slot no message uses costs nothing (no rank waits for it).
        let stages = loads.filter { $0 > 0 }.count
        return Double(stages) * alphaSeconds + Double(loads.reduce(0, +)) * c * betaSecondsPerByte
    }

    /// A lower bound on the double binary tree with `k` chunks per half (`c = n / (2k)` bytes)
    /// that holds for any order of steps and any service of the links, on a switch (every rank
    /// one port each way at 1/beta bytes per second, alpha per message):
    ///
    /// - port: a rank with `e` tree edges (children in both trees, plus a parent in each tree
    ///   where it is not the root) receives `e k` chunks through its one input port and the last
    ///   arrives alpha after its last byte: `T >= e_max k c beta + alpha`;
    /// - pipeline: the deepest leaf of a tree (depth D) sends its k chunks up one after the other,
    ///   so its last chunk leaves at `k c beta` at the earliest and arrives alpha later; it then
    ///   climbs D - 1 more edges and comes down D edges, each at least `c beta + alpha`:
    ///   `T >= (2D + k - 1) c beta + 2D alpha`.
    ///
    /// `T >= max(port, pipeline)`. Tree shapes come from ``DoubleBinaryTree`` (O(p log p)).
    public func doubleBinaryTreeLowerBound(ranks p: Int, bytes n: Double, chunks k: Int) -> Double {
        guard p > 1 else { return 0 }
        let kk = Double(max(1, k))
        let c = n / (2 * kk)
        var edges = 0
        var depth = 0
        for r in 0..<p {
            var e = 0
            for t in 0..<2 {
                let node = DoubleBinaryTree.node(tree: t, ranks: p, rank: r)
                e += node.childCount + (node.parent >= 0 ? 1 : 0)
            }
            edges = max(edges, e)
            // Both trees have tree 0's shape: the depth of r in tree 0.
            var d = 0
            var v = r
            while true {
                let up = DoubleBinaryTree.tree0(ranks: p, rank: v).parent
                if up < 0 { break }
                v = up
                d += 1
            }
            depth = max(depth, d)
        }
        let port = Double(edges) * kk * c * betaSecondsPerByte + alphaSeconds
        let pipeline = (2 * Double(depth) + kk - 1) * c * betaSecondsPerByte + 2 * Double(depth) * alphaSeconds
        return max(port, pipeline)
    }

    /// Reduce-scatter along a ring of p: `(p-1)(alpha + (n/p) beta + (n/p) gamma)`.
    public func ringReduceScatter(ranks p: Int, bytes n: Double) -> Double {
        guard p > 1 else { return 0 }
        return Double(p - 1) * (alphaSeconds + n / Double(p) * (betaSecondsPerByte + gammaSecondsPerByte))
    }

    /// Allgather along a ring of p: `(p-1)(alpha + (n/p) beta)`.
    public func ringAllgather(ranks p: Int, bytes n: Double) -> Double {
        guard p > 1 else { return 0 }
        return Double(p - 1) * (alphaSeconds + n / Double(p) * betaSecondsPerByte)
    }
}

/// floor(log2(x)) for x >= 1.
@inlinable public func floorLog2(_ x: Int) -> Int {
    precondition(x >= 1, "floorLog2: \(x) < 1")
    return Int.bitWidth - 1 - x.leadingZeroBitCount
}

extension FabricMap {
    /// Alpha, beta, gamma of one transfer inside a node (the slowest GPU pair).
    public var intraNodeAlphaBeta: AlphaBetaGamma {
        let c = intraNodeCost
        return AlphaBetaGamma(alphaSeconds: c.alphaSeconds, betaSecondsPerByte: c.betaSecondsPerByte, gammaSecondsPerByte: gammaSecondsPerByte)
    }

    /// Alpha, beta, gamma of one transfer between nodes. With `concurrentPerNode` GPUs of a node
    /// sending at once, beta grows when they share NICs (GPUs per NIC, up to that many).
    public func interNodeAlphaBeta(concurrentPerNode: Int = 1) -> AlphaBetaGamma {
        let c = interNodeCost
        let nics = max(1, topology.node.nicCount)
        let gpusPerNIC = max(1, gpusPerNode / nics)
        let sharing = Double(max(1, min(concurrentPerNode, gpusPerNIC)))
        return AlphaBetaGamma(alphaSeconds: c.alphaSeconds, betaSecondsPerByte: c.betaSecondsPerByte * sharing, gammaSecondsPerByte: gammaSecondsPerByte)
    }

    /// The bottleneck path cost of a flat algorithm over every rank: the slower of the intra-node
    /// and (with several nodes) inter-node costs.
    public var bottleneckAlphaBeta: AlphaBetaGamma {
        var c = gpusPerNode > 1 ? intraNodeAlphaBeta : AlphaBetaGamma(alphaSeconds: 0, betaSecondsPerByte: 0, gammaSecondsPerByte: gammaSecondsPerByte)
        if nodeCount > 1 { c = c.bottleneck(interNodeAlphaBeta()) }
        return c
    }
}
