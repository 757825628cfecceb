#if MPI
import CMPI
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
#if canImport(Glibc)
import Glibc
#endif

/// One pair class's point-to-point figures (`MPI_Send`/`MPI_Recv` of bytes).
public struct MPIPairFigures: Sendable, Hashable {
    /// The two ranks of the ping-pong.
    public var first: Int
    public var second: Int
    /// Half the round trip of a `latencyProbeBytes` ping-pong, microseconds.
    public var latencyMicroseconds: Double
    /// `probeBytes` over (half the round trip of a `probeBytes` ping-pong minus the latency), GB/s:
    /// one pair alone.
    public var pingPongGBps: Double
    /// `probeBytes` over the time of one `MPI_Sendrecv` of `probeBytes` when every rank that has a
    /// partner of this class exchanges at once, GB/s per rank and direction.
    public var concurrentGBps: Double
    /// Ranks that exchanged at once.
    public var concurrentRanks: Int
}

/// What `allreduce calibrate` measures on the machine it runs on (``MPICalibration/measure``):
/// figures every rank holds alike.
public struct MPICalibration: Sendable {
    /// Each node's host name (`gethostname`), in node order (the node of rank 0 first).
    public var hostnames: [String]
    public var layout: MPINodeLayout
    /// Bytes of the bandwidth probes (ping-pong, exchange, copy, reduction).
    public var probeBytes: Int
    /// Bytes of the latency probe.
    public static let latencyProbeBytes = 8
    /// Two ranks of one node, through whatever transport Open MPI picked (`--mca btl`); nil with
    /// one rank per node.
    public var sameNode: MPIPairFigures?
    /// Two ranks on different nodes; nil on one node.
    public var acrossNodes: MPIPairFigures?
    /// Every rank of a node copies `probeBytes` (`memcpy`) at once: the node's bytes copied per
    /// second, GB/s (the slowest node).
    public var memoryCopyGBps: Double
    /// Our runner's ring all-gather of `probeBytes` messages over each node's ranks, every node
    /// at once: the node's payload bytes moved per second, GB/s, net of the latency and step
    /// overhead of its steps (nil with one rank per node).
    public var memoryTransferGBps: Double?
    /// Our runner's ring reduce-scatter of `probeBytes` messages over each node's ranks, every
    /// node at once, its reductions of received messages timed where they run
    /// (``runnerReduce``): the node's operand bytes reduced per second, GB/s, of the chosen type
    /// (nil with one rank per node). The model's reduction rate.
    public var runnerReduceGBps: Double?
    /// Every rank of a node reduces `probeBytes` (our kernel alone, into a buffer 16 x larger) at
    /// once: the node's operand bytes per second, GB/s, per element type (sum).
    public var reduceGBps: [(DataType, Double)]
    /// One rank alone reducing float (the kernel's own rate), GB/s.
    public var singleRankReduceGBps: Double
    /// Our runner's time per ring step beyond the pair latency, microseconds: a ring allreduce of
    /// one element per rank, timed per step, minus the same-node (or across-node) latency.
    public var stepOverheadMicroseconds: Double
    /// Below the probe size: for messages of 8 KiB, 16 KiB, ... up to half the probe, the node's
    /// transfer rate (our runner's ring all-gather of messages of that size over the node's
    /// ranks, every node at once, net of the latency and step overhead of its steps) and
    /// reduction rate of the chosen type (its ring reduce-scatter's reductions, ``runnerReduce``),
    /// GB/s. Empty with one rank per node.
    public var sizeScan: [(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double?)]
    /// The smallest size of ``sizeScan``: below the 32 KiB messages of a 64 KiB allreduce over
    /// two ranks, the smallest the predictions are checked at, so the scan straddles the TCP
    /// transport's eager limit (64 KiB; shared memory's, 4 KiB, is below it).
    public static let scanStartBytes = 8 << 10
    /// Above the probe: for working sets of 2, 4, 8, ... times the probe up to the largest
    /// asked for, the node's transfer and reduction rates in our runner's ring all-gather and
    /// reduce-scatter of that many bytes per rank chunked at the probe, as a collective of that
    /// size walks its buffers (its data no longer fits in the caches: DRAM). Empty with one rank
    /// per node.
    public var workingSetScan: [(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double?)]
    /// The node's transfer rate, GB/s, in our runner's ring all-gather with k probe-sized chunks
    /// in flight per rank (k = `MeasuredCluster.inFlightCounts`), walking the same buffers for
    /// every k (``inFlightRates``): beyond the caches, how the rate grows with the messages a rank
    /// keeps in flight; and the factor, that rate over the rate with one in flight (the median of
    /// ratios within a block). Empty with one rank per node, or when no working set was scanned.
    public var inFlightScan: [(messages: Int, gbps: Double, factor: Double)]
    /// Steps per run of that ring, and its time per step, microseconds.
    public var overheadProbeSteps: Int
    public var overheadProbeMicrosecondsPerStep: Double

    /// Measures the machine: collective over `world`, every rank must call it. `iterations` per
    /// bandwidth probe (the latency and step probes run 20 times as many).
    public static func measure(_ world: Communicator, probeBytes: Int, iterations: Int, reduceType: DataType = .float32,
                               types: [DataType] = DataType.allCases, largestWorkingSetBytes: Int = 0) -> MPICalibration {
        let layout = MPIAllreduceBenchmark.readLayout(world)
        let local = world.splitShared()
        defer { local.free() }
        // Host names, one per node, in node order.
        var nameBuffer = [UInt8](repeating: 0, count: 256)
        _ = nameBuffer.withUnsafeMutableBufferPointer { gethostname(UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 255) }
        let myName = String(decoding: nameBuffer.prefix { $0 != 0 }, as: UTF8.self)
        let leader = Int(local.allreduce([Int64(world.rank)], cmpi_op_min())[0])
        let leaders = world.allgather(Int64(leader)).map(Int.init)
        var nodeLeaders: [Int] = []
        for l in leaders where !nodeLeaders.contains(l) { nodeLeaders.append(l) }
        let hostnames = nodeLeaders.map { world.broadcast(myName, root: $0) }

        let big = MessageBuffer.allocate(bytes: 16 * probeBytes)
        let a = MessageBuffer.allocate(bytes: probeBytes)
        let b = MessageBuffer.allocate(bytes: probeBytes)
        defer { big.deallocate(); a.deallocate(); b.deallocate() }
        memset(big, 0, 16 * probeBytes); memset(a, 1, probeBytes); memset(b, 2, probeBytes)

        // Pair classes: same node (rank 0 and the next rank of its node); across (rank 0 and the
        // first rank of the next node). Concurrent partners: local ranks 2k and 2k+1 on a node;
        // the rank with the same local index on the paired node across.
        let sameNodePeer = leaders.indices.first { $0 != 0 && leaders[$0] == leaders[0] }
        let otherNodePeer = leaders.indices.first { leaders[$0] != leaders[0] }
        let localIndex = local.rank
        let localPartner: Int? = {
            let k = localIndex ^ 1
            guard k < local.size else { return nil }
            return leaders.indices.filter { leaders[$0] == leader }[k]
        }()
        let nodeIndex = nodeLeaders.firstIndex(of: leader)!
        let acrossPartner: Int? = {
            let pairNode = nodeIndex ^ 1
            guard pairNode < nodeLeaders.count else { return nil }
            let mates = leaders.indices.filter { leaders[$0] == nodeLeaders[pairNode] }
            return localIndex < mates.count ? mates[localIndex] : nil
        }()

        func pair(_ peer: Int?, partner: Int?) -> MPIPairFigures? {
            guard let peer else { return nil }
            let latency = pingPong(world, 0, peer, bytes: latencyProbeBytes, buffer: a, iterations: 20 * iterations)
            let large = pingPong(world, 0, peer, bytes: probeBytes, buffer: a, iterations: iterations)
            let (exchange, count) = concurrentExchange(world, partner: partner, bytes: probeBytes, send: a, receive: b, iterations: iterations)
            return MPIPairFigures(first: 0, second: peer, latencyMicroseconds: latency * 1e6,
                                  pingPongGBps: Double(probeBytes) / max(large - latency, 1e-9) / 1e9,
                                  concurrentGBps: Double(probeBytes) / exchange / 1e9, concurrentRanks: count)
        }
        let sameNode = pair(sameNodePeer, partner: localPartner)
        let acrossNodes = pair(otherNodePeer, partner: acrossPartner)

        // The node's memory: every rank copies, then reduces, at once; the slowest rank's time.
        let perRank = Double(layout.localRanks) * Double(probeBytes)
        let copy = timedTogether(world, iterations: iterations) { i in
            (big + (i % 16) * probeBytes).copyMemory(from: a, byteCount: probeBytes)
        }
        var reduce: [(DataType, Double)] = []
        for type in types {
            let reducer = Reducer(dataType: type, op: .sum)
            let count = probeBytes / type.sizeInBytes
            memset(a, 0, probeBytes); memset(big, 0, 16 * probeBytes)
            let t = timedTogether(world, iterations: iterations) { i in
                reducer.reduceInPlace(into: big + (i % 16) * probeBytes, from: a, count: count)
            }
            reduce.append((type, perRank / t / 1e9))
        }
        let floatReducer = Reducer(dataType: .float32, op: .sum)
        let single = timedAlone(world, iterations: iterations) { i in
            floatReducer.reduceInPlace(into: big + (i % 16) * probeBytes, from: a, count: probeBytes / 4)
        }
        // Our runner's time per step: a ring of one element per rank, where every step is latency.
        let runner = MPIScheduleRunner(communicator: world, dataType: .float32, op: .sum)
        defer { runner.close() }
        let parameters = ScheduleParameters(rankCount: world.size, elementCount: world.size, elementSizeBytes: 4,
                                            chunkBytes: max(4, probeBytes), ranksPerNode: min(layout.ranksPerNode, world.size))
        let ring = try! AllreduceAlgorithm.ring.makeSchedule(parameters)
        let before = runner.statistics.messages
        runner.run(ring, input: a, output: b)
        let steps = max(1, runner.statistics.messages - before)
        let perRun = timedTogether(world, iterations: 20 * iterations) { _ in runner.run(ring, input: a, output: b) }
        let perStep = perRun / Double(steps)
        let latency = (sameNode ?? acrossNodes)?.latencyMicroseconds ?? 0
        let stepOverhead = max(0, perStep * 1e6 - latency)

        // The node's transfer rates, at the probe and below it (sizeScan), as our runner moves
        // messages of each size: its ring all-gather over the node's ranks, every node at once.
        // A blocking MPI_Sendrecv of the same size, timed alone, is not what the runner's
        // nonblocking sends and receives get: on the 2-vCPU virtual machine this was written on,
        // the Sendrecv read 2-3 x the rate of the runner's transfers in one launch, and a message
        // above the transport's eager limit pays a rendezvous the runner pays too. The time the
        // model adds per step anyway (the latency and the step overhead) is taken out first.
        let fixedSecondsPerStep = (latency + stepOverhead) * 1e-6
        var transfer: Double? = nil
        var scan: [(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double?)] = []
        // One transfer alone at a size: rank 0 and its same-node peer pass a message there and
        // back through our runner (``LoneTransferProbe``), the other ranks idle, walking `span`
        // bytes a message pair further each time; net of the time the model adds per step.
        let pairComm = world.split(color: sameNodePeer.flatMap { world.rank == 0 || world.rank == $0 ? 0 : nil })
        let pairRunner = pairComm.map { MPIScheduleRunner(communicator: $0, dataType: .float32, op: .sum) }
        defer { pairRunner?.close(); pairComm?.free() }
        func alone(bytes: Int, span: Int, iterations: Int) -> Double? {
            guard sameNodePeer != nil else { return nil }
            let message = max(4, bytes / 4 * 4), places = max(1, span / (2 * message))
            let region = MessageBuffer.allocate(bytes: places * 2 * message)
            defer { region.deallocate() }
            memset(region, 1, places * 2 * message)
            let probe = LoneTransferProbe(messageCount: message / 4)
            let t = timedTogether(world, iterations: iterations, participates: pairRunner != nil) { i in
                pairRunner!.run(probe, buffer: region + (i % places) * 2 * message)
            }
            let one = t / 2, net = one - fixedSecondsPerStep
            return Double(message) / (net > one / 2 ? net : one) / 1e9
        }
        var runnerReduceRate: Double? = nil
        var sets: [(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double?)] = []
        var flights: [(messages: Int, gbps: Double, factor: Double)] = []
        if sameNode != nil {
            let gather = MPIScheduleRunner(communicator: local, dataType: .float32, op: .sum)
            let reducing = MPIScheduleRunner(communicator: local, dataType: reduceType, op: .sum)
            defer { gather.close(); reducing.close() }
            transfer = probeTransfer(world, runner: gather, ranks: local.size, probeBytes: probeBytes, runs: iterations, fixedSecondsPerStep: fixedSecondsPerStep)
            runnerReduceRate = runnerReduce(world, runner: reducing, ranks: local.size, bytesPerRank: local.size * probeBytes, chunkBytes: probeBytes,
                                            runs: max(iterations, 2 * blocks))
            var size = scanStartBytes
            while 2 * size <= probeBytes {
                let w = local.size * size
                let runs = max(iterations, 2 * blocks, 16 * probeBytes / max(1, w))
                let rate = runnerGather(world, runner: gather, ranks: local.size, bytesPerRank: w, chunkBytes: size, runs: runs, fixedSecondsPerStep: fixedSecondsPerStep)
                // A message of this size reduces into the output of a collective of `w` bytes, as
                // the runner's ring reduce-scatter of that size reduces it.
                let r = runnerReduce(world, runner: reducing, ranks: local.size, bytesPerRank: w, chunkBytes: size, runs: runs)
                let lone = alone(bytes: size, span: 2 * size, iterations: max(iterations, 16 * probeBytes / size))
                scan.append((size, rate, r, lone))
                size *= 2
            }
            sets = workingSets(world, gather: gather, reducing: reducing, ranks: local.size, probeBytes: probeBytes, largest: largestWorkingSetBytes,
                               iterations: iterations, fixedSecondsPerStep: fixedSecondsPerStep,
                               alone: { alone(bytes: $0, span: $1, iterations: $2) })
            if !sets.isEmpty {
                flights = inFlightRates(world, runner: gather, ranks: local.size, probeBytes: probeBytes, iterations: iterations, fixedSecondsPerStep: fixedSecondsPerStep)
            }
        }

        return MPICalibration(
            hostnames: hostnames, layout: layout, probeBytes: probeBytes, sameNode: sameNode, acrossNodes: acrossNodes,
            memoryCopyGBps: perRank / copy / 1e9, memoryTransferGBps: transfer, runnerReduceGBps: runnerReduceRate, reduceGBps: reduce, singleRankReduceGBps: Double(probeBytes) / single / 1e9,
            stepOverheadMicroseconds: stepOverhead, sizeScan: scan, workingSetScan: sets, inFlightScan: flights,
            overheadProbeSteps: steps, overheadProbeMicrosecondsPerStep: perStep * 1e6)
    }

    /// ``inFlightScan``: the node's ranks (`runner`'s communicator, `p` of them) run our runner's
    /// ring all-gather in place with k probe-sized chunks in each rank's block (k x p x probe
    /// bytes per rank, so each rank keeps k messages in flight), every node at once, walking
    /// buffers of `MeasuredCluster.inFlightWalkBytes` per rank (or the largest all-gather, when
    /// larger): the same DRAM for every k. Each of ``blocks`` blocks times every k in turn (the
    /// slowest rank's time, net of the latency and step overhead of its steps), so that a machine
    /// changing speed between blocks changes every k alike: the node's payload rate, GB/s, the
    /// median over the blocks, and its ratio to k = 1's rate in the same block, the median over
    /// the blocks (the factor). (Pairs of ranks posting k sends and k receives at a time, walking
    /// the same buffers, read 1.9 x the all-gather's rate at k = 8 through shared memory on the
    /// 2-vCPU guest this was written on: the law the all-gather's working-set rates are taken
    /// back by has to be the all-gather's.)
    static func inFlightRates(_ world: Communicator, runner: MPIScheduleRunner, ranks p: Int, probeBytes: Int, iterations: Int,
                              fixedSecondsPerStep: Double) -> [(messages: Int, gbps: Double, factor: Double)] {
        let counts = MeasuredCluster.inFlightCounts
        let chunk = max(4, probeBytes / 4 * 4)
        let span = max(MeasuredCluster.inFlightWalkBytes, (counts.max() ?? 1) * p * chunk)
        let region = MessageBuffer.allocate(bytes: span)
        defer { region.deallocate() }
        memset(region, 1, span)
        let runs: [(k: Int, w: Int, places: Int, steps: Double, n: Int, play: (Int) -> Void)] = counts.map { k in
            let w = k * p * chunk
            let parameters = ScheduleParameters(rankCount: p, elementCount: w / 4, elementSizeBytes: 4, chunkBytes: chunk, ranksPerNode: p, collective: .allGather)
            let gather = try! AllreduceAlgorithm.ring.makeSchedule(parameters)
            let places = max(1, span / w)
            let before = runner.statistics.messages
            runner.run(gather, buffer: region)  // warm-up, and the steps of one run
            let steps = Double(runner.statistics.messages - before)
            return (k, w, places, steps, max(2, places, iterations / (k * blocks)), { i in runner.run(gather, buffer: region + (i % places) * w) })
        }
        var rates = Array(repeating: [Double](), count: counts.count)
        for _ in 0..<blocks {
            for (i, r) in runs.enumerated() {
                world.barrier()
                let t0 = MPIProcess.wallTimeSeconds()
                for j in 0..<r.n { r.play(j) }
                let t = world.allreduce([(MPIProcess.wallTimeSeconds() - t0) / Double(r.n)], cmpi_op_max())[0]
                rates[i].append(gatherGBps(seconds: t, steps: r.steps, ranks: p, bytesPerRank: r.w, fixedSecondsPerStep: fixedSecondsPerStep))
            }
        }
        return runs.indices.map { i in
            (runs[i].k, SampleStatistics.median(rates[i]), SampleStatistics.median(rates[i].indices.map { rates[i][$0] / rates[0][$0] }))
        }
    }

    /// ``workingSetScan``: for each working set `w` (2, 4, ... times the probe, up to `largest`),
    /// the node's ranks (`local`) run our runner's ring all-gather of `w` bytes per rank, chunked
    /// at `probeBytes`, every node at once (``runnerGather``), in place: the transfers of a
    /// collective of that size, by the runner's own path, without the copy of each rank's own
    /// block into the output that an out-of-place all-gather makes and an allreduce does not
    /// (over TCP's loopback that copy made the rate 15-30% lower from 16 MiB per rank up, and
    /// the allreduces' predictions as much too slow). Two other probes were tried and read further from
    /// the allreduces they predicted, on the 2-vCPU virtual machine this was written on: a
    /// blocking `MPI_Sendrecv` walking the same buffers (up to twice the runner's rate, swinging
    /// between launches), and nonblocking exchanges from a walking buffer into a chunk-sized
    /// scratch, as a reducing receive lands (0.7 x the allreduces' rate through shared memory,
    /// 2-3 x through TCP). The reductions: the runner's ring reduce-scatter of `w` bytes per rank
    /// chunked at `probeBytes` (``runnerReduce``), its reductions timed where they run; each
    /// timed block walks the whole buffer at least twice.
    static func workingSets(_ world: Communicator, gather: MPIScheduleRunner, reducing: MPIScheduleRunner, ranks: Int, probeBytes: Int, largest: Int,
                            iterations: Int, fixedSecondsPerStep: Double,
                            alone: (_ bytes: Int, _ span: Int, _ iterations: Int) -> Double?)
        -> [(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double?)] {
        var out: [(bytes: Int, transferGBps: Double, reduceGBps: Double, pairGBps: Double?)] = []
        var size = 2 * probeBytes
        while size <= largest {
            let chunks = size / probeBytes
            // Each run walks the buffers once: at least two per block.
            let runs = max(2 * blocks, iterations / chunks)
            let rate = runnerGather(world, runner: gather, ranks: ranks, bytesPerRank: size, chunkBytes: probeBytes,
                                    runs: runs, fixedSecondsPerStep: fixedSecondsPerStep)
            let r = runnerReduce(world, runner: reducing, ranks: ranks, bytesPerRank: size, chunkBytes: probeBytes, runs: runs)
            // One probe-sized transfer alone, walking buffers of the working set's size.
            let lone = alone(probeBytes, 2 * size, max(iterations, 2 * blocks * chunks))
            out.append((size, rate, r, lone))
            size *= 2
        }
        return out
    }

    /// The node's same-node transfer rate at `probeBytes` right now, GB/s: our runner's ring
    /// all-gather of probe-sized messages over each node's ranks, every node at once, net of
    /// `fixedSecondsPerStep` per step, as ``memoryTransferGBps`` is measured (collective: every
    /// rank calls it; nil with one rank per node). `allreduce mpi --predict` reads it before each
    /// size to tell whether the machine kept the speed its calibration saw.
    public static func nodeTransferGBps(_ world: Communicator, probeBytes: Int, runs: Int, fixedSecondsPerStep: Double) -> Double? {
        let local = world.splitShared()
        defer { local.free() }
        let alone = Int(world.allreduce([Int64(local.size)], cmpi_op_min())[0]) < 2
        if alone { return nil }
        let runner = MPIScheduleRunner(communicator: local, dataType: .float32, op: .sum)
        defer { runner.close() }
        return probeTransfer(world, runner: runner, ranks: local.size, probeBytes: probeBytes, runs: runs, fixedSecondsPerStep: fixedSecondsPerStep)
    }

    /// ``memoryTransferGBps``'s measurement, which ``nodeTransferGBps`` repeats: ``runnerGather``
    /// of `probeBytes` messages over a node's `ranks` (at least two timed runs per block).
    static func probeTransfer(_ world: Communicator, runner: MPIScheduleRunner, ranks: Int, probeBytes: Int, runs: Int,
                              fixedSecondsPerStep: Double) -> Double {
        runnerGather(world, runner: runner, ranks: ranks, bytesPerRank: ranks * probeBytes, chunkBytes: probeBytes,
                     runs: max(runs, 2 * blocks), fixedSecondsPerStep: fixedSecondsPerStep)
    }

    /// The node's payload rate, GB/s, of our runner's ring all-gather of `bytesPerRank` chunked at
    /// `chunkBytes` over `runner`'s communicator (a node's `ranks`), every node at once, `runs`
    /// times (``timedTogether``): each rank sends (ranks - 1) / ranks of the buffer, so the node
    /// moves (ranks - 1) x `bytesPerRank` per run. The runner's own path (its nonblocking sends
    /// and receives), with no reduction, in place: on one buffer of `bytesPerRank` (the probe's
    /// working set, ``ScheduleParameters/workingSetBytes``), moving only what the other ranks
    /// send. (Out of place, the runner would also copy each rank's own block into the output, a
    /// copy no allreduce makes: through shared memory on a 2-vCPU Zen 5 guest the rate of 1 MiB
    /// messages read 32 GB/s so, 49 GB/s in place.) The run's steps each lose
    /// `fixedSecondsPerStep` first (the latency and step overhead the model adds per step; at
    /// most half the time).
    static func runnerGather(_ world: Communicator, runner: MPIScheduleRunner, ranks p: Int, bytesPerRank: Int, chunkBytes: Int,
                             runs: Int, fixedSecondsPerStep: Double) -> Double {
        withRing(.allGather, ranks: p, bytesPerRank: bytesPerRank, chunkBytes: chunkBytes, elementSizeBytes: 4) { gather, receive, size in
            func once() { runner.run(gather, buffer: receive) }
            let before = runner.statistics.messages
            once()
            let steps = Double(runner.statistics.messages - before)
            let t = timedTogether(world, iterations: runs) { _ in once() }
            return gatherGBps(seconds: t, steps: steps, ranks: p, bytesPerRank: size, fixedSecondsPerStep: fixedSecondsPerStep)
        }
    }

    /// The node's payload rate, GB/s, of a ring all-gather of `bytesPerRank` over `ranks` ranks
    /// that took `seconds` in `steps` steps: each rank receives (ranks - 1) / ranks of the buffer,
    /// so the node moves (ranks - 1) x `bytesPerRank`, net of `fixedSecondsPerStep` per step (at
    /// most half the time).
    static func gatherGBps(seconds t: Double, steps: Double, ranks p: Int, bytesPerRank: Int, fixedSecondsPerStep: Double) -> Double {
        let net = max(t / 2, t - steps * fixedSecondsPerStep)
        return Double(p - 1) * Double(bytesPerRank) / net / 1e9
    }

    /// The node's reduction rate, GB/s of one operand, in our runner's ring reduce-scatter of
    /// `bytesPerRank` chunked at `chunkBytes` over `runner`'s communicator (a node's `ranks`),
    /// every node at once, `runs` times, in place (one buffer of `bytesPerRank`: the working set
    /// of the all-gather probe's, ``runnerGather``): the runner times each reduction of a received message
    /// (``MPIScheduleRunner/timesReductions``), so the rate is what its reductions get where they
    /// run: among the runner's transfers (the other ranks' copies share the memory), on the
    /// operands as the runner has them (a message the transport just wrote, the input, the
    /// output). A kernel timed alone on warm buffers read about twice that on the 2-vCPU virtual
    /// machine this was written on, at every size. Each block's seconds per byte reduced, the
    /// median block of the slowest rank; the node's rate is `ranks` times a rank's.
    static func runnerReduce(_ world: Communicator, runner: MPIScheduleRunner, ranks p: Int, bytesPerRank: Int, chunkBytes: Int,
                             runs: Int) -> Double {
        withRing(.reduceScatter, ranks: p, bytesPerRank: bytesPerRank, chunkBytes: chunkBytes, elementSizeBytes: runner.dataType.sizeInBytes) { scatter, receive, _ in
            runner.run(scatter, buffer: receive)
            runner.timesReductions = true
            defer { runner.timesReductions = false }
            let secondsPerByte = medianOfBlocks(world, iterations: max(runs, blocks)) { n in
                world.barrier()
                let before = runner.statistics
                for _ in 0..<n { runner.run(scatter, buffer: receive) }
                let bytes = runner.statistics.bytesReduced - before.bytesReduced
                return bytes > 0 ? (runner.statistics.reduceSeconds - before.reduceSeconds) / Double(bytes) : 0
            }
            return secondsPerByte > 0 ? Double(p) / secondsPerByte / 1e9 : 0
        }
    }

    /// Runs `body` with our ring schedule of `collective` over `p` ranks of `bytesPerRank`
    /// (rounded to whole elements per rank) chunked at `chunkBytes`, and one buffer of that size
    /// (every byte 1) to run it in place on.
    static func withRing<R>(_ collective: Collective, ranks p: Int, bytesPerRank: Int, chunkBytes: Int, elementSizeBytes e: Int,
                            _ body: (any Schedule, UnsafeMutableRawPointer, Int) -> R) -> R {
        let size = max(4 * e, bytesPerRank / (e * p) * (e * p))
        let buffer = MessageBuffer.allocate(bytes: size)
        defer { buffer.deallocate() }
        memset(buffer, 1, size)
        let parameters = ScheduleParameters(rankCount: p, elementCount: size / e, elementSizeBytes: e, chunkBytes: max(e, chunkBytes),
                                            ranksPerNode: p, collective: collective, inPlace: true)
        return body(try! AllreduceAlgorithm.ring.makeSchedule(parameters), buffer, size)
    }

    /// Half the mean round trip of `bytes` between ranks `x` and `y` (seconds, as rank `x` times
    /// it, the median of ``blocks`` blocks, told to every rank); the other ranks wait at the barriers.
    static func pingPong(_ world: Communicator, _ x: Int, _ y: Int, bytes: Int, buffer: UnsafeMutableRawPointer, iterations: Int) -> Double {
        let n = Int32(bytes), me = world.rank
        func once() {
            if me == x {
                mpiCheck(MPI_Send(buffer, n, cmpi_byte(), Int32(y), 7, world.handle), "MPI_Send")
                mpiCheck(MPI_Recv(buffer, n, cmpi_byte(), Int32(y), 7, world.handle, cmpi_status_ignore()), "MPI_Recv")
            } else if me == y {
                mpiCheck(MPI_Recv(buffer, n, cmpi_byte(), Int32(x), 7, world.handle, cmpi_status_ignore()), "MPI_Recv")
                mpiCheck(MPI_Send(buffer, n, cmpi_byte(), Int32(x), 7, world.handle), "MPI_Send")
            }
        }
        for _ in 0..<max(1, iterations / 10) { once() }
        return medianOfBlocks(world, iterations: iterations) { n in
            world.barrier()
            let t0 = MPIProcess.wallTimeSeconds()
            for _ in 0..<n { once() }
            return me == x ? (MPIProcess.wallTimeSeconds() - t0) / Double(n) / 2 : 0
        }
    }

    /// Blocks a probe's iterations are split into: each figure is the median block, so a busy
    /// spell of a shared machine spoils one block, not the figure.
    public static let blocks = 5

    /// Runs `block(n)` (every rank; it returns this rank's mean seconds per iteration over `n`)
    /// ``blocks`` times over `iterations` in all: the median over blocks of the slowest rank's mean.
    static func medianOfBlocks(_ world: Communicator, iterations: Int, _ block: (Int) -> Double) -> Double {
        let n = max(1, iterations / blocks)
        var times: [Double] = []
        for _ in 0..<blocks { times.append(world.allreduce([block(n)], cmpi_op_max())[0]) }
        return times.sorted()[blocks / 2]
    }

    /// Every rank with a partner exchanges `bytes` with it (`MPI_Sendrecv`) at once: the slowest
    /// rank's mean time per exchange (seconds) and how many ranks took part.
    static func concurrentExchange(_ world: Communicator, partner: Int?, bytes: Int, send: UnsafeMutableRawPointer,
                                   receive: UnsafeMutableRawPointer, iterations: Int) -> (seconds: Double, ranks: Int) {
        let n = Int32(bytes)
        let t = timedTogether(world, iterations: iterations, participates: partner != nil) { _ in
            let p = Int32(partner!)
            mpiCheck(MPI_Sendrecv(send, n, cmpi_byte(), p, 9, receive, n, cmpi_byte(), p, 9, world.handle, cmpi_status_ignore()), "MPI_Sendrecv")
        }
        let ranks = Int(world.allreduce([partner == nil ? 0 : 1], cmpi_op_sum())[0])
        return (t, ranks)
    }

    /// Every participating rank runs `body` `iterations` times at once after a warm-up, in
    /// ``blocks`` blocks each after a barrier: the median block's slowest mean seconds per iteration.
    static func timedTogether(_ world: Communicator, iterations: Int, participates: Bool = true, _ body: (Int) -> Void) -> Double {
        if participates { for i in 0..<max(1, iterations / 10) { body(i) } }
        return medianOfBlocks(world, iterations: iterations) { n in
            world.barrier()
            let t0 = MPIProcess.wallTimeSeconds()
            if participates { for i in 0..<n { body(i) } }
            return participates ? (MPIProcess.wallTimeSeconds() - t0) / Double(n) : 0
        }
    }

    /// Rank 0 alone runs `body`: its mean seconds per iteration, told to every rank.
    static func timedAlone(_ world: Communicator, iterations: Int, _ body: (Int) -> Void) -> Double {
        var mine = 0.0
        if world.rank == 0 {
            for i in 0..<max(1, iterations / 10) { body(i) }
            let t0 = MPIProcess.wallTimeSeconds()
            for i in 0..<iterations { body(i) }
            mine = (MPIProcess.wallTimeSeconds() - t0) / Double(iterations)
        }
        return world.allreduce([mine], cmpi_op_max())[0]
    }
}
#endif
