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
///
/// A reduce-scatter is the fold and the recursive halving, an all-gather the recursive doubling
/// and the unfold (``Collective``), as MPICH's recursive-halving reduce-scatter and
/// recursive-doubling allgather (Thakur, Rabenseifner and Gropp 2005). Their blocks are the p
/// shards grouped by virtual rank: virtual rank v's block is the shards of the ranks it plays
/// for (two for a rank a partner folded into, one otherwise), so the core ends holding, or starts
/// from, exactly its ranks' shards. After the halving, the rank a partner folded into sends the
/// partner its shard; before the doubling, the partner sends it its shard; after the doubling it
/// sends the partner the whole buffer.
public struct RabenseifnerSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let collective: Collective
    /// The p shards of a reduce-scatter or an all-gather.
    public let shards: BlockPartition
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
        collective = parameters.collective
        shards = Collective.shards(elementCount: elementCount, rankCount: rankCount)
        elementSizeBytes = parameters.elementSizeBytes
        chunkBytes = parameters.chunkBytes
        fold = PowerOfTwoFold(rankCount: rankCount)
        blocks = BlockPartition(count: elementCount, parts: fold.coreCount)
    }

    /// lg q.
    var _coreRounds: Int { fold.coreCount.trailingZeroBitCount }

    func _pieces(_ elements: Int) -> Int { chunkCount(elements: elements, elementSize: elementSizeBytes, chunkBytes: chunkBytes) }

    /// The elements of virtual blocks lo ..< hi.
    func _blocks(_ lo: Int, _ hi: Int) -> Range<Int> {
        if collective == .allreduce { return blocks.offset(lo)..<blocks.offset(hi) }
        return shards.offset(_firstRank(lo))..<shards.offset(_firstRank(hi))
    }

    /// The first rank virtual rank v plays for (p for v = q).
    func _firstRank(_ v: Int) -> Int { v < fold.extraCount ? 2 * v : v + fold.extraCount }

    /// A round that moves `range` one way: a send to `peer`, or a receive of `kind` from it.
    func _oneWay(send: Bool, peer: Int, _ range: Range<Int>, _ kind: StepKind = .recvCopy) -> _Round {
        var round = _Round()
        round.pieces = _pieces(range.count)
        if send { round.sendPeer = peer; round.sendRange = range } else { round.recvPeer = peer; round.recvRange = range; round.recvKind = kind }
        return round
    }

    /// Round `index` of `rank`, or nil past the last.
    func _round(_ index: Int, rank: Int) -> _Round? {
        guard rankCount > 1 && elementCount > 0 else { return nil }
        let all = 0..<elementCount
        var round = _Round()
        guard let v = fold.virtualRank(of: rank) else {
            // Folded rank: hand the buffer (an all-gather: its shard) over, then take the result
            // (a reduce-scatter: its shard) back.
            switch index {
            case 0: return _oneWay(send: true, peer: rank + 1, collective == .allGather ? shards.range(rank) : all)
            case 1: return _oneWay(send: false, peer: rank + 1, collective == .reduceScatter ? shards.range(rank) : all)
            default: return nil
            }
        }
        let folds = fold.foldPartner(of: rank) != nil
        var i = index
        if folds {
            if i == 0 {
                return collective == .allGather ? _oneWay(send: false, peer: rank - 1, shards.range(rank - 1))
                    : _oneWay(send: false, peer: rank - 1, all, .recvReduce)
            }
            i -= 1
        }
        let m = _coreRounds
        let q = fold.coreCount
        if collective == .allGather { i += m }
        if i < m {
            // Reduce-scatter by recursive halving.
            let mask = q >> (i + 1)
            let w = q >> i
            let lo = (v / w) * w
            let lower = _blocks(lo, lo + w / 2), upper = _blocks(lo + w / 2, lo + w)
            let peer = fold.rank(ofVirtual: v ^ mask)
            let keepLower = v & mask == 0
            round.pieces = _pieces(collective == .allreduce ? blocks.offset(w / 2) : max(lower.count, upper.count))
            round.sendPeer = peer; round.sendRange = keepLower ? upper : lower
            round.recvPeer = peer; round.recvRange = keepLower ? lower : upper; round.recvKind = .recvReduce
            return round
        }
        i -= m
        if collective == .reduceScatter { i += m }
        if i < m {
            // Allgather by recursive doubling.
            let mask = 1 << i
            let w = mask
            let lo = (v / w) * w
            let plo = ((v ^ mask) / w) * w
            let peer = fold.rank(ofVirtual: v ^ mask)
            let mine = _blocks(lo, lo + w), theirs = _blocks(plo, plo + w)
            round.pieces = _pieces(collective == .allreduce ? blocks.offset(w) : max(mine.count, theirs.count))
            round.sendPeer = peer; round.sendRange = _blocks(lo, lo + w)
            round.recvPeer = peer; round.recvRange = _blocks(plo, plo + w); round.recvKind = .recvCopy
            return round
        }
        i -= m
        if folds && i == 0 {
            return _oneWay(send: true, peer: rank - 1, collective == .reduceScatter ? shards.range(rank - 1) : all)
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
