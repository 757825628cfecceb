/// Recursive doubling: lg q rounds in which every rank combines its whole buffer with the rank
/// whose virtual number differs in bit j (FACTS.md section 2); ranks beyond the largest power of
/// two q fold in first and get the result back last (``PowerOfTwoFold``), as in
/// ``RabenseifnerSchedule``.
///
/// A rank cannot send a range and reduce into the same range at the same time (the send still
/// reads it; there is no scratch buffer in a schedule), so each round's full exchange is done in
/// two half-exchanges over the buffer's two halves: the lower-numbered partner keeps the first
/// half, the other the second; each sends the half it does not keep and reduces the partner's
/// copy into the half it keeps, then sends its reduced half back, which the partner copies. Each
/// rank still sends n elements per round (the `n lg q beta` of the cost model), reduces n/2,
/// and uses two messages per round instead of one. Both halves move as chunks of at most
/// chunkBytes, and the send-back of chunk c leaves as soon as chunk c is reduced.
///
/// Steps of a round of a core rank, K chunks per half, in issue order:
///
///     for c: send(other half, c)  [after the previous round's last step on that piece]
///            recvReduce(kept half, c)  [same]
///     for c: send(kept half, c)  [after recvReduce(kept half, c)]
///            recvCopy(other half, c)  [after send(other half, c)]
public struct RecursiveDoublingSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let elementSizeBytes: Int
    public let chunkBytes: Int
    public let fold: PowerOfTwoFold
    let halves: BlockPartition
    /// Chunks per half.
    let k: Int
    /// Chunks of a whole-buffer fold or unfold.
    let foldPieces: Int

    public var algorithm: AllreduceAlgorithm { .recursiveDoubling }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        elementSizeBytes = parameters.elementSizeBytes
        chunkBytes = parameters.chunkBytes
        fold = PowerOfTwoFold(rankCount: rankCount)
        halves = BlockPartition(count: elementCount, parts: 2)
        k = chunkCount(elements: halves.maxSize, elementSize: elementSizeBytes, chunkBytes: chunkBytes)
        foldPieces = chunkCount(elements: elementCount, elementSize: elementSizeBytes, chunkBytes: chunkBytes)
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "RecursiveDoublingSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank)
    }

    /// Steps of `rank`, in order: [fold] rounds [unfold] as described above.
    public struct Iterator: IteratorProtocol {
        let s: RecursiveDoublingSchedule
        let rank: Int
        let v: Int?
        let folds: Bool
        let rounds: Int
        let foldSteps: Int
        let coreSteps: Int
        var index = 0

        init(schedule: RecursiveDoublingSchedule, rank: Int) {
            s = schedule
            self.rank = rank
            let active = schedule.rankCount > 1 && schedule.elementCount > 0
            v = active ? schedule.fold.virtualRank(of: rank) : nil
            folds = active && schedule.fold.foldPartner(of: rank) != nil
            rounds = schedule.fold.coreCount.trailingZeroBitCount
            foldSteps = folds ? schedule.foldPieces : 0
            coreSteps = v == nil ? 0 : rounds * 4 * schedule.k
        }

        var stepCount: Int {
            guard s.rankCount > 1 && s.elementCount > 0 else { return 0 }
            return v == nil ? 2 * s.foldPieces : foldSteps + coreSteps + foldSteps
        }

        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            let i = index
            index += 1
            let all = 0..<s.elementCount
            guard let v else {
                // Folded rank: send everything to the partner, then copy the result back.
                let c = i % s.foldPieces
                let x = _piece(c, of: all, pieces: s.foldPieces)
                if i < s.foldPieces { return Step(kind: .send, peer: rank + 1, offset: x.lowerBound, count: x.count, chunk: c) }
                return Step(kind: .recvCopy, peer: rank + 1, offset: x.lowerBound, count: x.count, chunk: c,
                            dependencies: StepDependencies(i - s.foldPieces))
            }
            if i < foldSteps {
                let x = _piece(i, of: all, pieces: s.foldPieces)
                return Step(kind: .recvReduce, peer: rank - 1, offset: x.lowerBound, count: x.count, chunk: i)
            }
            if i >= foldSteps + coreSteps {
                let c = i - foldSteps - coreSteps
                let x = _piece(c, of: all, pieces: s.foldPieces)
                var deps = StepDependencies()
                if c == 0 { deps.fence = true }
                return Step(kind: .send, peer: rank - 1, offset: x.lowerBound, count: x.count, chunk: c, dependencies: deps)
            }
            let k = s.k
            let local = i - foldSteps
            let j = local / (4 * k)
            let inRound = local % (4 * k)
            let phaseB = inRound >= 2 * k
            let c = (inRound % (2 * k)) / 2
            let second = inRound % 2 == 1
            let partner = v ^ (1 << j)
            let keep = v < partner ? 0 : 1
            let roundBase = foldSteps + j * 4 * k
            var deps = StepDependencies()
            let half: Int
            let kind: StepKind
            if !phaseB {
                half = second ? keep : 1 - keep
                kind = second ? .recvReduce : .send
                if j > 0 {
                    // The previous round's last step on this piece: its phase-B step on the half.
                    let prevPartner = v ^ (1 << (j - 1))
                    let prevKeep = v < prevPartner ? 0 : 1
                    deps.append(roundBase - 4 * k + 2 * k + 2 * c + (half == prevKeep ? 0 : 1))
                } else if folds && local == 0 {
                    deps.fence = true  // after the whole fold arrived (later steps issue after this one)
                }
            } else {
                half = second ? 1 - keep : keep
                kind = second ? .recvCopy : .send
                deps.append(roundBase + 2 * c + (second ? 0 : 1))
            }
            let x = _piece(c, of: s.halves.range(half), pieces: k)
            return Step(kind: kind, peer: s.fold.rank(ofVirtual: partner), offset: x.lowerBound, count: x.count, chunk: c, dependencies: deps)
        }
    }
}
