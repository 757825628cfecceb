import Testing
@testable import CollectiveCore

@Suite("SendReceiveMatcher")
struct SendReceiveMatcherTests {
    static func send(to peer: Int, offset: Int = 0, count: Int = 4) -> Step {
        Step(kind: .send, peer: peer, offset: offset, count: count)
    }
    static func receive(from peer: Int, offset: Int = 0, count: Int = 4, reduce: Bool = true) -> Step {
        Step(kind: reduce ? .recvReduce : .recvCopy, peer: peer, offset: offset, count: count)
    }

    @Test("sends and receives pair in FIFO order per (sender, receiver) pair, whichever side comes first")
    func fifoPerPair() {
        var m = SendReceiveMatcher<String>(endpointCount: 3)
        // Rank 0 sends three messages to 1 and one to 2 before anything is received.
        #expect(m.post("0>1 a", step: Self.send(to: 1, offset: 0), of: 0) == nil)
        #expect(m.post("0>2 a", step: Self.send(to: 2, offset: 8), of: 0) == nil)
        #expect(m.post("0>1 b", step: Self.send(to: 1, offset: 4), of: 0) == nil)
        #expect(m.post("0>1 c", step: Self.send(to: 1, offset: 8), of: 0) == nil)
        // Rank 1 posts a receive from 2 first: it waits on its own pair, not on 0's sends.
        #expect(m.post("1<2 a", step: Self.receive(from: 2), of: 1) == nil)
        #expect(m.unmatchedCount == 5)
        #expect(m.waiting(from: 0, to: 1).map(\.posted) == ["0>1 a", "0>1 b", "0>1 c"])

        let first = m.post("1<0 a", step: Self.receive(from: 0, offset: 0), of: 1)
        #expect(first?.send == "0>1 a" && first?.receive == "1<0 a")
        #expect(first?.sender == 0 && first?.receiver == 1 && first?.message == 1)
        #expect(first?.mismatch == nil)
        let second = m.post("1<0 b", step: Self.receive(from: 0, offset: 4), of: 1)
        #expect(second?.send == "0>1 b" && second?.message == 2)
        let toTwo = m.post("2<0 a", step: Self.receive(from: 0, offset: 8), of: 2)
        #expect(toTwo?.send == "0>2 a" && toTwo?.receiver == 2 && toTwo?.message == 1)
        // Receive first, send later: the send pairs with the oldest receive.
        let fromTwo = m.post("2>1 a", step: Self.send(to: 1), of: 2)
        #expect(fromTwo?.send == "2>1 a" && fromTwo?.receive == "1<2 a")
        #expect(m.post("1<0 c", step: Self.receive(from: 0, offset: 8), of: 1)?.send == "0>1 c")
        #expect(m.unmatchedCount == 0)
        #expect(m.waiting(from: 0, to: 1).isEmpty)
        // The message numbers go on per pair after the FIFO emptied.
        #expect(m.post("1<0 d", step: Self.receive(from: 0), of: 1) == nil)
        #expect(m.post("0>1 d", step: Self.send(to: 1), of: 0)?.message == 4)
    }

    @Test("a matched pair reports a count mismatch before an offset mismatch")
    func mismatches() {
        var m = SendReceiveMatcher<Int>(endpointCount: 2)
        _ = m.post(0, step: Self.send(to: 1, offset: 0, count: 4), of: 0)
        #expect(m.post(1, step: Self.receive(from: 0, offset: 0, count: 5), of: 1)?.mismatch == .count(sent: 4, expected: 5))
        _ = m.post(2, step: Self.send(to: 1, offset: 2, count: 4), of: 0)
        #expect(m.post(3, step: Self.receive(from: 0, offset: 6, count: 4, reduce: false), of: 1)?.mismatch == .offset(sent: 2, received: 6))
        _ = m.post(4, step: Self.send(to: 1, offset: 2, count: 3), of: 0)
        #expect(m.post(5, step: Self.receive(from: 0, offset: 6, count: 4), of: 1)?.mismatch == .count(sent: 3, expected: 4))
    }

    @Test("switch endpoints (rankCount..<endpointCount) pair as ranks do")
    func switchEndpoints() {
        // Two ranks and one switch endpoint (2): the ranks send to the switch, which multicasts back.
        var m = SendReceiveMatcher<Int>(endpointCount: 3)
        #expect(m.post(0, step: Self.receive(from: 0), of: 2) == nil)
        #expect(m.post(1, step: Self.receive(from: 1), of: 2) == nil)
        #expect(m.post(10, step: Self.send(to: 2), of: 1)?.receive == 1)
        #expect(m.post(11, step: Self.send(to: 2), of: 0)?.receive == 0)
        let back = m.post(12, step: Self.send(to: 0, count: 4), of: 2)
        #expect(back == nil)
        let got = m.post(13, step: Self.receive(from: 2, reduce: false), of: 0)
        #expect(got?.send == 12 && got?.sender == 2 && got?.receiver == 0)
    }
}
