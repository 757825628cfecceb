import Foundation

/// The memory of a CPU node as one resource that every rank of the node shares: a same-node
/// transfer (Open MPI's shared-memory or loopback transport copies through it) and a reduction
/// (a rank's kernel reads two operands and writes one) both cross it.
///
/// Both rates are what all the ranks of the node get *together* (`allreduce calibrate` measures
/// them with every rank busy at once). The engines model the memory as one link per node: a
/// same-node transfer holds it for `bytes / transferGBps`, in the order data reaches it (the event
/// engine's `MemoryCalendar`). In the event engine a reducing receive,
/// once its data has arrived, runs on its rank's core after the rank's previous reduction, for
/// `bytes / reduceGBps` times the node's ranks (``coreReduceShare(ranksPerNode:)``: each rank's
/// share, as all of them reduce at once). While the buffers fit in the caches it does not hold
/// the memory link, and overlaps the transfers in flight, the next chunk's and the other ranks'.
/// (A CPU rank reduces the received buffer; it does not stream the reduction with the data as a
/// GPU kernel does.)
/// GPU topologies leave it out (nil), and nothing changes for them.
///
/// A CPU's rates depend on the message: a message that fits in its caches is copied and reduced
/// faster than one that goes to DRAM (and Open MPI's shared-memory transport sends small
/// messages eagerly). ``cache`` gives the rates of messages up to each of its sizes; larger ones
/// use the rates above. It applies while the collective's working set is below every
/// ``workingSets`` entry: a message is in the cache only while the buffers it comes from are.
///
/// The rates also depend on the working set: the bytes of buffer each rank's collective spans,
/// its input and its output (twice its size), or its one buffer when it runs in place
/// (`ScheduleParameters.workingSetBytes` in CollectiveCore). Once the buffers of the node's
/// ranks no longer fit in the last-level cache, every copy and reduction streams from DRAM,
/// several times slower than the probe that measured the rates above. ``workingSets`` is a table
/// of such regimes: a collective whose working set is `W` bytes crosses the memory at the rates
/// of the largest entry whose ``Regime/bytes`` is at most `W` (``rates(workingSetBytes:)``), and
/// at the rates above when `W` is below every entry. (`allreduce calibrate` measures each entry
/// on in-place probes of that many bytes per rank: a 64 MiB allreduce out of place, spanning an
/// input and an output, on a 2-vCPU Zen 5 guest ran 20-30% slower than the same allreduce in
/// place, which the entry at its size predicted.)
///
/// Beyond the caches (a working set that reaches a ``workingSets`` entry) three more things hold.
/// A rank's core makes the copy of each message it receives (Open MPI's shared-memory transport
/// copies a large message with the receiver's `process_vm_readv`; over loopback TCP the receiver
/// reads the socket), and reduces what it received, one after the other: the engines hold the
/// rank's incoming link while it reduces. A reduction streams its operands from DRAM, as the
/// transfers do: it takes the memory link for `bytes / reduceGBps` (the node's rate), in turn
/// with the transfers, from when it starts. And the node's same-node transfers move faster the more
/// messages each rank keeps in flight (``inFlight``): the working sets' transfer rates are then
/// those of one message in flight per rank, and a transfer moves at that rate times
/// ``inFlightFactor(messages:)`` of the messages its sender has in flight, itself included.
public struct NodeMemorySpec: Sendable, Hashable {
    /// Same-node transfers of all ranks together, GB/s of payload.
    public var transferGBps: Double
    /// Reductions of all ranks together, GB/s of one operand.
    public var reduceGBps: Double
    /// The rates of messages by size, in increasing order of ``Regime/bytes``: a message takes
    /// the first entry of at least its bytes (``cacheRates(messageBytes:workingSetBytes:)``),
    /// and a larger one the rates above (empty: one regime).
    public var cache: [Regime]
    /// The rates of collectives whose working set (bytes of buffer per rank) is at least each
    /// entry's ``Regime/bytes``, in increasing order of bytes (empty: the rates above at every
    /// working set).
    public var workingSets: [Regime]
    /// The node's same-node transfer rate beyond the caches by the messages each rank keeps in
    /// flight, relative to one (in increasing order of ``InFlight/messages``; empty: the rates
    /// do not depend on it). `allreduce calibrate` measures it: our runner's ring all-gather with k
    /// chunks of its probe size in each rank's block, walking the same buffers for every k.
    public var inFlight: [InFlight]

    /// The node's transfer rate with `messages` in flight per rank, over its rate with one.
    public struct InFlight: Sendable, Hashable {
        public var messages: Int
        public var factor: Double
        public init(messages: Int, factor: Double) {
            self.messages = messages
            self.factor = factor
        }

        /// `table`'s factor at `messages` in flight per rank (``NodeMemorySpec/inFlightFactor(messages:)``).
        public static func factor(in table: [InFlight], messages: Int) -> Double {
            guard let first = table.first, let last = table.last else { return 1 }
            if messages <= first.messages { return first.factor }
            if messages >= last.messages { return last.factor }
            let x = log2(Double(messages))
            for (a, b) in zip(table, table.dropFirst()) where messages <= b.messages {
                let xa = log2(Double(a.messages)), xb = log2(Double(b.messages))
                return a.factor + (b.factor - a.factor) * (x - xa) / (xb - xa)
            }
            return last.factor
        }
    }

    /// The rates of messages up to a size.
    public struct Regime: Sendable, Hashable {
        /// For ``NodeMemorySpec/cache``, the largest message (bytes) this entry applies to; for
        /// ``NodeMemorySpec/workingSets``, the smallest working set (bytes of buffer per rank).
        public var bytes: Int
        public var transferGBps: Double
        public var reduceGBps: Double
        /// One transfer alone, GB/s: what a rank's message gets while no other rank of the node
        /// moves data (a tree's step up or down, one rank sending). A transfer takes at least its
        /// bytes at this rate, and holds the memory for its bytes at ``transferGBps``, which the
        /// node's transfers share: two at once then take about twice the time the memory gives
        /// one, while one alone takes what the pair gets. Nil: the path's links set it (the
        /// `pcie` link). The CPU copies a same-node message on the ranks' own cores, so one
        /// transfer alone gets less than the node's ranks together (on the 2-vCPU guest
        /// calibrate was written on, 0.6-0.7 of it).
        public var pairGBps: Double?
        public init(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double? = nil) {
            self.bytes = bytes
            self.transferGBps = transferGBps
            self.reduceGBps = reduceGBps
            self.pairGBps = pairGBps
        }
    }

    public init(transferGBps: Double, reduceGBps: Double, cache: [Regime] = [], workingSets: [Regime] = [], inFlight: [InFlight] = []) {
        self.transferGBps = transferGBps
        self.reduceGBps = reduceGBps
        self.cache = cache
        self.workingSets = workingSets
        self.inFlight = inFlight
    }

    /// ``inFlight``'s factor at `messages` in flight per rank: interpolated linearly in the
    /// logarithm of the count between entries, the first entry's below it and the last one's
    /// above it; 1 when ``inFlight`` is empty.
    public func inFlightFactor(messages: Int) -> Double { InFlight.factor(in: inFlight, messages: messages) }

    /// Whether a collective of `workingSetBytes` per rank runs beyond the caches: it reaches a
    /// ``workingSets`` entry.
    public func beyondCaches(workingSetBytes: Double) -> Bool {
        guard let first = workingSets.first else { return false }
        return workingSetBytes >= Double(first.bytes)
    }

    /// How many times `bytes / reduceGBps` a reduction holds its rank's core: `reduceGBps` is
    /// what all `n` ranks reduce together, each on its core, so one rank reduces at `1 / n` of it.
    public static func coreReduceShare(ranksPerNode: Int) -> Double { Double(Swift.max(1, ranksPerNode)) }

    /// The cache's rates (GB/s) for a message of `messageBytes` in a collective that spans
    /// `workingSetBytes` per rank: the first ``cache`` entry of at least that many bytes, while
    /// the working set is below every ``workingSets`` entry; nil otherwise (the rates of
    /// ``rates(workingSetBytes:)`` apply).
    public func cacheRates(messageBytes: Double, workingSetBytes: Double) -> (transferGBps: Double, reduceGBps: Double)? {
        guard cacheApplies(workingSetBytes: workingSetBytes),
              let regime = cache.first(where: { messageBytes <= Double($0.bytes) }) else { return nil }
        return (regime.transferGBps, regime.reduceGBps)
    }

    /// Whether ``cache`` applies to a collective that spans `workingSetBytes` per rank: it has
    /// entries and the working set is below every ``workingSets`` entry (its buffers still fit in
    /// the caches).
    public func cacheApplies(workingSetBytes: Double) -> Bool {
        guard !cache.isEmpty else { return false }
        if let first = workingSets.first, workingSetBytes >= Double(first.bytes) { return false }
        return true
    }

    /// The transfer and reduction rates (GB/s) of a collective that spans `workingSetBytes` per
    /// rank: the largest ``workingSets`` entry of at most that many bytes, else the rates above;
    /// with that entry's rate of one transfer alone (``Regime/pairGBps``), nil below every
    /// working set or when the entry gives none (the path's links set it).
    public func rates(workingSetBytes: Double) -> (transferGBps: Double, reduceGBps: Double, pairGBps: Double?) {
        guard let regime = workingSets.last(where: { Double($0.bytes) <= workingSetBytes }) else { return (transferGBps, reduceGBps, nil) }
        return (regime.transferGBps, regime.reduceGBps, regime.pairGBps)
    }
}
