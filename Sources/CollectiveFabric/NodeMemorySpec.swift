/// The memory of a CPU node as one resource that every rank of the node shares: a same-node
/// transfer (Open MPI's shared-memory or loopback transport copies through it) and a reduction
/// (a rank's kernel reads two operands and writes one) both cross it.
///
/// Both rates are what all the ranks of the node get *together* (`allreduce calibrate` measures
/// them with every rank busy at once). The engines model the memory as one link per node: a
/// same-node transfer holds it for `bytes / transferGBps`, and, in the event engine, a reducing
/// receive then holds it for `bytes / reduceGBps` after its data has arrived (a CPU rank reduces
/// the received buffer; it does not stream the reduction with the data as a GPU kernel does).
/// GPU topologies leave it out (nil), and nothing changes for them.
///
/// A CPU's rates depend on the message: a message that fits in its caches is copied and reduced
/// many times faster than one that goes to DRAM (and Open MPI's shared-memory transport sends small
/// messages eagerly). ``cache`` gives the rates of messages up to a size; larger ones use the
/// rates above.
public struct NodeMemorySpec: Sendable, Hashable {
    /// Same-node transfers of all ranks together, GB/s of payload.
    public var transferGBps: Double
    /// Reductions of all ranks together, GB/s of one operand.
    public var reduceGBps: Double
    /// The rates of messages of at most ``Regime/bytes`` (nil: one regime).
    public var cache: Regime?

    /// The rates of messages up to a size.
    public struct Regime: Sendable, Hashable {
        /// The largest message (bytes) these rates apply to.
        public var bytes: Int
        public var transferGBps: Double
        public var reduceGBps: Double
        public init(bytes: Int, transferGBps: Double, reduceGBps: Double) {
            self.bytes = bytes
            self.transferGBps = transferGBps
            self.reduceGBps = reduceGBps
        }
    }

    public init(transferGBps: Double, reduceGBps: Double, cache: Regime? = nil) {
        self.transferGBps = transferGBps
        self.reduceGBps = reduceGBps
        self.cache = cache
    }
}
