import CCollectiveCore

/// Pairs issued sends with issued receives, the rule every executor of a ``Schedule`` follows: a
/// send from a to b and a receive at b from a match in the order they were issued, per ordered
/// pair (a, b) (FIFO per pair, as MPI's non-overtaking rule and NCCL's connections have it).
///
/// The verifier, the in-process executor and both timing engines pair their steps here.
///
/// `Posted` is what its user keeps per issued step (a step index, a pending record, ...); the
/// matcher keeps it until the other side is issued. Endpoints are `0..<endpointCount`: ranks,
/// then a schedule's switch endpoints (``Schedule/switchCount``), or whatever its user numbers
/// (the event engine's are rank-lanes).
///
/// Two levels:
/// - ``post(_:of:)`` for `Posted` values that carry their ``Step`` (``SendReceivePosting``):
///   issue a step, get back the ``Match`` it completes, with ``Match/mismatch``.
/// - ``takeReceive(at:from:)``, ``takeSend(from:to:)``, ``waitSend(_:from:to:)`` and
///   ``waitReceive(_:at:from:)``: the same rule, one side at a time, for a user that acts between
///   finding no partner and waiting (the event engine starts an eager send before it waits).
///
/// Storage: per endpoint, the unmatched sends it issued and the unmatched receives it posted,
/// each a FIFO list threaded through one pool of records reused from a free list. A step scans
/// its peer's list for the oldest entry naming it (lists are short: the steps a rank has in
/// flight). Memory: four 32-bit heads per endpoint, and one record per unmatched step (the pool
/// keeps its high-water mark).
public struct SendReceiveMatcher<Posted> {
    /// A record of the pool: an unmatched step, the peer it names, and the next of its list.
    @usableFromInline
    struct _Entry {
        @usableFromInline var next: Int32
        @usableFromInline var peer: Int32
        @usableFromInline var posted: Posted
        @inlinable init(next: Int32, peer: Int32, posted: Posted) {
            self.next = next
            self.peer = peer
            self.posted = posted
        }
    }

    public let endpointCount: Int
    /// Per endpoint, four entries: the head and tail of its unmatched sends, then of its
    /// unmatched receives (-1: empty).
    @usableFromInline var _lists: [Int32]
    @usableFromInline var _entries: [_Entry] = []
    @usableFromInline var _free: Int32 = -1
    @usableFromInline var _unmatched = 0

    /// Unmatched steps over all endpoints.
    public var unmatchedCount: Int { _unmatched }

    public init(endpointCount: Int) {
        precondition(endpointCount >= 0 && endpointCount < Int(Int32.max), "SendReceiveMatcher: \(endpointCount) endpoints")
        self.endpointCount = endpointCount
        _lists = Array(repeating: -1, count: 4 * endpointCount)
    }

    /// Starts loading `endpoint`'s list heads into the cache (no effect on results): a user that
    /// knows which peer its next step names calls it ahead of ``takeReceive(at:from:)`` or
    /// ``takeSend(from:to:)``, so the scan's first load is in flight meanwhile.
    @inlinable
    public func prefetchLists(of endpoint: Int) {
        guard endpoint >= 0 && endpoint < endpointCount else { return }
        _lists.withUnsafeBufferPointer { collective_prefetch(UnsafeRawPointer($0.baseAddress! + 4 * endpoint)) }
    }

    // MARK: One side at a time

    /// Removes and returns the oldest unmatched receive that `receiver` posted from `sender`:
    /// what a send from `sender` to `receiver` pairs with. Nil when none waits.
    @inlinable
    public mutating func takeReceive(at receiver: Int, from sender: Int) -> Posted? {
        _take(from: receiver, sends: false, naming: sender)
    }

    /// Removes and returns the oldest unmatched send from `sender` to `receiver`: what a receive
    /// at `receiver` from `sender` pairs with. Nil when none waits.
    @inlinable
    public mutating func takeSend(from sender: Int, to receiver: Int) -> Posted? {
        _take(from: sender, sends: true, naming: receiver)
    }

    /// Keeps a send from `sender` to `receiver` until a receive takes it. Call it only when
    /// ``takeReceive(at:from:)`` found nothing for the pair (or the pair's order breaks).
    @inlinable
    public mutating func waitSend(_ posted: Posted, from sender: Int, to receiver: Int) {
        _append(posted, to: sender, sends: true, naming: receiver)
    }

    /// Keeps a receive at `receiver` from `sender` until a send takes it. Call it only when
    /// ``takeSend(from:to:)`` found nothing for the pair.
    @inlinable
    public mutating func waitReceive(_ posted: Posted, at receiver: Int, from sender: Int) {
        _append(posted, to: receiver, sends: false, naming: sender)
    }

    /// The unmatched steps from `sender` to `receiver` (sends, or receives, whichever side came
    /// first), oldest first.
    public func waiting(from sender: Int, to receiver: Int) -> [Posted] {
        var out: [Posted] = []
        for (owner, sends, peer) in [(sender, true, receiver), (receiver, false, sender)] {
            var i = _lists[owner * 4 + (sends ? 0 : 2)]
            while i >= 0 {
                if Int(_entries[Int(i)].peer) == peer { out.append(_entries[Int(i)].posted) }
                i = _entries[Int(i)].next
            }
        }
        return out
    }

    @inlinable
    mutating func _take(from owner: Int, sends: Bool, naming peer: Int) -> Posted? {
        precondition(owner >= 0 && owner < endpointCount && peer >= 0 && peer < endpointCount,
                     "SendReceiveMatcher: endpoints \(owner) and \(peer), outside 0..<\(endpointCount)")
        let h = owner &* 4 &+ (sends ? 0 : 2)
        let peer32 = Int32(truncatingIfNeeded: peer)
        var free = _free
        let taken: Posted? = _lists.withUnsafeMutableBufferPointer { lists in
            var i = lists[h]
            guard i >= 0 else { return nil }
            return _entries.withUnsafeMutableBufferPointer { e in
                var prev: Int32 = -1
                while i >= 0 && e[Int(i)].peer != peer32 { prev = i; i = e[Int(i)].next }
                guard i >= 0 else { return nil }
                // Unlink it, and give its record to the free list.
                let next = e[Int(i)].next
                if prev < 0 { lists[h] = next } else { e[Int(prev)].next = next }
                if lists[h &+ 1] == i { lists[h &+ 1] = prev }
                e[Int(i)].next = free
                free = i
                return e[Int(i)].posted
            }
        }
        guard let taken else { return nil }
        _free = free
        _unmatched -= 1
        return taken
    }

    @inlinable
    mutating func _append(_ posted: Posted, to owner: Int, sends: Bool, naming peer: Int) {
        precondition(peer >= 0 && peer < endpointCount && owner >= 0 && owner < endpointCount && peer != owner,
                     "SendReceiveMatcher: endpoint \(owner) names peer \(peer), outside 0..<\(endpointCount) or itself")
        let entry = _Entry(next: -1, peer: Int32(truncatingIfNeeded: peer), posted: posted)
        let i: Int32
        if _free >= 0 {
            i = _free
            _free = _entries.withUnsafeMutableBufferPointer { e in
                let next = e[Int(i)].next
                e[Int(i)] = entry
                return next
            }
        } else {
            precondition(_entries.count < Int(Int32.max), "SendReceiveMatcher: more than 2^31 unmatched steps")
            i = Int32(truncatingIfNeeded: _entries.count)
            _entries.append(entry)
        }
        let h = owner &* 4 &+ (sends ? 0 : 2)
        _lists.withUnsafeMutableBufferPointer { lists in
            let tail = lists[h &+ 1]
            if tail < 0 { lists[h] = i } else { _entries.withUnsafeMutableBufferPointer { $0[Int(tail)].next = i } }
            lists[h &+ 1] = i
        }
        _unmatched += 1
    }
}

/// What a ``SendReceiveMatcher`` keeps of an issued step when it pairs whole steps
/// (``SendReceiveMatcher/post(_:of:)``): the step itself, and whatever its user adds.
public protocol SendReceivePosting {
    var step: Step { get }
}

extension SendReceiveMatcher where Posted: SendReceivePosting {
    /// A send and the receive it pairs with.
    public struct Match {
        public var send: Posted
        public var receive: Posted
        /// The sending endpoint and the receiving one.
        public var sender: Int
        public var receiver: Int

        @inlinable
        public init(send: Posted, receive: Posted, sender: Int, receiver: Int) {
            self.send = send
            self.receive = receive
            self.sender = sender
            self.receiver = receiver
        }

        /// How the two steps disagree, if they do: element count first, then offset.
        public var mismatch: Mismatch? {
            let s = send.step, r = receive.step
            if s.count != r.count { return .count(sent: s.count, expected: r.count) }
            if s.offset != r.offset { return .offset(sent: s.offset, received: r.offset) }
            return nil
        }
    }

    /// Issues the step `posted` carries, of endpoint `endpoint`, whose peer is `step.peer` (in
    /// `0..<endpointCount`, not `endpoint`). Returns the pair it completes: with the oldest
    /// unmatched step of the other kind on its (sender, receiver) pair, if one waits; else the
    /// step waits.
    @inlinable
    public mutating func post(_ posted: Posted, of endpoint: Int) -> Match? {
        let step = posted.step
        precondition(step.peer >= 0 && step.peer < endpointCount && endpoint >= 0 && endpoint < endpointCount && step.peer != endpoint,
                     "SendReceiveMatcher: endpoint \(endpoint) names peer \(step.peer), outside 0..<\(endpointCount) or itself")
        if step.kind == .send {
            if let receive = takeReceive(at: step.peer, from: endpoint) {
                return Match(send: posted, receive: receive, sender: endpoint, receiver: step.peer)
            }
            waitSend(posted, from: endpoint, to: step.peer)
        } else {
            if let send = takeSend(from: step.peer, to: endpoint) {
                return Match(send: send, receive: posted, sender: step.peer, receiver: endpoint)
            }
            waitReceive(posted, at: endpoint, from: step.peer)
        }
        return nil
    }
}

/// How a matched send and receive disagree.
public enum SendReceiveMismatch: Sendable, Hashable {
    /// The send carries `sent` elements; the receive expects `expected`.
    case count(sent: Int, expected: Int)
    /// The send reads at `sent`; the receive writes at `received` (elements would move).
    case offset(sent: Int, received: Int)
}

extension SendReceiveMatcher {
    /// How a matched send and receive disagree (``SendReceiveMismatch``).
    public typealias Mismatch = SendReceiveMismatch
}

extension SendReceiveMatcher: Sendable where Posted: Sendable {}
extension SendReceiveMatcher._Entry: Sendable where Posted: Sendable {}
extension SendReceiveMatcher.Match: Sendable where Posted: Sendable {}
