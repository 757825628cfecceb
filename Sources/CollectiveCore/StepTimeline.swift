/// A bounded buffer of one rank's ``StepTimelineRecord``s for one traced run: an executor appends
/// a record as each step completes; beyond ``capacity`` records it counts them out instead, so a
/// traced run's memory is bounded whatever the schedule.
public struct StepTimeline: Sendable {
    /// Most records kept.
    public let capacity: Int
    public private(set) var records: [StepTimelineRecord] = []
    /// Records that did not fit.
    public private(set) var droppedCount = 0

    public init(capacity: Int) {
        self.capacity = Swift.max(0, capacity)
        records.reserveCapacity(Swift.min(self.capacity, 4096))
    }

    public mutating func append(_ record: StepTimelineRecord) {
        if records.count < capacity { records.append(record) } else { droppedCount += 1 }
    }

    public mutating func removeAll() {
        records.removeAll(keepingCapacity: true)
        droppedCount = 0
    }
}
