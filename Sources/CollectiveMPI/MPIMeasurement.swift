// How `allreduce mpi` measures: iteration counts per size, the order of the timed blocks, and
// the statistics over ranks. MPI-free, so it is unit tested without mpirun.
//
// Sources of the method:
//   - OSU micro-benchmarks (OMB), mpi/collective/osu_allreduce.c and osu_coll.h / osu_util.h:
//     1000 timed iterations after a warm-up ("skip") for small messages, 100 after 10 above
//     LARGE_MESSAGE_SIZE (8192); each rank averages MPI_Wtime over its timed calls, then rank 0
//     prints the average, minimum and maximum of those per-rank latencies.
//   - nccl-tests, src/common.cu: `-w` warm-up iterations, a barrier, then `-n` back-to-back
//     iterations between two timer reads (one block); the time per iteration is the block
//     over `-n`.

/// Timed and warm-up iterations for each size: many at small sizes, fewer at large ones, as
/// OSU's osu_allreduce does.
public struct MPIIterationPlan: Sendable, Hashable {
    /// OSU's LARGE_MESSAGE_SIZE: sizes above this many bytes use the large counts.
    public static let osuLargeMessageThresholdBytes = 8192
    /// OSU's defaults: 1000 timed iterations after 100 warm-up below the threshold...
    public static let defaultIterations = 1000
    public static let defaultWarmupIterations = 100
    /// ...and 100 after 10 above it.
    public static let defaultIterationsLarge = 100
    public static let defaultWarmupIterationsLarge = 10

    /// Timed iterations per size and algorithm at sizes up to ``largeThresholdBytes``.
    public var iterations: Int
    public var warmupIterations: Int
    /// Timed iterations per size and algorithm at sizes above ``largeThresholdBytes``.
    public var iterationsLarge: Int
    public var warmupIterationsLarge: Int
    public var largeThresholdBytes: Int

    public init(iterations: Int, warmupIterations: Int, iterationsLarge: Int, warmupIterationsLarge: Int,
                largeThresholdBytes: Int = osuLargeMessageThresholdBytes) {
        self.iterations = iterations
        self.warmupIterations = warmupIterations
        self.iterationsLarge = iterationsLarge
        self.warmupIterationsLarge = warmupIterationsLarge
        self.largeThresholdBytes = largeThresholdBytes
    }

    /// The same counts at every size.
    public static func uniform(iterations: Int, warmupIterations: Int) -> MPIIterationPlan {
        MPIIterationPlan(iterations: iterations, warmupIterations: warmupIterations,
                         iterationsLarge: iterations, warmupIterationsLarge: warmupIterations)
    }

    /// The counts from the command line (nil: not given), by this rule:
    ///   - nothing given: OSU's 1000/100 up to 8 KiB, 100/10 above;
    ///   - `-n` given: that many timed iterations at every size, unless `--iterations-large`
    ///     is also given, which then sets the sizes above 8 KiB;
    ///   - `-w` and `--warmup-large` likewise for the warm-up.
    /// Throws a one-line reason for a count out of range.
    public static func resolve(iterations: Int?, warmupIterations: Int?, iterationsLarge: Int?,
                               warmupIterationsLarge: Int?) throws(MPIRunError) -> MPIIterationPlan {
        if let n = iterations, n < 1 { throw .invalid("-n (iterations) must be at least 1, got \(n)") }
        if let w = warmupIterations, w < 0 { throw .invalid("-w (warm-up iterations) must not be negative, got \(w)") }
        if let n = iterationsLarge, n < 1 { throw .invalid("--iterations-large must be at least 1, got \(n)") }
        if let w = warmupIterationsLarge, w < 0 { throw .invalid("--warmup-large must not be negative, got \(w)") }
        return MPIIterationPlan(
            iterations: iterations ?? defaultIterations,
            warmupIterations: warmupIterations ?? defaultWarmupIterations,
            iterationsLarge: iterationsLarge ?? iterations ?? defaultIterationsLarge,
            warmupIterationsLarge: warmupIterationsLarge ?? warmupIterations ?? defaultWarmupIterationsLarge)
    }

    /// Whether `sizeBytes` counts as large (strictly above the threshold, as OSU's `size >
    /// LARGE_MESSAGE_SIZE`).
    public func isLarge(sizeBytes: Int) -> Bool { sizeBytes > largeThresholdBytes }

    /// Timed iterations at this size.
    public func iterations(forSizeBytes sizeBytes: Int) -> Int {
        isLarge(sizeBytes: sizeBytes) ? iterationsLarge : iterations
    }

    /// Warm-up iterations before each timed block at this size.
    public func warmupIterations(forSizeBytes sizeBytes: Int) -> Int {
        isLarge(sizeBytes: sizeBytes) ? warmupIterationsLarge : warmupIterations
    }

    /// The rule in words, for the report's footer.
    public var summary: String {
        if iterations == iterationsLarge && warmupIterations == warmupIterationsLarge {
            return "\(iterations) timed iterations after \(warmupIterations) warm-up at every size"
        }
        return "\(iterations) timed iterations after \(warmupIterations) warm-up up to \(largeThresholdBytes) B, \(iterationsLarge) after \(warmupIterationsLarge) above"
    }
}

/// One timed block: `iterations` back-to-back calls of one algorithm, after its own warm-up
/// and a barrier.
public struct MPITimedBlock: Sendable, Hashable {
    /// Index into the run's algorithm list.
    public var algorithm: Int
    public var iterations: Int

    public init(algorithm: Int, iterations: Int) {
        self.algorithm = algorithm
        self.iterations = iterations
    }
}

/// The order of the timed blocks of one size. The timed iterations of each algorithm are split
/// into `rounds` blocks (as evenly as possible, the first blocks taking one more); each round
/// times every algorithm once, in list order in even rounds and in reverse in odd ones
/// (A B C, C B A, A B C, ...). With two rounds every algorithm gets one early and one late block
/// (A B B A), so a slow spell of a shared machine falls on them alike, while each block stays a
/// run of back-to-back calls as in OSU and nccl-tests. One algorithm alone has nothing to
/// alternate with: it is timed in one block, exactly OSU's one warm-up, barrier and span.
public func mpiTimedBlocks(algorithmCount: Int, iterations: Int, rounds: Int) -> [MPITimedBlock] {
    guard algorithmCount > 0, iterations > 0 else { return [] }
    let blockCount = algorithmCount == 1 ? 1 : max(1, min(rounds, iterations))
    var out: [MPITimedBlock] = []
    out.reserveCapacity(blockCount * algorithmCount)
    for round in 0..<blockCount {
        let share = iterations / blockCount + (round < iterations % blockCount ? 1 : 0)
        let order = round % 2 == 0 ? Array(0..<algorithmCount) : Array((0..<algorithmCount).reversed())
        for a in order { out.append(MPITimedBlock(algorithm: a, iterations: share)) }
    }
    return out
}

/// Time per call over the ranks, OSU's way: each rank's mean over its timed calls, then the
/// average, minimum and maximum over ranks.
public struct MPILatencyStatistics: Sendable, Hashable {
    public var averageMicroseconds: Double
    public var minimumMicroseconds: Double
    public var maximumMicroseconds: Double

    public init(averageMicroseconds: Double, minimumMicroseconds: Double, maximumMicroseconds: Double) {
        self.averageMicroseconds = averageMicroseconds
        self.minimumMicroseconds = minimumMicroseconds
        self.maximumMicroseconds = maximumMicroseconds
    }

    /// One rank's mean time per call: the summed block times over the timed calls (0 with no call).
    public static func perCallSeconds(totalSeconds: Double, iterations: Int) -> Double {
        iterations > 0 ? totalSeconds / Double(iterations) : 0
    }

    /// Average, minimum and maximum of every rank's mean time per call (seconds in, microseconds out).
    public init(perRankSeconds: [Double]) {
        guard let first = perRankSeconds.first else {
            self.init(averageMicroseconds: 0, minimumMicroseconds: 0, maximumMicroseconds: 0)
            return
        }
        var sum = 0.0
        var low = first
        var high = first
        for s in perRankSeconds {
            sum += s
            low = Swift.min(low, s)
            high = Swift.max(high, s)
        }
        // Clamped: the rounding of the sum must not put the average outside [min, max].
        let average = Swift.min(high, Swift.max(low, sum / Double(perRankSeconds.count)))
        self.init(averageMicroseconds: average * 1e6,
                  minimumMicroseconds: low * 1e6, maximumMicroseconds: high * 1e6)
    }
}

/// Whether the ranks on this node outnumber its online CPUs, so a rank that busy-polls keeps a
/// peer off the core it needs.
public func mpiIsOversubscribed(localRanks: Int, onlineCPUs: Int) -> Bool {
    localRanks > max(1, onlineCPUs)
}
