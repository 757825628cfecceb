/// Ring allreduce: a reduce-scatter then an allgather around the ring 0 -> 1 -> ... -> p-1 -> 0.
///
/// The buffer is cut into p blocks as Open MPI cuts it (``BlockPartition``). At step s
/// (0 <= s < 2(p-1)) rank r sends block (r - s) mod p to r+1 and receives block (r - s - 1) mod p
/// from r-1, reducing it during the first p-1 steps and copying it during the last p-1. Each
/// rank sends 2(p-1)/p of the buffer: the bandwidth optimum (FACTS.md section 2).
///
/// Every block is moved as k pipelined chunks, k = ceil(largest block / chunkBytes), so step s+1
/// of chunk c can leave as soon as step s of chunk c has arrived. Steps of rank r, in issue order:
///
///     for s in 0 ..< 2(p-1), for c in 0 ..< k:
///         send(s, c)   waits for recv(s-1, c)            (it forwards what it just received)
///         recv(s, c)   waits for send(s+1-p, c) if s >= p-1 (it overwrites a block sent earlier)
public struct RingSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    /// Chunks per block.
    public let chunksPerBlock: Int
    public let blocks: BlockPartition

    public var algorithm: AllreduceAlgorithm { .ring }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        blocks = BlockPartition(count: parameters.elementCount, parts: parameters.rankCount)
        chunksPerBlock = chunkCount(elements: blocks.maxSize, elementSize: parameters.elementSizeBytes, chunkBytes: parameters.chunkBytes)
    }

    /// Steps per rank: 2 (send and receive) x 2(p-1) ring steps x chunks per block.
    public var stepsPerRank: Int {
        (rankCount <= 1 || elementCount == 0) ? 0 : 4 * (rankCount - 1) * chunksPerBlock
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "RingSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank)
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let schedule: RingSchedule
        @usableFromInline let rank: Int
        @usableFromInline var index = 0

        init(schedule: RingSchedule, rank: Int) {
            self.schedule = schedule
            self.rank = rank
        }

        public mutating func next() -> Step? {
            guard index < schedule.stepsPerRank else { return nil }
            defer { index += 1 }
            let p = schedule.rankCount
            let k = schedule.chunksPerBlock
            let pair = index / 2
            let s = pair / k
            let c = pair % k
            if index % 2 == 0 {
                let block = ((rank - s) % p + p) % p
                let piece = Self.piece(c, of: schedule.blocks.range(block), chunks: k)
                var deps = StepDependencies()
                if s >= 1 { deps.append(Self.index(step: s - 1, chunk: c, chunks: k, receive: true)) }
                return Step(kind: .send, peer: (rank + 1) % p, offset: piece.lowerBound, count: piece.count, chunk: c, dependencies: deps)
            } else {
                let block = ((rank - s - 1) % p + 2 * p) % p
                let piece = Self.piece(c, of: schedule.blocks.range(block), chunks: k)
                var deps = StepDependencies()
                if s >= p - 1 { deps.append(Self.index(step: s + 1 - p, chunk: c, chunks: k, receive: false)) }
                return Step(
                    kind: s < p - 1 ? .recvReduce : .recvCopy, peer: (rank - 1 + p) % p,
                    offset: piece.lowerBound, count: piece.count, chunk: c, dependencies: deps)
            }
        }

        @inline(__always)
        static func index(step s: Int, chunk c: Int, chunks k: Int, receive: Bool) -> Int {
            (s * k + c) * 2 + (receive ? 1 : 0)
        }

        /// Piece `c` of `k` near-equal pieces of `block` (the first `count % k` one element longer).
        @inline(__always)
        static func piece(_ c: Int, of block: Range<Int>, chunks k: Int) -> Range<Int> {
            let part = BlockPartition(count: block.count, parts: k)
            let r = part.range(c)
            return (block.lowerBound + r.lowerBound)..<(block.lowerBound + r.upperBound)
        }
    }
}
