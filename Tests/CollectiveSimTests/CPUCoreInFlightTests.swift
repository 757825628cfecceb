import Testing
@testable import CollectiveFabric
@testable import CollectiveSim

/// Beyond a CPU node's caches: a rank's core copies and reduces in turn, and the node's
/// transfers move faster the more messages their sender keeps in flight (``NodeMemorySpec``).
@Suite("CPU node beyond its caches: the core that copies, messages in flight")
struct CPUCoreInFlightTests {
    typealias Listed = CPUMemoryEngineTests.Listed

    static func node(ranks: Int, memory: NodeMemorySpec) throws -> FabricMap { try CPUMemoryEngineTests.node(ranks: ranks, memory: memory) }

    static let mebibyte = Double(1 << 20)

    @Test("beyond the caches a message to a rank waits for the rank's reduction; in the caches it does not")
    func coreCopiesAndReducesInTurn() throws {
        let count = (1 << 20) / 4
        // Rank 0 reduces message A from rank 1 and copies message B from rank 2, both sent at once.
        let listed = Listed(elementCount: 2 * count, steps: [
            [Step(kind: .recvReduce, peer: 1, offset: 0, count: count), Step(kind: .recvCopy, peer: 2, offset: count, count: count)],
            [Step(kind: .send, peer: 0, offset: 0, count: count)],
            [Step(kind: .send, peer: 0, offset: count, count: count)],
        ])
        // The working set (2 MiB per rank) reaches the 1 MiB regime: beyond the caches.
        let dram = NodeMemorySpec.Regime(bytes: 1 << 20, transferGBps: 10, reduceGBps: 3)
        let beyond = try EventEngine(fabric: Self.node(ranks: 3, memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 3, workingSets: [dram])))
            .run(listed, elementSizeBytes: 4).timeSeconds
        // Each message holds the memory a = 1 MiB / 10 GB/s; rank 0 reduces A on its core at a
        // third of the node's 3 GB/s, r = 1 MiB / 1 GB/s. B's copy waits for that reduction.
        let a = Self.mebibyte / 10e9, r = Self.mebibyte / 1e9
        #expect(abs(beyond / (2 * a + r) - 1) < 1e-9, "\(beyond)")
        // The same rates without a working-set regime (in the caches): B moves while A reduces.
        let cached = try EventEngine(fabric: Self.node(ranks: 3, memory: NodeMemorySpec(transferGBps: 10, reduceGBps: 3)))
            .run(listed, elementSizeBytes: 4).timeSeconds
        #expect(abs(cached / (a + r) - 1) < 1e-9, "\(cached)")
    }

    @Test("beyond the caches a transfer moves at the factor of its sender's messages in flight, itself included, counted until they arrive")
    func messagesInFlight() throws {
        let count = (1 << 20) / 4
        let dram = NodeMemorySpec.Regime(bytes: 1 << 20, transferGBps: 10, reduceGBps: 3)
        let flight = [NodeMemorySpec.InFlight(messages: 1, factor: 1), NodeMemorySpec.InFlight(messages: 2, factor: 2)]
        let memory = NodeMemorySpec(transferGBps: 10, reduceGBps: 3, workingSets: [dram], inFlight: flight)
        let a = Self.mebibyte / 10e9
        // Rank 0 sends X to rank 1 and Y to rank 2 at once: X alone in flight (a), Y with X (a / 2),
        // one after the other on the memory.
        let both = Listed(elementCount: 2 * count, steps: [
            [Step(kind: .send, peer: 1, offset: 0, count: count), Step(kind: .send, peer: 2, offset: count, count: count)],
            [Step(kind: .recvCopy, peer: 0, offset: 0, count: count)],
            [Step(kind: .recvCopy, peer: 0, offset: count, count: count)],
        ])
        let t = try EventEngine(fabric: Self.node(ranks: 3, memory: memory)).run(both, elementSizeBytes: 4).timeSeconds
        #expect(abs(t / (1.5 * a) - 1) < 1e-9, "\(t)")
        // Without the table both take a.
        var plain = memory
        plain.inFlight = []
        let slow = try EventEngine(fabric: Self.node(ranks: 3, memory: plain)).run(both, elementSizeBytes: 4).timeSeconds
        #expect(abs(slow / (2 * a) - 1) < 1e-9, "\(slow)")
        // Y sent once X has arrived: one in flight again, a each.
        let after = Listed(elementCount: 2 * count, steps: [
            [Step(kind: .send, peer: 1, offset: 0, count: count), Step(kind: .send, peer: 2, offset: count, count: count, dependencies: StepDependencies(0))],
            [Step(kind: .recvCopy, peer: 0, offset: 0, count: count)],
            [Step(kind: .recvCopy, peer: 0, offset: count, count: count)],
        ])
        let u = try EventEngine(fabric: Self.node(ranks: 3, memory: memory)).run(after, elementSizeBytes: 4).timeSeconds
        #expect(abs(u / (2 * a) - 1) < 1e-9, "\(u)")
        // In the caches (no working-set regime reached: the run's input and output span 4 MiB
        // per rank) the table does not apply.
        var small = memory
        small.workingSets = [NodeMemorySpec.Regime(bytes: 8 << 20, transferGBps: 10, reduceGBps: 3)]
        let c = try EventEngine(fabric: Self.node(ranks: 3, memory: small)).run(both, elementSizeBytes: 4).timeSeconds
        #expect(abs(c / (2 * a) - 1) < 1e-9, "\(c)")
    }

    @Test("the factor interpolates in the logarithm of the count, clamped to the table's ends; an empty table gives 1")
    func factorInterpolates() {
        let m = NodeMemorySpec(transferGBps: 1, reduceGBps: 1, inFlight: [.init(messages: 1, factor: 1), .init(messages: 4, factor: 2), .init(messages: 16, factor: 3)])
        #expect(m.inFlightFactor(messages: 0) == 1)
        #expect(m.inFlightFactor(messages: 1) == 1)
        #expect(abs(m.inFlightFactor(messages: 2) - 1.5) < 1e-12)
        #expect(m.inFlightFactor(messages: 4) == 2)
        #expect(abs(m.inFlightFactor(messages: 8) - 2.5) < 1e-12)
        #expect(m.inFlightFactor(messages: 64) == 3)
        #expect(NodeMemorySpec(transferGBps: 1, reduceGBps: 1).inFlightFactor(messages: 8) == 1)
    }
}
