/// A symbolic check that a ``Schedule`` is a correct allreduce.
///
/// The verifier plays the schedule without data. Every element of every rank carries the set of
/// ranks whose contribution it holds (a bitset per rank and per *segment*: the elements between
/// two consecutive step boundaries, which always move together). It checks that:
///
/// - every step is well formed: its peer is another rank, its range lies in the buffer, its
///   dependencies point to earlier steps;
/// - the k-th send from a to b meets the k-th receive at b from a, with the same element count
///   and the same offset (an allreduce never moves an element to another position);
/// - no rank waits forever: ranks are driven by ``RankProgress`` with *rendezvous* semantics
///   (a send and its receive complete together, once both are issued), and a state in which
///   no transfer can complete while steps remain is a deadlock;
/// - no hazard: a receive is never issued over a range an in-flight step of the same rank reads
///   or writes, and a send is never issued from a range an in-flight receive writes; a
///   receive-reduce with ``Step/reduceAfter`` (a staged receive: its data waits in scratch) may be
///   issued over a range an earlier send still reads, names an earlier send, and at its
///   reduction, once that send has completed, no in-flight send may read the range;
/// - a receive-reduce never adds a contribution the range already holds (a double count), and at
///   the end every element of every rank holds every rank's contribution exactly once;
/// - for a reduce-scatter or an all-gather (``Schedule/collective``), what that collective
///   leaves instead: rank r's shard r holds every rank's contribution exactly once (the rest of
///   its buffer is not checked); every element of every rank holds exactly its shard owner's data,
///   each rank starting with its own shard only, and no step reduces;
///
/// under several completion orders (``CompletionOrder``): which of the transfers ready at the same
/// time completes first changes which steps are in flight together.
public struct ScheduleVerifier {
    /// Which ready transfer completes next.
    public enum CompletionOrder: Sendable, Hashable, CustomStringConvertible {
        /// The transfer that became ready first.
        case fifo
        /// The transfer that became ready last (lazy completion: old transfers linger in flight).
        case lifo
        /// A transfer chosen by a seeded generator.
        case random(seed: UInt64)

        public var description: String {
            switch self {
            case .fifo: "fifo"
            case .lifo: "lifo"
            case .random(let seed): "random(seed: \(seed))"
            }
        }

        /// FIFO, LIFO and one seeded random order.
        public static let standard: [CompletionOrder] = [.fifo, .lifo, .random(seed: 0x5EED)]
    }

    /// What a successful verification saw.
    public struct Summary: Sendable, Hashable {
        /// Steps of all ranks.
        public var stepCount: Int
        /// Send steps of all ranks.
        public var messageCount: Int
        /// The most elements any one rank sends.
        public var maxElementsSentPerRank: Int
        /// The most steps one rank had in flight at once (over all completion orders played).
        public var maxInFlightPerRank: Int
    }

    /// Refuses schedules whose contribution sets would need more than this many bytes.
    public var memoryLimitBytes: Int = 1 << 30

    public init() {}

    /// Verifies `schedule` under every order in `orders`; throws
    /// ``ScheduleError/verificationFailed(_:)`` naming the rank, step and element at fault.
    @discardableResult
    public func verify<S: Schedule>(_ schedule: S, orders: [CompletionOrder] = CompletionOrder.standard) throws(ScheduleError) -> Summary {
        let p = schedule.rankCount
        let e = schedule.endpointCount
        let n = schedule.elementCount
        guard p >= 1, n >= 0, e >= p else { throw .verificationFailed("schedule has \(p) ranks and \(n) elements") }

        // Pass 1: static checks and segment boundaries.
        var boundary = [Bool](repeating: false, count: n + 1)
        boundary[0] = true
        boundary[n] = true
        let collective = schedule.collective
        if collective != .allreduce {
            let shards = Collective.shards(elementCount: n, rankCount: p)
            for r in 0..<p { boundary[shards.offset(r)] = true }
        }
        var summary = Summary(stepCount: 0, messageCount: 0, maxElementsSentPerRank: 0, maxInFlightPerRank: 0)
        for r in 0..<e {
            var it = schedule.makeSteps(forRank: r)
            var index = 0
            var sent = 0
            while let step = it.next() {
                let where_ = "\(r < p ? "rank" : "switch endpoint") \(r) step \(index) (\(Self.describe(step)))"
                guard step.peer >= 0 && step.peer < e else {
                    throw .verificationFailed("\(where_): peer \(step.peer) is not a rank of 0..<\(p)\(e > p ? " or a switch endpoint of \(p)..<\(e)" : "")")
                }
                guard r < p || step.peer < p else { throw .verificationFailed("\(where_): a switch endpoint exchanges data with ranks only") }
                guard step.peer != r else { throw .verificationFailed("\(where_): a rank cannot send to or receive from itself") }
                guard step.count >= 0 && step.offset >= 0 && step.offset + step.count <= n else {
                    throw .verificationFailed("\(where_): range \(step.offset)..<\(step.offset + step.count) is outside the buffer 0..<\(n)")
                }
                for d in step.dependencies where d >= index {
                    throw .verificationFailed("\(where_): depends on step \(d), which is not earlier")
                }
                guard collective != .allGather || step.kind != .recvReduce else {
                    throw .verificationFailed("\(where_): an all-gather copies and never reduces")
                }
                if let a = step.reduceAfter {
                    guard step.kind == .recvReduce && a < index else {
                        throw .verificationFailed("\(where_): reduceAfter \(a) needs a receive-reduce and an earlier step")
                    }
                }
                boundary[step.offset] = true
                boundary[step.offset + step.count] = true
                if step.kind == .send {
                    sent += step.count
                    summary.messageCount += 1
                }
                index += 1
            }
            summary.stepCount += index
            if r < p { summary.maxElementsSentPerRank = max(summary.maxElementsSentPerRank, sent) }
        }
        var segmentOf = [Int32](repeating: 0, count: n + 1)
        var segmentStart: [Int] = []
        var s: Int32 = -1
        for e in 0...n {
            if boundary[e] && e < n { s += 1; segmentStart.append(e) }
            segmentOf[e] = e == n ? s + 1 : s
        }
        let segments = segmentStart.count
        let words = (p + 63) / 64
        let (bytes, overflow) = e.multipliedReportingOverflow(by: segments * words * 8)
        guard !overflow && bytes <= memoryLimitBytes else {
            throw .invalidParameter("schedule too large to verify: \(e) ranks and switch endpoints x \(segments) segments x \(words) words")
        }
        for order in orders {
            var play = _VerifierPlay(schedule: schedule, segmentOf: segmentOf, segmentStart: segmentStart, words: words, order: order)
            do {
                try play.run()
            } catch {
                throw .verificationFailed("\(error.message) [completion order \(order)]")
            }
            summary.maxInFlightPerRank = max(summary.maxInFlightPerRank, play.maxInFlight)
        }
        return summary
    }

    static func describe(_ step: Step) -> String {
        let what: String
        switch step.kind {
        case .send: what = "send to \(step.peer)"
        case .recvReduce: what = "recvReduce from \(step.peer)"
        case .recvCopy: what = "recvCopy from \(step.peer)"
        }
        return "\(what), elements \(step.offset)..<\(step.offset + step.count)"
    }
}

struct _VerifierFailure: Error {
    var message: String
}

/// One play of a schedule under one completion order.
/// A rank's step iterator behind an existential, so the play below is not generic: playing a
/// schedule opened from `any Schedule` then needs no generic-metadata look-ups per step.
struct _AnySteps: IteratorProtocol {
    var base: any IteratorProtocol<Step>
    mutating func next() -> Step? { base.next() }
}

struct _VerifierPlay {
    struct Issued: SendReceivePosting {
        var rank: Int
        var index: Int
        var step: Step
    }
    struct Transfer {
        var send: Issued
        var recv: Issued
    }

    /// Ranks (whose contributions are tracked and whose results are checked).
    let p: Int
    /// Ranks and switch endpoints (``Schedule/switchCount``): a switch starts holding nothing.
    let e: Int
    let n: Int
    let segmentOf: [Int32]
    let segmentStart: [Int]
    let words: Int
    let order: ScheduleVerifier.CompletionOrder
    /// What the ranks start with and must end with, and its shards.
    let collective: Collective
    let shards: BlockPartition
    var progress: [RankProgress<_AnySteps>]
    var inFlight: [[Int: Issued]]
    /// Per rank and segment: the in-flight receive writing it (step index, or -1) and the number of in-flight sends reading it.
    var writer: [Int32]
    var readers: [Int32]
    var matcher: SendReceiveMatcher<Issued>
    var ready: [Transfer] = []
    var readyHead = 0
    var bits: [UInt64]
    var rng: SplitMix64
    var maxInFlight = 0
    /// Per rank: staged receives whose data arrived (the sender's contribution sets, captured when
    /// the transfer completed) and which wait for the send their reduction follows.
    var parked: [[(recv: Issued, bits: [UInt64])]]

    init<S: Schedule>(schedule: S, segmentOf: [Int32], segmentStart: [Int], words: Int, order: ScheduleVerifier.CompletionOrder) {
        p = schedule.rankCount
        e = schedule.endpointCount
        n = schedule.elementCount
        self.segmentOf = segmentOf
        self.segmentStart = segmentStart
        self.words = words
        self.order = order
        progress = (0..<e).map { RankProgress(_AnySteps(base: schedule.makeSteps(forRank: $0))) }
        matcher = SendReceiveMatcher(endpointCount: e)
        inFlight = Array(repeating: [:], count: e)
        parked = Array(repeating: [], count: e)
        writer = Array(repeating: -1, count: e * segmentStart.count)
        readers = Array(repeating: 0, count: e * segmentStart.count)
        let segments = segmentStart.count
        collective = schedule.collective
        shards = Collective.shards(elementCount: n, rankCount: p)
        bits = Array(repeating: 0, count: e * segments * words)
        for r in 0..<p {
            for seg in 0..<segments where collective != .allGather || shards.block(containing: segmentStart[seg]) == r {
                bits[(r * segments + seg) * words + r / 64] = 1 << UInt64(r % 64)
            }
        }
        rng = SplitMix64(seed: { if case .random(let seed) = order { return seed } else { return 0 } }())
    }

    mutating func run() throws(_VerifierFailure) {
        for r in 0..<e { try issue(r) }
        while let t = nextReady() {
            try complete(t)
            try issue(t.send.rank)
            try issue(t.recv.rank)
        }
        var stuck: [String] = []
        for r in 0..<e where !progress[r].isFinished() {
            stuck.append(blockedReason(r))
            if stuck.count == 3 { break }
        }
        if !stuck.isEmpty {
            throw _VerifierFailure(message: "deadlock: no transfer can complete while steps remain; " + stuck.joined(separator: "; "))
        }
        try checkFinal()
    }

    mutating func nextReady() -> Transfer? {
        guard readyHead < ready.count else { return nil }
        switch order {
        case .fifo:
            let t = ready[readyHead]
            readyHead += 1
            if readyHead == ready.count { ready.removeAll(keepingCapacity: true); readyHead = 0 }
            return t
        case .lifo:
            let t = ready.removeLast()
            if readyHead == ready.count { ready.removeAll(keepingCapacity: true); readyHead = 0 }
            return t
        case .random:
            let z = rng.next()
            let i = readyHead + Int(z % UInt64(ready.count - readyHead))
            ready.swapAt(i, ready.count - 1)
            let t = ready.removeLast()
            if readyHead == ready.count { ready.removeAll(keepingCapacity: true); readyHead = 0 }
            return t
        }
    }

    static func describe(_ x: Issued) -> String {
        "rank \(x.rank) step \(x.index) (\(ScheduleVerifier.describe(x.step)))"
    }

    mutating func issue(_ r: Int) throws(_VerifierFailure) {
        while let (index, step) = progress[r].issueNext() {
            let x = Issued(rank: r, index: index, step: step)
            // Hazards against the rank's steps still in flight, segment by segment.
            if step.count > 0 {
                let segments = segmentStart.count
                let lo = r * segments + Int(segmentOf[step.offset]), hi = r * segments + Int(segmentOf[step.offset + step.count])
                for g in lo..<hi {
                    if writer[g] >= 0, let y = inFlight[r][Int(writer[g])] {
                        throw _VerifierFailure(message: "hazard: \(Self.describe(x)) \(step.kind.isReceive ? "writes" : "reads") elements that in-flight step \(y.index) (\(ScheduleVerifier.describe(y.step))) still writes")
                    }
                    if step.kind.isReceive && readers[g] > 0 && step.reduceAfter == nil {
                        let element = segmentStart[g - r * segments]
                        let y = inFlight[r].values.filter { $0.step.kind == .send && $0.step.range.contains(element) }.min { $0.index < $1.index }
                        throw _VerifierFailure(message: "hazard: \(Self.describe(x)) writes elements that in-flight step \(y.map { "\($0.index) (\(ScheduleVerifier.describe($0.step)))" } ?? "(a send)") still reads")
                    }
                }
                for g in lo..<hi {
                    if step.kind.isReceive { writer[g] = Int32(index) } else { readers[g] += 1 }
                }
            }
            inFlight[r][index] = x
            maxInFlight = max(maxInFlight, inFlight[r].count)
            if let m = matcher.post(x, of: r) { ready.append(try Self.transfer(m)) }
        }
    }

    /// The transfer a matched send and receive make, or the failure that they disagree.
    static func transfer(_ m: SendReceiveMatcher<Issued>.Match) throws(_VerifierFailure) -> Transfer {
        let s = m.send, v = m.receive
        switch m.mismatch {
        case .count?:
            throw _VerifierFailure(message: "message from rank \(s.rank) to rank \(v.rank): \(Self.describe(s)) carries \(s.step.count) elements but \(Self.describe(v)) expects \(v.step.count)")
        case .offset?:
            throw _VerifierFailure(message: "message from rank \(s.rank) to rank \(v.rank): \(Self.describe(s)) is received by \(Self.describe(v)) at another offset (elements would move)")
        case nil:
            return Transfer(send: s, recv: v)
        }
    }

    mutating func complete(_ t: Transfer) throws(_VerifierFailure) {
        let segments = segmentStart.count
        let lo = Int(segmentOf[t.recv.step.offset]), hi = Int(segmentOf[t.recv.step.offset + t.recv.step.count])
        if t.recv.step.reduceAfter != nil {
            // A staged receive: the data leaves the sender now; the reduction waits for its send.
            let src = (t.send.rank * segments + lo) * words, end = (t.send.rank * segments + hi) * words
            parked[t.recv.rank].append((t.recv, t.recv.step.count > 0 ? Array(bits[src..<end]) : []))
            try retire(t.send)
            try applyParked(t.recv.rank)
            return
        }
        if t.recv.step.count > 0 {
            let src = t.send.rank * segments, dst = t.recv.rank * segments
            let w = words
            let reduce = t.recv.step.kind == .recvReduce
            let clash: (seg: Int, rank: Int)? = bits.withUnsafeMutableBufferPointer { b in
                let bits = b.baseAddress!
                for seg in lo..<hi {
                    let a = bits + (src + seg) * w, d = bits + (dst + seg) * w
                    if reduce {
                        for k in 0..<w where a[k] & d[k] != 0 {
                            return (seg, (a[k] & d[k]).trailingZeroBitCount + 64 * k)
                        }
                        for k in 0..<w { d[k] |= a[k] }
                    } else {
                        d.update(from: a, count: w)
                    }
                }
                return nil
            }
            if let clash {
                throw _VerifierFailure(message: "double count: \(Self.describe(t.recv)) adds rank \(clash.rank)'s contribution to element \(segmentStart[clash.seg]), which already holds it")
            }
        }
        try retire(t.send)
        try retire(t.recv)
    }

    /// Reduces the staged receives of rank `r` whose send has completed, and retires them.
    mutating func applyParked(_ r: Int) throws(_VerifierFailure) {
        while let i = parked[r].firstIndex(where: { progress[r].isCompleted($0.recv.step.reduceAfter!) }) {
            let (x, captured) = parked[r].remove(at: i)
            if x.step.count > 0 {
                let segments = segmentStart.count
                let lo = Int(segmentOf[x.step.offset]), hi = Int(segmentOf[x.step.offset + x.step.count])
                let w = words
                for seg in lo..<hi where readers[r * segments + seg] > 0 {
                    let element = segmentStart[seg]
                    let y = inFlight[r].values.filter { $0.step.kind == .send && $0.step.range.contains(element) }.min { $0.index < $1.index }
                    throw _VerifierFailure(message: "hazard: \(Self.describe(x)) reduces into elements that in-flight step \(y.map { "\($0.index) (\(ScheduleVerifier.describe($0.step)))" } ?? "(a send)") still reads")
                }
                for seg in lo..<hi {
                    let d = (r * segments + seg) * w, a = (seg - lo) * w
                    for k in 0..<w where captured[a + k] & bits[d + k] != 0 {
                        let rank = (captured[a + k] & bits[d + k]).trailingZeroBitCount + 64 * k
                        throw _VerifierFailure(message: "double count: \(Self.describe(x)) adds rank \(rank)'s contribution to element \(segmentStart[seg]), which already holds it")
                    }
                    for k in 0..<w { bits[d + k] |= captured[a + k] }
                }
            }
            try retire(x)
        }
    }

    mutating func retire(_ x: Issued) throws(_VerifierFailure) {
        progress[x.rank].complete(x.index)
        inFlight[x.rank][x.index] = nil
        if x.step.count > 0 {
            let segments = segmentStart.count
            let lo = x.rank * segments + Int(segmentOf[x.step.offset]), hi = x.rank * segments + Int(segmentOf[x.step.offset + x.step.count])
            for g in lo..<hi {
                if x.step.kind.isReceive { writer[g] = -1 } else { readers[g] -= 1 }
            }
        }
        if x.step.kind == .send && !parked[x.rank].isEmpty { try applyParked(x.rank) }
    }

    mutating func blockedReason(_ r: Int) -> String {
        if let pending = inFlight[r].values.min(by: { $0.index < $1.index }) {
            return "\(Self.describe(pending)) is never matched by rank \(pending.step.peer)"
        }
        let next = progress[r].nextIndex
        guard let step = progress[r].peek() else { return "rank \(r) finished" }
        let waits = step.dependencies.filter { !progress[r].isCompleted($0) }.map(String.init)
        return "rank \(r) step \(next) (\(ScheduleVerifier.describe(step))) waits for steps [\(waits.joined(separator: ", "))]"
    }

    func checkFinal() throws(_VerifierFailure) {
        if collective == .allGather { return try checkGathered() }
        let segments = segmentStart.count
        let lastWord: UInt64 = p % 64 == 0 ? ~0 : (1 << UInt64(p % 64)) - 1
        let bad: (rank: Int, seg: Int)? = bits.withUnsafeBufferPointer { b in
            for r in 0..<p {
                for seg in 0..<segments where collective == .allreduce || shards.block(containing: segmentStart[seg]) == r {
                    let base = (r * segments + seg) * words
                    for k in 0..<words where b[base + k] != (k == words - 1 ? lastWord : ~0) { return (r, seg) }
                }
            }
            return nil
        }
        guard let (r, seg) = bad else { return }
        let base = (r * segments + seg) * words
        var missing: [Int] = []
        for q in 0..<p where bits[base + q / 64] & (1 << UInt64(q % 64)) == 0 {
            missing.append(q)
            if missing.count == 4 { break }
        }
        throw _VerifierFailure(message: "rank \(r) element \(segmentStart[seg]) ends without the contribution of rank(s) \(missing.map(String.init).joined(separator: ", "))\(missing.count == 4 ? ", ..." : "")")
    }

    /// An all-gather's end: every element of every rank holds its shard owner's data alone.
    func checkGathered() throws(_VerifierFailure) {
        let segments = segmentStart.count
        for r in 0..<p {
            for seg in 0..<segments {
                let owner = shards.block(containing: segmentStart[seg])
                let base = (r * segments + seg) * words
                for k in 0..<words where bits[base + k] != (k == owner / 64 ? 1 << UInt64(owner % 64) : 0) {
                    var held: [Int] = []
                    for q in 0..<p where bits[base + q / 64] & (1 << UInt64(q % 64)) != 0 { held.append(q) }
                    throw _VerifierFailure(message: "rank \(r) element \(segmentStart[seg]) ends with the data of rank(s) [\(held.prefix(4).map(String.init).joined(separator: ", "))] instead of rank \(owner)'s")
                }
            }
        }
    }
}
