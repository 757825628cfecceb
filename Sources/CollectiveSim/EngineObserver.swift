/// Watches an ``EventEngine`` play: every transfer as it starts, and every event as it is
/// handled. The engine calls it only when one is set (``EventEngine/observer``), so a run
/// without one costs a nil check per transfer. ``ChromeTraceRecorder`` is the observer that
/// writes timelines.
///
/// An observer belongs to one run at a time: the engine calls it from the thread that runs it.
public protocol EngineObserver: AnyObject, Sendable {
    /// Transfer `slot` has started; its record (``ObservedTransfer``) says when it holds its links
    /// and when it completes.
    func transferStarted(_ transfer: ObservedTransfer)
    /// The engine handles the completion of the transfer in `slot` at `seconds`: every transfer
    /// started until the next call was started by what this completion released.
    func transferCompleting(slot: Int, atSeconds seconds: Double)
}

/// One transfer as the engine started it. Times are simulated seconds from the start of the run
/// (NCCL's launch time, ``ProtocolTiming/startSeconds``, is not included).
public struct ObservedTransfer: Sendable {
    /// The engine's record of the transfer: reused once the transfer completed, so an observer
    /// that follows transfers maps it to its own numbering at start.
    public var slot: Int
    /// Sending and receiving GPU (rank of the schedule).
    public var sourceRank: Int
    public var destinationRank: Int
    /// The lane (NCCL channel) both ends play it on; 0 without lanes.
    public var lane: Int
    /// Step indices of the send and the receive in their ranks' (lanes') programs; the receive is
    /// -1 for an eager send whose receive was not posted yet.
    public var sendStep: Int
    public var receiveStep: Int
    /// The pipelining chunk of the step that started it (``Step/chunk``).
    public var chunk: Int
    public var bytes: Double
    /// Whether the receive reduces (else it copies).
    public var reduces: Bool
    /// When the engine started it (both ends issued, or the eager send issued).
    public var startSeconds: Double
    /// When it got every link of its path, and when it released them (its wire bytes moved).
    public var linkBeginSeconds: Double
    public var linkEndSeconds: Double
    /// When the receiver's reduction of it starts (nil: no timed reduction).
    public var reduceBeginSeconds: Double?
    /// When it completes (arrival, or the end of its reduction), as it started. On a CPU cluster
    /// a later transfer between the same two ranks can delay it (their messages progress
    /// together); ``EngineObserver/transferCompleting(slot:atSeconds:)`` gives the time it did.
    public var completeSeconds: Double

    public init(slot: Int, sourceRank: Int, destinationRank: Int, lane: Int, sendStep: Int, receiveStep: Int, chunk: Int, bytes: Double,
                reduces: Bool, startSeconds: Double, linkBeginSeconds: Double, linkEndSeconds: Double, reduceBeginSeconds: Double?,
                completeSeconds: Double) {
        self.slot = slot
        self.sourceRank = sourceRank
        self.destinationRank = destinationRank
        self.lane = lane
        self.sendStep = sendStep
        self.receiveStep = receiveStep
        self.chunk = chunk
        self.bytes = bytes
        self.reduces = reduces
        self.startSeconds = startSeconds
        self.linkBeginSeconds = linkBeginSeconds
        self.linkEndSeconds = linkEndSeconds
        self.reduceBeginSeconds = reduceBeginSeconds
        self.completeSeconds = completeSeconds
    }
}
