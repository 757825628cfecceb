import Testing
@testable import CollectiveFabric
@testable import CollectiveSim

/// A CPU node's memory serves same-node transfers in the order their data reaches it
/// (``MemoryCalendar``), not the order the engine issued them.
@Suite("CPU node memory: served in the order data reaches it")
struct MemoryCalendarTests {
    @Test("a reservation takes the earliest gap that holds it whole, from its data's arrival")
    func earliestGap() {
        var c = MemoryCalendar(nodes: 2)
        #expect(c.reserve(node: 0, notBefore: 0, hold: 1, now: 0) == 0)
        #expect(c.reserve(node: 0, notBefore: 3, hold: 1, now: 0) == 3)
        // Issued later, arriving earlier: the gap [1, 3) holds it.
        #expect(c.reserve(node: 0, notBefore: 0.5, hold: 2, now: 0) == 1)
        // No gap is left before 4; one of 1.5 s waits for the end of the last reservation.
        #expect(c.reserve(node: 0, notBefore: 0, hold: 1.5, now: 0) == 4)
        #expect(c.intervals(node: 0).map(\.start) == [0, 1, 3, 4])
        #expect(c.intervals(node: 0).map(\.end) == [1, 3, 4, 5.5])
        // Each node has its own memory.
        #expect(c.reserve(node: 1, notBefore: 0, hold: 1, now: 0) == 0)
    }

    @Test("a gap too short is skipped; reservations that end by now are forgotten")
    func skipsAndForgets() {
        var c = MemoryCalendar(nodes: 1)
        _ = c.reserve(node: 0, notBefore: 0, hold: 1, now: 0)
        _ = c.reserve(node: 0, notBefore: 1.5, hold: 1, now: 0)
        // The gap [1, 1.5) is too short for 1 s.
        #expect(c.reserve(node: 0, notBefore: 0, hold: 1, now: 0) == 2.5)
        // A zero-length hold fits any gap.
        #expect(c.reserve(node: 0, notBefore: 1, hold: 0, now: 0) == 1)
        #expect(c.reserve(node: 0, notBefore: 2, hold: 0.5, now: 2) == 3.5)
        #expect(c.intervals(node: 0).map(\.start) == [1.5, 2.5, 3.5])
        // Time moves past every reservation: the memory is free from its arrival again.
        #expect(c.reserve(node: 0, notBefore: 10, hold: 1, now: 10) == 10)
        #expect(c.intervals(node: 0).count == 1)
    }

    @Test("many reservations stay in order and never overlap", arguments: [1, 7, 100])
    func ordered(seed: UInt64) {
        var c = MemoryCalendar(nodes: 1)
        var random = SplitMix64(seed: seed)
        var now = 0.0
        for _ in 0..<500 {
            now += Double(random.next() % 100) / 1000
            let arrival = now + Double(random.next() % 1000) / 100
            let hold = Double(random.next() % 300) / 100
            let start = c.reserve(node: 0, notBefore: arrival, hold: hold, now: now)
            #expect(start >= arrival)
            let kept = Array(c.intervals(node: 0))
            #expect(kept.allSatisfy { $0.end > now || $0.start == start })
            for (a, b) in zip(kept, kept.dropFirst()) { #expect(a.end <= b.start) }
        }
    }

    @Test("two ranks posting a window of sends each: both directions move at once when the memory has room")
    func windowsInterleave() throws {
        let count = (1 << 20) / 4, window = 8
        // Rank r posts `window` sends to the other rank at once and receives as many.
        func steps(_ r: Int, sending: Bool, receiving: Bool) -> [Step] {
            (sending ? (0..<window).map { Step(kind: .send, peer: 1 - r, offset: $0 * count, count: count) } : [])
                + (receiving ? (0..<window).map { Step(kind: .recvCopy, peer: 1 - r, offset: $0 * count, count: count) } : [])
        }
        // Beyond the caches: one transfer alone moves at 1 GB/s, the node's memory at 4 GB/s.
        let dram = NodeMemorySpec.Regime(bytes: 1 << 20, transferGBps: 4, reduceGBps: 3, pairGBps: 1)
        let fabric = try CPUMemoryEngineTests.node(ranks: 2, memory: NodeMemorySpec(transferGBps: 4, reduceGBps: 3, workingSets: [dram]))
        let both = CPUMemoryEngineTests.Listed(elementCount: window * count, steps: [
            steps(0, sending: true, receiving: true), steps(1, sending: true, receiving: true)])
        let one = CPUMemoryEngineTests.Listed(elementCount: window * count, steps: [
            steps(0, sending: true, receiving: false), steps(1, sending: false, receiving: true)])
        let t = try EventEngine(fabric: fabric).run(both, elementSizeBytes: 4).timeSeconds
        let u = try EventEngine(fabric: fabric).run(one, elementSizeBytes: 4).timeSeconds
        // Each rank's sends take their turns on its own link (1 MiB / 1 GB/s each) and hold the
        // memory a quarter of that: the other rank's sends fit in the gaps, so both directions
        // take what one takes. (Served in issue order, rank 1's sends would wait for rank 0's
        // last reservation: 1.25 x as long.)
        #expect(abs(t / u - 1) < 1e-9, "\(t) vs \(u)")
        #expect(u >= Double(window) * Double(1 << 20) / 1e9 * (1 - 1e-9), "\(u)")
    }
}
