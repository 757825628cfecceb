/// Ring allreduce: a reduce-scatter then an allgather around the ring 0 -> 1 -> ... -> p-1 -> 0.
///
/// The buffer is cut into p blocks as Open MPI cuts it (``BlockPartition``). At step s
/// (0 <= s < 2(p-1)) rank r sends block (r - s) mod p to r+1 and receives block (r - s - 1) mod p
/// from r-1, reducing it during the first p-1 steps and copying it during the last p-1. Each
/// rank sends 2(p-1)/p of the buffer: the bandwidth optimum (docs/Sources.md section 2).
///
/// Every block is moved as k pipelined chunks, k = ceil(largest block / chunkBytes), so step s+1
/// of chunk c can leave as soon as step s of chunk c has arrived. Steps of rank r, in issue order:
///
///     for s in 0 ..< 2(p-1), for c in 0 ..< k:
///         send(s, c)   waits for recv(s-1, c)            (it forwards what it just received)
///         recv(s, c)   waits for send(s+1-p, c) if s >= p-1 (it overwrites a block sent earlier)
///
/// A reduce-scatter is the first p-1 ring steps and an all-gather the last p-1
/// (``Collective``), each with blocks shifted by one (``RingPhases``) so that rank r ends the
/// reduce-scatter with its own shard r reduced and starts the all-gather from it.
public struct RingSchedule: Schedule {
    public let rankCount: Int
    public let elementCount: Int
    public let collective: Collective
    /// The ring steps this collective runs.
    public let phases: RingPhases
    /// Chunks per block.
    public let chunksPerBlock: Int
    public let blocks: BlockPartition

    public var algorithm: AllreduceAlgorithm { .ring }

    public init(_ parameters: ScheduleParameters) throws(ScheduleError) {
        try parameters.validate()
        rankCount = parameters.rankCount
        elementCount = parameters.elementCount
        collective = parameters.collective
        phases = RingPhases(collective, ranks: parameters.rankCount)
        blocks = BlockPartition(count: parameters.elementCount, parts: parameters.rankCount)
        chunksPerBlock = chunkCount(elements: blocks.maxSize, elementSize: parameters.elementSizeBytes, chunkBytes: parameters.chunkBytes)
    }

    /// Steps per rank: 2 (send and receive) x 2(p-1) ring steps (p-1 for a reduce-scatter or an
    /// all-gather) x chunks per block.
    public var stepsPerRank: Int {
        (rankCount <= 1 || elementCount == 0) ? 0 : 2 * phases.count * chunksPerBlock
    }

    public func makeSteps(forRank rank: Int) -> Iterator {
        precondition(rank >= 0 && rank < rankCount, "RingSchedule: rank \(rank) out of 0..<\(rankCount)")
        return Iterator(schedule: self, rank: rank)
    }

    /// A rank's steps, produced in order from a (ring step, chunk) cursor: no division per step
    /// but the one that cuts a block into chunks when there are several.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let rank: Int
        @usableFromInline let p: Int
        /// Chunks per block.
        @usableFromInline let k: Int
        @usableFromInline let nextRank: Int
        @usableFromInline let prevRank: Int
        /// Blocks: block b starts at `b * blockBase + min(b, blockExtra)` and holds
        /// `blockBase (+1 if b < blockExtra)` elements.
        @usableFromInline let blockBase: Int
        @usableFromInline let blockExtra: Int
        @usableFromInline let stepCount: Int
        /// The ring steps run (``RingPhases``).
        @usableFromInline let phases: RingPhases
        @usableFromInline var index = 0
        /// Ring step (counted from the first one this collective runs) and chunk of the next
        /// (send, receive) pair.
        @usableFromInline var s = 0
        @usableFromInline var c = 0

        init(schedule: RingSchedule, rank: Int) {
            self.rank = rank
            p = schedule.rankCount
            k = schedule.chunksPerBlock
            nextRank = (rank + 1) % p
            prevRank = (rank - 1 + p) % p
            blockBase = schedule.blocks.count / schedule.blocks.parts
            blockExtra = schedule.blocks.count % schedule.blocks.parts
            stepCount = schedule.stepsPerRank
            phases = schedule.phases
        }

        @inlinable
        public mutating func next() -> Step? {
            guard index < stepCount else { return nil }
            let i = index
            index = i + 1
            var deps = StepDependencies()
            let ringStep = phases.first + s
            if i & 1 == 0 {
                let piece = _piece(phases.sentBlock(position: rank, ringStep: ringStep))
                if s >= 1 { deps._d0 = Self._dependency(Self.index(step: s - 1, chunk: c, chunks: k, receive: true)) }
                return Step(kind: .send, peer: nextRank, offset: piece.lowerBound, count: piece.count, chunk: c, dependencies: deps)
            } else {
                let piece = _piece(phases.receivedBlock(position: rank, ringStep: ringStep))
                if s >= p - 1 { deps._d0 = Self._dependency(Self.index(step: s + 1 - p, chunk: c, chunks: k, receive: false)) }
                let step = Step(kind: ringStep < p - 1 ? .recvReduce : .recvCopy, peer: prevRank,
                                offset: piece.lowerBound, count: piece.count, chunk: c, dependencies: deps)
                c += 1
                if c == k { c = 0; s += 1 }
                return step
            }
        }

        /// Chunk `c` of block `block`: piece c of k near-equal pieces (the first `count % k` one
        /// element longer).
        @inlinable @inline(__always)
        func _piece(_ block: Int) -> Range<Int> {
            let lower = block * blockBase + Swift.min(block, blockExtra)
            let count = blockBase + (block < blockExtra ? 1 : 0)
            if k == 1 { return lower..<(lower + count) }
            let q = count / k
            let r = count - q * k
            let o = lower + c * q + Swift.min(c, r)
            return o..<(o + q + (c < r ? 1 : 0))
        }

        @inlinable @inline(__always)
        static func index(step s: Int, chunk c: Int, chunks k: Int, receive: Bool) -> Int {
            (s * k + c) * 2 + (receive ? 1 : 0)
        }

        /// A step index as a dependency (``StepDependencies`` holds 32-bit indices).
        @inlinable @inline(__always)
        static func _dependency(_ index: Int) -> Int32 {
            precondition(index >= 0 && index <= Int(Int32.max), "StepDependencies: step index \(index) out of range")
            return Int32(truncatingIfNeeded: index)
        }
    }
}
