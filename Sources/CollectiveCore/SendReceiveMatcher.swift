/// Pairs issued sends with issued receives, the rule every executor of a ``Schedule`` follows: a
/// send from a to b and a receive at b from a match in the order they were issued, per ordered
/// pair (a, b) (FIFO per pair, as MPI's non-overtaking rule and NCCL's connections have it).
///
/// `Posted` is what its user keeps per issued step (rank and step index, a pending record, ...);
/// the matcher keeps it with the ``Step`` until the other side is issued and hands both back as a
/// ``Match``. Endpoints are `0..<endpointCount`: ranks, then a schedule's switch endpoints
/// (``Schedule/switchCount``). Memory: the pairs that ever exchanged a message, and the unmatched
/// steps.
public struct SendReceiveMatcher<Posted> {
    /// A send and the receive it pairs with.
    public struct Match {
        public var send: Posted
        public var sendStep: Step
        public var receive: Posted
        public var receiveStep: Step
        /// The sending endpoint and the receiving one.
        public var sender: Int
        public var receiver: Int
        /// The 1-based number of this message among those from `sender` to `receiver`.
        public var message: Int

        @inlinable
        public init(send: Posted, sendStep: Step, receive: Posted, receiveStep: Step, sender: Int, receiver: Int, message: Int) {
            self.send = send
            self.sendStep = sendStep
            self.receive = receive
            self.receiveStep = receiveStep
            self.sender = sender
            self.receiver = receiver
            self.message = message
        }

        /// How the two steps disagree, if they do: element count first, then offset.
        public var mismatch: Mismatch? {
            if sendStep.count != receiveStep.count { return .count(sent: sendStep.count, expected: receiveStep.count) }
            if sendStep.offset != receiveStep.offset { return .offset(sent: sendStep.offset, received: receiveStep.offset) }
            return nil
        }
    }

    /// How a matched send and receive disagree.
    public enum Mismatch: Sendable, Hashable {
        /// The send carries `sent` elements; the receive expects `expected`.
        case count(sent: Int, expected: Int)
        /// The send reads at `sent`; the receive writes at `received` (elements would move).
        case offset(sent: Int, received: Int)
    }

    /// The unmatched steps of one ordered pair, oldest first. They are all sends or all receives:
    /// a step that finds the other kind waiting matches it instead of waiting.
    @usableFromInline
    struct _Pair {
        @usableFromInline var waiting: [(posted: Posted, step: Step)] = []
        @usableFromInline var head = 0
        @usableFromInline var matched = 0
        @inlinable init() {}
    }

    public let endpointCount: Int
    @usableFromInline var _pairs: [Int: _Pair] = [:]
    @usableFromInline var _unmatched = 0
    /// Unmatched steps over all pairs.
    public var unmatchedCount: Int { _unmatched }

    public init(endpointCount: Int) {
        self.endpointCount = endpointCount
    }

    /// Issues `step` of endpoint `endpoint`, whose peer is `step.peer` (in `0..<endpointCount`,
    /// not `endpoint`). Returns the pair it completes: with the oldest unmatched step of the other
    /// kind on its (sender, receiver) pair, if one waits; else the step waits.
    @inlinable
    public mutating func post(_ posted: Posted, step: Step, of endpoint: Int) -> Match? {
        precondition(step.peer >= 0 && step.peer < endpointCount && endpoint >= 0 && endpoint < endpointCount && step.peer != endpoint,
                     "SendReceiveMatcher: endpoint \(endpoint) names peer \(step.peer), outside 0..<\(endpointCount) or itself")
        let isSend = step.kind == .send
        let sender = isSend ? endpoint : step.peer, receiver = isSend ? step.peer : endpoint
        return _pairs[sender * endpointCount + receiver, default: _Pair()].post(posted, step: step, sender: sender, receiver: receiver,
                                                                               unmatched: &_unmatched)
    }

    /// The unmatched steps from `sender` to `receiver`, oldest first.
    public func waiting(from sender: Int, to receiver: Int) -> [(posted: Posted, step: Step)] {
        guard let pair = _pairs[sender * endpointCount + receiver] else { return [] }
        return Array(pair.waiting[pair.head...])
    }
}

extension SendReceiveMatcher._Pair {
    @inlinable
    mutating func post(_ posted: Posted, step: Step, sender: Int, receiver: Int, unmatched: inout Int) -> SendReceiveMatcher.Match? {
        guard head < waiting.count && (waiting[head].step.kind == .send) != (step.kind == .send) else {
            waiting.append((posted, step))
            unmatched += 1
            return nil
        }
        let other = waiting[head]
        head += 1
        if head == waiting.count { waiting.removeAll(keepingCapacity: true); head = 0 }
        unmatched -= 1
        matched += 1
        return step.kind == .send
            ? SendReceiveMatcher.Match(send: posted, sendStep: step, receive: other.posted, receiveStep: other.step,
                                       sender: sender, receiver: receiver, message: matched)
            : SendReceiveMatcher.Match(send: other.posted, sendStep: other.step, receive: posted, receiveStep: step,
                                       sender: sender, receiver: receiver, message: matched)
    }
}

extension SendReceiveMatcher: Sendable where Posted: Sendable {}
extension SendReceiveMatcher.Match: Sendable where Posted: Sendable {}
extension SendReceiveMatcher._Pair: Sendable where Posted: Sendable {}
