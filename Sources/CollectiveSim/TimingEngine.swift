import CollectiveCore
import CollectiveFabric

/// What every timing engine does: play a schedule's steps over a fabric's links and say when the
/// last rank finishes. The simulator and the tools hold an engine through this one interface, so
/// a new way of serving links plugs in without touching them.
///
/// - ``EventEngine``: FIFO link reservation, one event per transfer, any scale; it also plays
///   NCCL's protocols (``ProtocolTiming``) and a schedule's lanes apart (``LanedSchedule``).
/// - ``FairShareEngine``: max-min fair sharing of every link, up to ``FairShareEngine/maxRanks``.
public protocol TimingEngine: Sendable {
    /// The cluster the engine plays on.
    var fabric: FabricMap { get }
    /// Plays `schedule` (one rank per GPU of the fabric) with elements of `elementSizeBytes`.
    func run(any schedule: any Schedule, elementSizeBytes: Int) throws(SimulationError) -> EventResult
}

extension EventEngine: TimingEngine {}
extension FairShareEngine: TimingEngine {}

extension LinkService {
    /// The engine that serves links this way on `fabric`, for a run in place or not
    /// (``EventEngine/inPlace``; the fair-share engine plays no CPU node, where it matters).
    public func engine(fabric: FabricMap, inPlace: Bool = false) -> any TimingEngine {
        switch self {
        case .fifo: EventEngine(fabric: fabric, inPlace: inPlace)
        case .fair: FairShareEngine(fabric: fabric)
        }
    }
}
