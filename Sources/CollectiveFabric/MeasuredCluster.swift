import CollectiveKernels
import Foundation

/// A CPU cluster as `allreduce calibrate` measured it under mpirun, and the topology file that
/// describes it: the node's ranks as its "GPUs", the same-node transport as the node's `pcie`
/// link (one per rank, each way), the network as one NIC per node, the node's memory as the
/// shared resource of ``NodeMemorySpec``, and the runner's per-step overhead.
public struct MeasuredCluster: Sendable, Hashable {
    /// One pair class's figures.
    public struct Pair: Sendable, Hashable {
        public var latencyMicroseconds: Double
        /// One pair alone (ping-pong).
        public var pingPongGBps: Double
        /// Per rank and direction while `concurrentRanks` ranks exchange at once.
        public var concurrentGBps: Double
        public var concurrentRanks: Int
        /// The link's rate in the file: the ping-pong's, or the rate under concurrency when that
        /// was higher (one pair alone is never slower than under load: a lower ping-pong figure
        /// is a busy spell of the machine).
        public var linkGBps: Double { Swift.max(pingPongGBps, concurrentGBps) }
        /// The figures are kept to ``MeasuredCluster/significantDigits``.
        public init(latencyMicroseconds: Double, pingPongGBps: Double, concurrentGBps: Double, concurrentRanks: Int) {
            self.latencyMicroseconds = MeasuredCluster.round(latencyMicroseconds)
            self.pingPongGBps = MeasuredCluster.round(pingPongGBps)
            self.concurrentGBps = MeasuredCluster.round(concurrentGBps)
            self.concurrentRanks = concurrentRanks
        }
    }

    public var name: String
    /// Node host names, in node order.
    public var hostnames: [String]
    public var ranksPerNode: Int
    /// What carried same-node messages (`--mca btl` as given, or "Open MPI's default").
    public var transport: String
    /// Bytes of the bandwidth probes and of the latency probe.
    public var probeBytes: Int
    public var latencyProbeBytes: Int
    public var sameNode: Pair?
    public var acrossNodes: Pair?
    /// What the node's ranks get together: copies, same-node transfers (payload), reductions
    /// (one operand) of ``reduceType`` (as the MPI runner's reductions run, when measured so),
    /// GB/s.
    public var memoryCopyGBps: Double
    public var memoryTransferGBps: Double?
    public var memoryReduceGBps: Double
    /// The element type whose reduction rate the file uses, and every type's rate (comments).
    public var reduceType: String
    public var reduceGBpsByType: [String: Double]
    public var singleRankReduceGBps: Double
    public var stepOverheadMicroseconds: Double
    /// Message sizes below the probe: the node's transfer and reduction rates (every rank at once).
    public var sizeScan: [Scan]
    public struct Scan: Sendable, Hashable {
        public var bytes: Int
        public var transferGBps: Double
        public var reduceGBps: Double
        /// One same-node transfer alone at this size (``NodeMemorySpec/Regime/pairGBps``), nil when
        /// not measured.
        public var pairGBps: Double?
        public init(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double? = nil) {
            self.bytes = bytes
            self.transferGBps = MeasuredCluster.round(transferGBps)
            self.reduceGBps = MeasuredCluster.round(reduceGBps)
            self.pairGBps = pairGBps.map(MeasuredCluster.round)
        }
    }
    /// Working sets above the probe (bytes per rank): the node's transfer rate in the MPI
    /// runner's ring all-gather of that size and its reduction rate with every rank walking
    /// probe-sized reductions through a buffer of that size, all ranks at once; they become the
    /// memory's ``NodeMemorySpec/workingSets``.
    public var workingSetScan: [Scan]
    /// The node's transfer rate, GB/s, with every pair of its ranks keeping each count of
    /// probe-sized messages in flight each way (beyond the caches); they become the memory's
    /// ``NodeMemorySpec/inFlight`` factors, and the working sets' transfer rates are taken back
    /// to one message in flight by them.
    public var inFlightScan: [InFlightRate]
    /// The counts of messages in flight per rank `allreduce calibrate` measures (``inFlightScan``).
    public static let inFlightCounts = [1, 2, 4, 8, 16]
    /// The bytes per rank its exchanges walk (DRAM on the machines it was written for).
    public static let inFlightWalkBytes = 16 << 20
    public struct InFlightRate: Sendable, Hashable {
        public var messages: Int
        public var gbps: Double
        /// The rate over the rate with one message in flight, measured side by side (nil: the
        /// ratio of ``gbps`` to the scan's rate at one).
        public var factor: Double?
        public init(messages: Int, gbps: Double, factor: Double? = nil) {
            self.messages = messages
            self.gbps = MeasuredCluster.round(gbps)
            self.factor = factor.map(MeasuredCluster.round)
        }
    }
    /// How the overhead was measured: ring steps per run and time per step.
    public var overheadProbe: String

    public init(name: String, hostnames: [String], ranksPerNode: Int, transport: String, probeBytes: Int, latencyProbeBytes: Int, sameNode: Pair?, acrossNodes: Pair?,
                memoryCopyGBps: Double, memoryTransferGBps: Double?, memoryReduceGBps: Double, reduceType: String,
                reduceGBpsByType: [String: Double], singleRankReduceGBps: Double, stepOverheadMicroseconds: Double, sizeScan: [Scan] = [], workingSetScan: [Scan] = [],
                inFlightScan: [InFlightRate] = [], overheadProbe: String) {
        self.sizeScan = sizeScan
        self.workingSetScan = workingSetScan
        self.inFlightScan = inFlightScan
        self.name = name
        self.hostnames = hostnames
        self.ranksPerNode = ranksPerNode
        self.transport = transport
        self.probeBytes = probeBytes
        self.latencyProbeBytes = latencyProbeBytes
        self.sameNode = sameNode
        self.acrossNodes = acrossNodes
        self.memoryCopyGBps = Self.round(memoryCopyGBps)
        self.memoryTransferGBps = memoryTransferGBps.map(Self.round)
        self.memoryReduceGBps = Self.round(memoryReduceGBps)
        self.reduceType = reduceType
        self.reduceGBpsByType = reduceGBpsByType.mapValues(Self.round)
        self.singleRankReduceGBps = Self.round(singleRankReduceGBps)
        self.stepOverheadMicroseconds = Self.round(stepOverheadMicroseconds)
        self.overheadProbe = overheadProbe
    }

    /// Measured figures keep this many significant digits (the file shows no more than a
    /// measurement tells).
    public static let significantDigits = 4
    static func round(_ x: Double) -> Double { PhysicalUnit.rounded(x, significantDigits: significantDigits) }

    /// The memory's message-size regimes (``NodeMemorySpec/cache``): each scanned size with its
    /// transfer rate as measured, and the closest reduction rates that never grow with the size
    /// (a larger reduction is never faster; the same pooling as ``workingSetRegimes``) and never
    /// fall below the probe's (a smaller one in the cache is never slower). Transfer rates are
    /// kept as they are: a message above the transport's eager limit pays a rendezvous a smaller
    /// one does not, so a transfer's rate per byte can grow or fall with its size. Sizes at the
    /// end that measured the probe's rates are left out: the rates above already apply to them.
    public var cacheRegimes: [NodeMemorySpec.Regime] {
        guard let large = memoryTransferGBps else { return [] }
        let reduce = Self.nonIncreasing(sizeScan.map(\.reduceGBps)).map { max($0, memoryReduceGBps) }
        var regimes = sizeScan.indices.map {
            NodeMemorySpec.Regime(bytes: sizeScan[$0].bytes, transferGBps: sizeScan[$0].transferGBps, reduceGBps: Self.round(reduce[$0]),
                                  pairGBps: pairRate(sizeScan[$0].pairGBps, transferGBps: sizeScan[$0].transferGBps))
        }
        while let last = regimes.last, last.transferGBps == Self.round(large), last.reduceGBps <= Self.round(memoryReduceGBps), last.pairGBps == nil {
            regimes.removeLast()
        }
        return regimes
    }

    /// The memory's working-set regimes (``NodeMemorySpec/workingSets``): the scan's rates fitted
    /// to never grow with the working set (a larger working set is never faster; a single busy
    /// or lucky block of a shared machine otherwise sets its size's rate). Each rate is the
    /// least-squares non-increasing fit of the scanned ones in log scale (pool adjacent
    /// violators: neighbours out of order are replaced by their geometric mean).
    ///
    /// With an ``inFlightScan``, a working set's transfer rate is first taken back to one message
    /// in flight per rank: the scan's all-gather of `w` bytes per rank over the node's `p` ranks,
    /// chunked at the probe, keeps about `w / (p x probe)` messages in flight per rank (a block of
    /// the ring at a time), so its rate is divided by ``inFlightRegimes``'s factor there.
    public var workingSetRegimes: [NodeMemorySpec.Regime] {
        let flight = inFlightRegimes
        let transfer = Self.nonIncreasing(workingSetScan.map {
            $0.transferGBps / NodeMemorySpec.InFlight.factor(in: flight, messages: probeMessagesInFlight(workingSetBytes: $0.bytes))
        })
        let reduce = Self.nonIncreasing(workingSetScan.map(\.reduceGBps))
        let pairs = workingSetScan.map(\.pairGBps)
        let pair = pairs.contains(nil) ? pairs.map { _ in nil } : Self.nonIncreasing(pairs.map { $0! }).map { Optional($0) }
        return workingSetScan.indices.map {
            NodeMemorySpec.Regime(bytes: workingSetScan[$0].bytes, transferGBps: Self.round(transfer[$0]), reduceGBps: Self.round(reduce[$0]),
                                  pairGBps: pairRate(pair[$0], transferGBps: transfer[$0]))
        }
    }

    /// The memory's ``NodeMemorySpec/inFlight`` factors: each count's factor as measured, else its
    /// rate over the rate with one message in flight (empty without a scan, or when it has no
    /// count of one).
    public var inFlightRegimes: [NodeMemorySpec.InFlight] {
        guard let one = inFlightScan.first(where: { $0.messages == 1 }), one.gbps > 0 else { return [] }
        return inFlightScan.map { NodeMemorySpec.InFlight(messages: $0.messages, factor: $0.factor ?? Self.round($0.gbps / one.gbps)) }
    }

    /// Messages per rank in flight in the working-set scan's all-gather of `workingSetBytes` per
    /// rank: one block of the ring (`workingSetBytes / ranksPerNode`) in probe-sized chunks.
    func probeMessagesInFlight(workingSetBytes: Int) -> Int {
        Swift.max(1, workingSetBytes / Swift.max(1, ranksPerNode) / Swift.max(1, probeBytes))
    }

    /// A regime's rate for one transfer alone: the measured one, or the share of the node's rate
    /// each rank gets when all of them transfer at once, whichever is higher. One transfer alone
    /// is never slower than when every rank of the node moves data too: a lower figure (TCP's
    /// loopback on the 2-vCPU guest calibrate was written on: one transfer alone 0.4 x the
    /// share) comes from handshakes that transfers in both directions overlap, and a lone rate
    /// below the share would slow the transfers of an exchange, which run together.
    func pairRate(_ measured: Double?, transferGBps: Double) -> Double? {
        measured.map { Self.round(Swift.max($0, transferGBps / Double(Swift.max(1, ranksPerNode)))) }
    }

    /// The non-increasing sequence closest to `rates` in log scale (pool adjacent violators).
    static func nonIncreasing(_ rates: [Double]) -> [Double] {
        var blocks: [(logSum: Double, count: Int)] = []
        for r in rates {
            blocks.append((log(r), 1))
            while blocks.count > 1, blocks[blocks.count - 1].logSum / Double(blocks[blocks.count - 1].count)
                    > blocks[blocks.count - 2].logSum / Double(blocks[blocks.count - 2].count) {
                let last = blocks.removeLast()
                blocks[blocks.count - 1].logSum += last.logSum
                blocks[blocks.count - 1].count += last.count
            }
        }
        return blocks.flatMap { Array(repeating: exp($0.logSum / Double($0.count)), count: $0.count) }
    }

    /// The topology: rank pairs of a node talk over their `pcie` links at the ping-pong rate and
    /// latency, and all of a node's transfers and reductions share its memory; nodes talk through
    /// one NIC each (no network switch latency: the ping-pong's latency holds it).
    public var topology: Topology {
        let pcie = sameNode.map { LinkSpec(bandwidthGBps: $0.linkGBps, latencyMicroseconds: $0.latencyMicroseconds) }
        let nic = acrossNodes.map { LinkSpec(bandwidthGBps: $0.linkGBps, latencyMicroseconds: $0.latencyMicroseconds) }
        let memory = NodeMemorySpec(transferGBps: memoryTransferGBps ?? memoryCopyGBps, reduceGBps: memoryReduceGBps, cache: cacheRegimes,
                                    workingSets: workingSetRegimes, inFlight: workingSetScan.isEmpty ? [] : inFlightRegimes)
        let node = NodeSpec(gpuName: "CPU rank", gpuCount: ranksPerNode, nvlink: nil, pcie: pcie ?? (ranksPerNode > 1 ? nic : nil),
                            nic: nic, nicCount: nic == nil ? 0 : 1, reduceGBps: memoryReduceGBps,
                            stepOverheadMicroseconds: stepOverheadMicroseconds, memory: memory)
        let network = NetworkSpec(leafPorts: Swift.max(1, hostnames.count), oversubscription: 1, railOptimized: false,
                                  switchLatencyMicroseconds: 0, stepOverheadMicroseconds: 0)
        return Topology(name: name, summary: "measured by allreduce calibrate on \(hostnames.joined(separator: ", ")) (\(ranksPerNode) rank\(ranksPerNode == 1 ? "" : "s") per node, \(transport))",
                        nodeCount: Swift.max(1, hostnames.count), node: node, network: network)
    }

    /// The topology as a YAML file (``Topology/fileText(format:)``) with a comment above each
    /// measured figure saying how it was measured.
    public func fileText() -> String {
        func gbps(_ x: Double) -> String { PhysicalUnit.formatBandwidth(x) }
        let probe = ByteCount.format(probeBytes)
        var comments: [String: [String]] = [:]
        comments["nodes:"] = ["Measured under mpirun on \(hostnames.count) node\(hostnames.count == 1 ? "" : "s"): \(hostnames.joined(separator: ", ")); \(ranksPerNode) rank\(ranksPerNode == 1 ? "" : "s") per node (MPI_Comm_split_type)."]
        if let s = sameNode {
            comments["  pcie:"] = [
                "pcie: two ranks of one node through \(transport). latency: half the round trip of an \(latencyProbeBytes)-byte MPI_Send/MPI_Recv",
                "ping-pong; bandwidth: \(probe) over half its round trip minus that latency (one pair alone: \(gbps(s.pingPongGBps))). Under concurrency",
                "(\(s.concurrentRanks) ranks MPI_Sendrecv \(probe) at once) each rank moved \(gbps(s.concurrentGBps)) each way;",
                "the link keeps the higher of the two (a pair alone is never slower than under load).",
            ]
        }
        if let a = acrossNodes {
            comments["  nics:"] = [
                "nics: rank 0 and the first rank of the next node. latency and bandwidth as for pcie (ping-pong \(gbps(a.pingPongGBps))); under",
                "concurrency (\(a.concurrentRanks) ranks exchanging with their counterpart on another node) \(gbps(a.concurrentGBps)) per rank each way; the higher is kept.",
            ]
        } else {
            comments["  stepOverhead:"] = ["(No nics: one node was measured. To simulate several nodes, calibrate with a hostfile over two or more.)"]
        }
        comments["  reduceBandwidth:"] = [
            "reduceBandwidth: as memory.reduceBandwidth (\(reduceType)); one rank alone reduces float at \(gbps(singleRankReduceGBps)).",
        ]
        let types = reduceGBpsByType.sorted { $0.key < $1.key }.map { "\($0.key) \(gbps($0.value))" }.joined(separator: ", ")
        comments["  memory:"] = [
            "memory: what the node's ranks get together, every rank busy at once (slowest rank's time).",
            "transferBandwidth: payload the node's ranks move per second in our runner's ring all-gather of \(probe) messages over the node's",
            "ranks, in place (no copy of a rank's own block, which no allreduce makes), net of its steps' latency and step overhead (which",
            "the model adds per step).",
            "reduceBandwidth: \(reduceType) operand bytes the node's ranks reduce per second in our runner's ring reduce-scatter of \(probe)",
            "messages over the node's ranks, in place, each reduction of a received message timed where it runs (among the transfers, on the",
            "operands as the runner has them). Our sum kernel alone on \(probe) of warm buffers, every rank at once: \(types).",
            "memcpy of \(probe) on every rank at once: \(gbps(memoryCopyGBps)) for the node (not used by the model).",
        ] + (sizeScan.isEmpty ? [] : [
            "cache: the same at smaller messages, on buffers of ranks x their size (transfers / \(reduceType) reductions\(sizeScan.contains { $0.pairGBps != nil } ? " / one transfer alone" : "")): "
                + sizeScan.map { "\(ByteCount.format($0.bytes)) \(gbps($0.transferGBps)) / \(gbps($0.reduceGBps))\($0.pairGBps.map { " / \(gbps($0))" } ?? "")" }.joined(separator: ", ") + ";",
            cacheRegimes.isEmpty
                ? "no size moved at other rates than \(probe): one regime."
                : "the file keeps the transfer rates as measured (a message above the transport's eager limit pays a rendezvous) and the closest"
                    + " reduction rates that never grow with the size nor fall below \(probe)'s; a message takes the first entry of at least its size"
                    + " while the collective's working set is below every entry of workingSets (its buffers still in the caches).",
            "pairBandwidth: one transfer alone, the other ranks idle: our runner passing a message of the size between two ranks of the node and back,",
            "net of the latency and step overhead of its two steps (the CPU copies a message on the ranks' own cores: one alone gets less than the node's ranks",
            "together); the file keeps the higher of that and each rank's share of the node's transfer rate (one alone is never slower than when all move data).",
        ]) + (workingSetScan.isEmpty ? [] : [
            "workingSets: transfers and reductions as our runner's ring all-gather and reduce-scatter, in place on one buffer of each size",
            "per rank (its working set), chunked at \(probe), move and reduce them, the node's ranks at once; one transfer alone as for pairBandwidth,",
            "with \(probe) messages walking buffers of that size; beyond the caches they run at DRAM's rate. Measured (transfers / reductions"
                + "\(workingSetScan.contains { $0.pairGBps != nil } ? " / one transfer alone" : "")): "
                + workingSetScan.map { "\(ByteCount.format($0.bytes)) \(gbps($0.transferGBps)) / \(gbps($0.reduceGBps))\($0.pairGBps.map { " / \(gbps($0))" } ?? "")" }.joined(separator: ", ") + ";",
        ] + (inFlightRegimes.isEmpty ? [] : [
            "the all-gather of w bytes per rank keeps about w / (\(ranksPerNode) x \(probe)) messages per rank in flight, so each transfer rate is divided",
            "by inFlight's factor there (the rate with one message in flight);",
        ]) + [
            "the file keeps the closest rates that never grow with the working set (a larger one is never faster). A collective whose",
            "working set (its buffers per rank: an input and an output, twice its size; in place, its size) reaches an entry's bytes crosses",
            "the memory at that entry's rates (the largest such entry); a smaller one at the rates above.",
        ] + (inFlightRegimes.isEmpty ? [] : [
            "inFlight: our runner's ring all-gather (in place) with k \(probe) chunks in each rank's block, k messages per rank in flight, walking",
            "the same \(ByteCount.format(Self.inFlightWalkBytes)) per rank for every k, each block timing every k in turn: the node's rate ("
                + inFlightScan.map { "k = \($0.messages): \(gbps($0.gbps))" }.joined(separator: ", ") + "), the median block; the factor is",
            "its ratio to k = 1's in the same block, the median over the blocks. Beyond the caches a",
            "transfer moves at its working set's rate times the factor of the messages its sender has in flight, itself included.",
        ]))
        comments["  stepOverhead:", default: []].insert(contentsOf: [
            "stepOverhead: our runner's time per step beyond the latency: \(overheadProbe), minus the pair latency.",
        ], at: 0)
        var out = "# Topology of a measured CPU cluster, written by `allreduce calibrate` (GB/s = 1e9 bytes/s).\n"
        for line in topology.fileText(format: .yaml).split(separator: "\n", omittingEmptySubsequences: false) {
            if let key = comments.keys.first(where: { line.hasPrefix($0) }) {
                let indent = key.hasPrefix("  ") ? "  " : ""
                for c in comments[key]! { out += "\(indent)# \(c)\n" }
            }
            out += line + "\n"
        }
        return String(out.dropLast())
    }
}
