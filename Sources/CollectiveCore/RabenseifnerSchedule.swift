/// A round of a fold-based schedule: up to one send and one receive, each of `pieces` chunks,
/// issued as send piece c, receive piece c, ... The first step of a round waits for every earlier
/// step of the rank (a fence).
@usableFromInline
struct _Round: Sendable {
    var pieces = 0
    var sendPeer = -1
    var sendRange: Range<Int> = 0..<0
    var recvPeer = -1
    var recvRange: Range<Int> = 0..<0
    var recvKind: StepKind = .recvReduce
}

/// Rabenseifner's allreduce: a reduce-scatter by recursive halving, then an allgather by
/// recursive doubling (docs/Sources.md section 2).
///
/// With q = 2^floor(lg p), the buffer is cut into q Open MPI blocks. Ranks that are not part of
/// the power-of-two core fold into a partner first and get the result back last
/// (``PowerOfTwoFold``). In reduce-scatter round j (j = 0 ..< lg q) virtual rank v exchanges with
/// v xor q/2^(j+1): of the window of q/2^j blocks containing block v, it sends the half without
/// block v and reduces the partner's copy of the half with it; after lg q rounds it owns block v
/// fully reduced. The allgather retraces the rounds: in round j it swaps its window of 2^j blocks
/// with v xor 2^j. Every round is one message each way (cut into chunks of at most chunkBytes),
/// and starts once the previous round completed, so the cost is exactly
/// `(2 lg q + 2) alpha + (2 (q-1)/q + 2) n beta + (1 + (q-1)/q) n gamma` for p != q, and
/// `2 lg p alpha + 2 (p-1)/p n beta + (p-1)/p n gamma` for p = q.
public struct RabenseifnerSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let elementSizeBytes: Int
    public let chunkBytes: Int
    public let fold: PowerOfTwoFold
    /// The q blocks of the reduce-scatter.
    public let blocks: BlockPartition

    public var algorithm: AllreduceAlgorithm { .rabenseifner }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        elementSizeBytes = parameters.elementSizeBytes
        chunkBytes = parameters.chunkBytes
        fold = PowerOfTwoFold(rankCount: rankCount)
        blocks = BlockPartition(count: elementCount, parts: fold.coreCount)
    }

    /// lg q.
    var _coreRounds: Int { fold.coreCount.trailingZeroBitCount }

    func _pieces(_ elements: Int) -> Int { chunkCount(elements: elements, elementSize: elementSizeBytes, chunkBytes: chunkBytes) }

    func _blocks(_ lo: Int, _ hi: Int) -> Range<Int> { blocks.offset(lo)..<blocks.offset(hi) }

    /// Round `index` of `rank`, or nil past the last.
    func _round(_ index: Int, rank: Int) -> _Round? {
        guard rankCount > 1 && elementCount > 0 else { return nil }
        let all = 0..<elementCount
        var round = _Round()
        guard let v = fold.virtualRank(of: rank) else {
            // Folded rank: hand the buffer over, then take the result back.
            let partner = rank + 1
            round.pieces = _pieces(elementCount)
            switch index {
            case 0: round.sendPeer = partner; round.sendRange = all
            case 1: round.recvPeer = partner; round.recvRange = all; round.recvKind = .recvCopy
            default: return nil
            }
            return round
        }
        let folds = fold.foldPartner(of: rank) != nil
        var i = index
        if folds {
            if i == 0 {
                round.pieces = _pieces(elementCount)
                round.recvPeer = rank - 1; round.recvRange = all; round.recvKind = .recvReduce
                return round
            }
            i -= 1
        }
        let m = _coreRounds
        let q = fold.coreCount
        if i < m {
            // Reduce-scatter by recursive halving.
            let mask = q >> (i + 1)
            let w = q >> i
            let lo = (v / w) * w
            let lower = _blocks(lo, lo + w / 2), upper = _blocks(lo + w / 2, lo + w)
            let peer = fold.rank(ofVirtual: v ^ mask)
            let keepLower = v & mask == 0
            round.pieces = _pieces(blocks.offset(w / 2))
            round.sendPeer = peer; round.sendRange = keepLower ? upper : lower
            round.recvPeer = peer; round.recvRange = keepLower ? lower : upper; round.recvKind = .recvReduce
            return round
        }
        i -= m
        if i < m {
            // Allgather by recursive doubling.
            let mask = 1 << i
            let w = mask
            let lo = (v / w) * w
            let plo = ((v ^ mask) / w) * w
            let peer = fold.rank(ofVirtual: v ^ mask)
            round.pieces = _pieces(blocks.offset(w))
            round.sendPeer = peer; round.sendRange = _blocks(lo, lo + w)
            round.recvPeer = peer; round.recvRange = _blocks(plo, plo + w); round.recvKind = .recvCopy
            return round
        }
        i -= m
        if folds && i == 0 {
            round.pieces = _pieces(elementCount)
            round.sendPeer = rank - 1; round.sendRange = all
            return round
        }
        return nil
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "RabenseifnerSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank)
    }

    public struct Iterator: IteratorProtocol {
        let schedule: RabenseifnerSchedule
        let rank: Int
        var roundIndex = 0
        var round: _Round?
        var piece = 0
        var receivePending = false
        var produced = 0

        init(schedule: RabenseifnerSchedule, rank: Int) {
            self.schedule = schedule
            self.rank = rank
            round = schedule._round(0, rank: rank)
        }

        public mutating func next() -> Step? {
            while let r = round {
                if piece < r.pieces {
                    var deps = StepDependencies()
                    let first = piece == 0 && !receivePending && (r.sendPeer >= 0 || r.recvPeer >= 0)
                    if first && produced > 0 { deps.fence = true }
                    if !receivePending && r.sendPeer >= 0 {
                        if r.recvPeer >= 0 { receivePending = true } else { piece += 1 }
                        produced += 1
                        let x = _piece(piece - (receivePending ? 0 : 1), of: r.sendRange, pieces: r.pieces)
                        return Step(kind: .send, peer: r.sendPeer, offset: x.lowerBound, count: x.count, chunk: piece - (receivePending ? 0 : 1), dependencies: deps)
                    }
                    if receivePending { deps = StepDependencies() }
                    receivePending = false
                    let c = piece
                    piece += 1
                    produced += 1
                    let x = _piece(c, of: r.recvRange, pieces: r.pieces)
                    return Step(kind: r.recvKind, peer: r.recvPeer, offset: x.lowerBound, count: x.count, chunk: c, dependencies: deps)
                }
                roundIndex += 1
                piece = 0
                round = schedule._round(roundIndex, rank: rank)
            }
            return nil
        }
    }
}
