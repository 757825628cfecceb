import Testing
import CollectiveSim
import CollectiveCore

@Suite("Simulator module links")
struct SimulatorModuleTests {
    @Test("a ring schedule can be built from the simulator's imports")
    func builds() throws {
        let ring = try RingSchedule(ScheduleParameters(rankCount: 4, elementCount: 8, elementSizeBytes: 4))
        #expect(ring.stepsPerRank == 4 * 3)
    }
}
