/// Recursive doubling: lg q rounds in which every rank exchanges its whole buffer with the rank
/// whose virtual number differs in bit j and reduces the partner's copy into its own (Thakur,
/// Rabenseifner and Gropp, IJHPCA 2005, section 4.5; Open MPI's
/// `ompi_coll_base_allreduce_intra_recursivedoubling`, coll_base_allreduce.c). Ranks beyond the
/// largest power of two q fold in first and get the result back last (``PowerOfTwoFold``), as in
/// ``RabenseifnerSchedule``.
///
/// A round is one message each way, as MPI's `MPI_Sendrecv` into a separate receive buffer: a
/// rank sends its range and receives the partner's copy of the same range at once; the receive
/// is a `recvReduce` with ``Step/reduceAfter`` naming the send, so executors hold the received
/// data in scratch and reduce it only once the send has completed. Each rank sends and reduces n
/// elements per round: `lg q (alpha + n beta + n gamma)`, plus for p not a power of two the fold
/// and unfold (``AlphaBetaGamma`` in CollectiveSim has the closed form). The operators are
/// commutative bit for bit (IEEE sum, product, minimum and maximum), so both partners of a round
/// hold the same bits after it.
///
/// The buffer moves as K chunks of at most chunkBytes (the fold, the rounds and the unfold cut
/// it alike), and chunk c of round j + 1 leaves as soon as chunk c of round j is reduced. Steps
/// of a core rank, in issue order:
///
///     [fold, if it has a folded partner]  for c: recvReduce(c) from the partner
///     for each round j, for c:  send(c)        [after chunk c of the previous round or fold]
///                               recvReduce(c)  [reduceAfter: that send]
///     [unfold]                  for c: send(c) to the partner  [after chunk c of the last round]
public struct RecursiveDoublingSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let elementSizeBytes: Int
    public let chunkBytes: Int
    public let fold: PowerOfTwoFold
    /// Chunks of the whole buffer (of the fold, of a round, of the unfold).
    let k: Int

    public var algorithm: AllreduceAlgorithm { .recursiveDoubling }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        elementSizeBytes = parameters.elementSizeBytes
        chunkBytes = parameters.chunkBytes
        fold = PowerOfTwoFold(rankCount: rankCount)
        k = chunkCount(elements: elementCount, elementSize: elementSizeBytes, chunkBytes: chunkBytes)
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
            foldSteps = folds ? schedule.k : 0
            coreSteps = v == nil ? 0 : rounds * 2 * schedule.k
        }

        var stepCount: Int {
            guard s.rankCount > 1 && s.elementCount > 0 else { return 0 }
            return v == nil ? 2 * s.k : foldSteps + coreSteps + foldSteps
        }

        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            let i = index
            index += 1
            let k = s.k
            let all = 0..<s.elementCount
            guard let v else {
                // Folded rank: send everything to the partner, then copy the result back.
                let c = i % k
                let x = _piece(c, of: all, pieces: k)
                if i < k { return Step(kind: .send, peer: rank + 1, offset: x.lowerBound, count: x.count, chunk: c) }
                return Step(kind: .recvCopy, peer: rank + 1, offset: x.lowerBound, count: x.count, chunk: c,
                            dependencies: StepDependencies(i - k))
            }
            if i < foldSteps {
                let x = _piece(i, of: all, pieces: k)
                return Step(kind: .recvReduce, peer: rank - 1, offset: x.lowerBound, count: x.count, chunk: i)
            }
            // The step that last wrote chunk c before round j (-1: none, the rank's own input).
            func lastWrite(_ c: Int, beforeRound j: Int) -> Int {
                j > 0 ? foldSteps + (j - 1) * 2 * k + 2 * c + 1 : (folds ? c : -1)
            }
            if i >= foldSteps + coreSteps {
                let c = i - foldSteps - coreSteps
                let x = _piece(c, of: all, pieces: k)
                return Step(kind: .send, peer: rank - 1, offset: x.lowerBound, count: x.count, chunk: c,
                            dependencies: StepDependencies(lastWrite(c, beforeRound: rounds)))
            }
            let local = i - foldSteps
            let j = local / (2 * k)
            let c = (local % (2 * k)) / 2
            let x = _piece(c, of: all, pieces: k)
            let peer = s.fold.rank(ofVirtual: v ^ (1 << j))
            if local % 2 == 0 {
                return Step(kind: .send, peer: peer, offset: x.lowerBound, count: x.count, chunk: c,
                            dependencies: StepDependencies(lastWrite(c, beforeRound: j)))
            }
            // Issued right after its send (so after the same dependency); reduced once the send completed.
            return Step(kind: .recvReduce, peer: peer, offset: x.lowerBound, count: x.count, chunk: c, reduceAfter: i - 1)
        }
    }
}
