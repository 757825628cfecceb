/// What one step of a rank's program does.
public enum StepKind: UInt8, Sendable, Hashable, CaseIterable {
    /// Send `count` elements starting at `offset` of this rank's buffer to `peer`.
    case send
    /// Receive `count` elements from `peer` and reduce them into `offset..<offset+count`.
    case recvReduce
    /// Receive `count` elements from `peer` and copy them over `offset..<offset+count`.
    case recvCopy

    /// Whether the step receives (and so writes this rank's buffer).
    @inlinable public var isReceive: Bool { self != .send }
}

/// Which links of its path a transfer holds in a timing engine.
///
/// Every schedule an executor runs on data uses ``full``. The other two exist for *folded*
/// playback (``FoldedTree``), where one node stands for every node of its place in a tree: a
/// transfer that stands for another node's message holds only the links on the played node's side
/// of the network, since the other side's links belong to a node that is not played.
public enum StepWire: UInt8, Sendable, Hashable, CaseIterable {
    /// The whole path: the sender's links, the network, the receiver's links.
    case full
    /// Only the sender's side (its GPU's links and NIC out, the leaf's uplink): a message a
    /// played node sends to a node that is not played.
    case senderSide
    /// Only the receiver's side (the spine's downlink, the NIC in, the receiving GPU's links): a
    /// message a played node receives from a node that is not played.
    case receiverSide
}

/// The earlier steps of the same rank that must have completed before a step may start.
///
/// Up to four explicit step indices, plus an optional *fence*: "every earlier step of this rank
/// has completed". Stored inline so that producing a step never allocates.
public struct StepDependencies: Sendable, Hashable, Sequence {
    public static let capacity = 4

    @usableFromInline var _d0: Int32 = -1
    @usableFromInline var _d1: Int32 = -1
    @usableFromInline var _d2: Int32 = -1
    @usableFromInline var _d3: Int32 = -1
    /// Every earlier step of the rank must have completed before this one starts.
    public var fence: Bool = false

    @inlinable public init() {}

    /// A fence: wait for every earlier step of this rank.
    @inlinable public static var fence: StepDependencies {
        var d = StepDependencies()
        d.fence = true
        return d
    }

    /// Dependencies on the given earlier step indices (at most ``capacity``; negative indices are ignored).
    @inlinable public init(_ indices: Int...) {
        for i in indices where i >= 0 { append(i) }
    }

    // One, two and three indices without the variadic form's array: the step iterators build a
    // step's dependencies on every step they produce, and the array is an allocation each time.

    /// A dependency on step `a` (none if negative).
    @inlinable @inline(__always) public init(_ a: Int) {
        if a >= 0 { append(a) }
    }

    /// Dependencies on steps `a` and `b` (negative ones ignored).
    @inlinable @inline(__always) public init(_ a: Int, _ b: Int) {
        if a >= 0 { append(a) }
        if b >= 0 { append(b) }
    }

    /// Dependencies on steps `a`, `b` and `c` (negative ones ignored).
    @inlinable @inline(__always) public init(_ a: Int, _ b: Int, _ c: Int) {
        if a >= 0 { append(a) }
        if b >= 0 { append(b) }
        if c >= 0 { append(c) }
    }

    /// Number of explicit step indices.
    @inlinable public var count: Int {
        (_d0 >= 0 ? 1 : 0) + (_d1 >= 0 ? 1 : 0) + (_d2 >= 0 ? 1 : 0) + (_d3 >= 0 ? 1 : 0)
    }

    @inlinable public var isEmpty: Bool { _d0 < 0 && !fence }

    /// Adds an explicit dependency on step `index` (>= 0). Precondition: fewer than ``capacity`` held.
    @inlinable public mutating func append(_ index: Int) {
        precondition(index >= 0 && index <= Int(Int32.max), "StepDependencies: step index \(index) out of range")
        let v = Int32(index)
        if _d0 < 0 { _d0 = v } else if _d1 < 0 { _d1 = v } else if _d2 < 0 { _d2 = v } else if _d3 < 0 { _d3 = v }
        else { preconditionFailure("StepDependencies: more than \(Self.capacity) explicit dependencies") }
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline var _deps: StepDependencies
        @usableFromInline var _position = 0
        @inlinable init(_ deps: StepDependencies) { _deps = deps }
        @inlinable public mutating func next() -> Int? {
            while _position < 4 {
                defer { _position += 1 }
                let v: Int32
                switch _position {
                case 0: v = _deps._d0
                case 1: v = _deps._d1
                case 2: v = _deps._d2
                default: v = _deps._d3
                }
                if v >= 0 { return Int(v) }
            }
            return nil
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(self) }
}

/// One step of one rank's program in a ``Schedule``.
///
/// Steps of a rank are *issued in order*: a step starts once every step it depends on has
/// completed, and a later step never starts before an earlier one. Sends and receives between
/// a pair of ranks match in order: the k-th send from a to b pairs with the k-th receive at b
/// from a (MPI's non-overtaking rule), and both carry the same element count.
///
/// A send's range must not be written, and a receive's range must not be read or written by a
/// later step, until the send or receive has completed; schedules express this with
/// dependencies, and ``ScheduleVerifier`` checks it.
///
/// One exception makes a full exchange one message each way (recursive doubling's round, MPI's
/// `MPI_Sendrecv` with a separate receive buffer): a `recvReduce` with ``reduceAfter`` set may be
/// issued while that earlier send of the same rank still reads the range. Executors receive its
/// data into scratch, and reduce it into the range, completing the step, only once the send
/// ``reduceAfter`` names has completed (the partner has the data). Its transfer is not held up:
/// the sender's step completes when the data has left, so two ranks that exchange a range both
/// ways never wait for each other. At the reduction no in-flight send of the rank may still read
/// the range (``ScheduleVerifier`` checks this).
public struct Step: Sendable, Hashable {
    public var kind: StepKind
    /// A send's links in a timing engine (``StepWire``): ``StepWire/full`` but in folded
    /// playback. Executors that move data ignore it; a folded schedule is for timing only.
    /// (Declared beside `kind`, in the byte after it, so a step stays 64 bytes.)
    public var wire: StepWire = .full
    /// The other rank.
    public var peer: Int
    /// First element of the range, in elements from the start of the rank's buffer.
    public var offset: Int
    /// Number of elements moved.
    public var count: Int
    /// The pipelining chunk this step belongs to (for tracing and statistics).
    public var chunk: Int
    /// Earlier steps of this rank that must complete first.
    public var dependencies: StepDependencies
    /// ``reduceAfter`` as stored (-1: none): 32-bit, as step indices are in ``StepDependencies``.
    @usableFromInline var _reduceAfter: Int32 = -1

    @inlinable
    public init(kind: StepKind, peer: Int, offset: Int, count: Int, chunk: Int = 0, dependencies: StepDependencies = StepDependencies(),
                reduceAfter: Int? = nil) {
        self.kind = kind
        self.peer = peer
        self.offset = offset
        self.count = count
        self.chunk = chunk
        self.dependencies = dependencies
        self.reduceAfter = reduceAfter
    }

    /// For a `recvReduce` only: the earlier send of this rank, over an overlapping range, that
    /// may still be in flight when this receive is issued; the reduction waits for it to complete
    /// (see the type's documentation). nil: an ordinary receive.
    @inlinable public var reduceAfter: Int? {
        get { _reduceAfter < 0 ? nil : Int(_reduceAfter) }
        set {
            guard let v = newValue else { _reduceAfter = -1; return }
            precondition(v >= 0 && v <= Int(Int32.max), "Step: reduceAfter \(v) out of range")
            _reduceAfter = Int32(v)
        }
    }

    /// The element range this step reads (send) or writes (receive).
    @inlinable public var range: Range<Int> { offset..<(offset + count) }
}
