import Testing
@testable import CollectiveCore

@Suite("SendReceiveMatcher")
struct SendReceiveMatcherTests {
    /// A posted step with a name to tell it by.
    struct Tagged: SendReceivePosting, Equatable {
        var name: String
        var step: Step
    }

    static func send(_ name: String, to peer: Int, offset: Int = 0, count: Int = 4) -> Tagged {
        Tagged(name: name, step: Step(kind: .send, peer: peer, offset: offset, count: count))
    }
    static func receive(_ name: String, from peer: Int, offset: Int = 0, count: Int = 4, reduce: Bool = true) -> Tagged {
        Tagged(name: name, step: Step(kind: reduce ? .recvReduce : .recvCopy, peer: peer, offset: offset, count: count))
    }

    @Test("sends and receives pair in FIFO order per (sender, receiver) pair, whichever side comes first")
    func fifoPerPair() {
        var m = SendReceiveMatcher<Tagged>(endpointCount: 3)
        // Rank 0 sends three messages to 1 and one to 2 before anything is received.
        #expect(m.post(Self.send("0>1 a", to: 1, offset: 0), of: 0) == nil)
        #expect(m.post(Self.send("0>2 a", to: 2, offset: 8), of: 0) == nil)
        #expect(m.post(Self.send("0>1 b", to: 1, offset: 4), of: 0) == nil)
        #expect(m.post(Self.send("0>1 c", to: 1, offset: 8), of: 0) == nil)
        // Rank 1 posts a receive from 2 first: it waits on its own pair, not on 0's sends.
        #expect(m.post(Self.receive("1<2 a", from: 2), of: 1) == nil)
        #expect(m.unmatchedCount == 5)
        #expect(m.waiting(from: 0, to: 1).map(\.name) == ["0>1 a", "0>1 b", "0>1 c"])
        #expect(m.waiting(from: 2, to: 1).map(\.name) == ["1<2 a"])

        let first = m.post(Self.receive("1<0 a", from: 0, offset: 0), of: 1)
        #expect(first?.send.name == "0>1 a" && first?.receive.name == "1<0 a")
        #expect(first?.sender == 0 && first?.receiver == 1)
        #expect(first?.mismatch == nil)
        // A message out of the middle of rank 0's list: its list stays in order around it.
        let toTwo = m.post(Self.receive("2<0 a", from: 0, offset: 8), of: 2)
        #expect(toTwo?.send.name == "0>2 a" && toTwo?.receiver == 2)
        let second = m.post(Self.receive("1<0 b", from: 0, offset: 4), of: 1)
        #expect(second?.send.name == "0>1 b")
        // Receive first, send later: the send pairs with the oldest receive.
        let fromTwo = m.post(Self.send("2>1 a", to: 1), of: 2)
        #expect(fromTwo?.send.name == "2>1 a" && fromTwo?.receive.name == "1<2 a")
        #expect(m.post(Self.receive("1<0 c", from: 0, offset: 8), of: 1)?.send.name == "0>1 c")
        #expect(m.unmatchedCount == 0)
        #expect(m.waiting(from: 0, to: 1).isEmpty)
        // The lists work on after they emptied (their records come back from the free list).
        #expect(m.post(Self.receive("1<0 d", from: 0), of: 1) == nil)
        #expect(m.post(Self.receive("1<0 e", from: 0), of: 1) == nil)
        #expect(m.post(Self.send("0>1 d", to: 1), of: 0)?.receive.name == "1<0 d")
        #expect(m.post(Self.send("0>1 e", to: 1), of: 0)?.receive.name == "1<0 e")
        #expect(m.unmatchedCount == 0)
    }

    @Test("one side at a time: take finds the oldest partner of the pair, wait keeps a step, in issue order")
    func oneSideAtATime() {
        var m = SendReceiveMatcher<Int>(endpointCount: 4)
        #expect(m.takeReceive(at: 1, from: 0) == nil)
        m.waitSend(10, from: 0, to: 1)
        m.waitSend(11, from: 0, to: 2)
        m.waitSend(12, from: 0, to: 1)
        m.waitReceive(20, at: 3, from: 0)
        #expect(m.unmatchedCount == 4)
        // The receive at 3 from 0 waits on its own list: 0's sends do not see it.
        #expect(m.takeSend(from: 0, to: 3) == nil)
        #expect(m.takeReceive(at: 3, from: 0) == 20)
        #expect(m.takeSend(from: 0, to: 1) == 10)
        // Taking the last of a list, then appending, keeps the order.
        #expect(m.takeSend(from: 0, to: 1) == 12)
        m.waitSend(13, from: 0, to: 1)
        #expect(m.waiting(from: 0, to: 2) == [11])
        #expect(m.takeSend(from: 0, to: 2) == 11)
        #expect(m.takeSend(from: 0, to: 1) == 13)
        #expect(m.takeSend(from: 0, to: 1) == nil)
        #expect(m.unmatchedCount == 0)
    }

    @Test("many pairs at once: every message pairs with its own, in order, against a per-pair reference")
    func againstReference() {
        // Random interleavings of sends and receives over 6 endpoints, each message numbered per
        // pair; a reference keeps one FIFO per pair in a dictionary.
        var rng = SplitMix64(seed: 7)
        let n = 6
        var m = SendReceiveMatcher<Int>(endpointCount: n)
        var sent = [Int: Int](), received = [Int: Int]()
        var pairs = 0
        for _ in 0..<4000 {
            let a = Int(rng.next() % UInt64(n)), b = (a + 1 + Int(rng.next() % UInt64(n - 1))) % n
            let key = a * n + b
            if rng.next() % 2 == 0 {
                let number = sent[key, default: 0]
                sent[key] = number + 1
                if let r = m.takeReceive(at: b, from: a) { #expect(r == number); pairs += 1 } else { m.waitSend(number, from: a, to: b) }
            } else {
                let number = received[key, default: 0]
                received[key] = number + 1
                if let s = m.takeSend(from: a, to: b) { #expect(s == number); pairs += 1 } else { m.waitReceive(number, at: b, from: a) }
            }
        }
        var unmatched = 0
        for key in Set(sent.keys).union(received.keys) { unmatched += abs(sent[key, default: 0] - received[key, default: 0]) }
        #expect(m.unmatchedCount == unmatched)
        #expect(pairs > 1000)
    }

    @Test("an endpoint outside 0..<endpointCount stops the process with a message, on either side")
    func outOfRange() async throws {
        let take = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var m = SendReceiveMatcher<Int>(endpointCount: 2)
            _ = m.takeSend(from: 5, to: 0)
        }
        #expect(String(decoding: try #require(take).standardErrorContent, as: UTF8.self).contains("outside 0..<2"))
        let wait = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var m = SendReceiveMatcher<Int>(endpointCount: 2)
            m.waitReceive(1, at: 1, from: 1)
        }
        #expect(String(decoding: try #require(wait).standardErrorContent, as: UTF8.self).contains("outside 0..<2 or itself"))
    }

    @Test("a matched pair reports a count mismatch before an offset mismatch")
    func mismatches() {
        var m = SendReceiveMatcher<Tagged>(endpointCount: 2)
        _ = m.post(Self.send("a", to: 1, offset: 0, count: 4), of: 0)
        #expect(m.post(Self.receive("b", from: 0, offset: 0, count: 5), of: 1)?.mismatch == .count(sent: 4, expected: 5))
        _ = m.post(Self.send("c", to: 1, offset: 2, count: 4), of: 0)
        #expect(m.post(Self.receive("d", from: 0, offset: 6, count: 4, reduce: false), of: 1)?.mismatch == .offset(sent: 2, received: 6))
        _ = m.post(Self.send("e", to: 1, offset: 2, count: 3), of: 0)
        #expect(m.post(Self.receive("f", from: 0, offset: 6, count: 4), of: 1)?.mismatch == .count(sent: 3, expected: 4))
    }

    @Test("switch endpoints (rankCount..<endpointCount) pair as ranks do")
    func switchEndpoints() {
        // Two ranks and one switch endpoint (2): the ranks send to the switch, which multicasts back.
        var m = SendReceiveMatcher<Tagged>(endpointCount: 3)
        #expect(m.post(Self.receive("s<0", from: 0), of: 2) == nil)
        #expect(m.post(Self.receive("s<1", from: 1), of: 2) == nil)
        #expect(m.post(Self.send("1>s", to: 2), of: 1)?.receive.name == "s<1")
        #expect(m.post(Self.send("0>s", to: 2), of: 0)?.receive.name == "s<0")
        #expect(m.post(Self.send("s>0", to: 0, count: 4), of: 2) == nil)
        let got = m.post(Self.receive("0<s", from: 2, reduce: false), of: 0)
        #expect(got?.send.name == "s>0" && got?.sender == 2 && got?.receiver == 0)
    }
}
