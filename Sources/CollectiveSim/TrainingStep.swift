import CollectiveCore
import CollectiveFabric
import CollectiveKernels

/// One data-parallel training step: its compute, and its gradient synchronisation as the bucket
/// sequence PyTorch DDP (or ZeRO stage 2) issues, overlapped with the backward pass.
///
/// **Layout.** `gpuCount` GPUs run tensor parallelism of degree `tensor` (innermost: inside a
/// node), pipeline parallelism of degree `pipeline`, and data parallelism over the rest
/// (`dataParallel = gpuCount / (tensor x pipeline)`), Megatron-LM's rank order (tensor, then
/// data, then pipeline). Each GPU holds `parameters / (tensor x pipeline)` parameters, and their
/// gradients are synchronised across its data-parallel group only; tensor- and
/// pipeline-parallel traffic is not modelled. ``dataParallelTopology(_:tensor:dataParallel:)``
/// gives the group's cluster.
///
/// **Buckets.** Gradients are cut, in reverse layer order, into buckets as DDP cuts them: the
/// first bucket of `firstBucketBytes` (DDP's 1 MiB), then `bucketBytes` each (DDP's
/// `bucket_cap_mb`, 25 MiB), the last holding the rest. ZeRO stage 0 and 1 allreduce each bucket;
/// stage 2 reduce-scatters each bucket instead, and all-gathers the updated parameters after the
/// step (the same buckets, in the same order, after all compute: exposed).
///
/// **ZeRO stage 3 / FSDP full sharding.** Each GPU keeps only its shard of the parameters; the
/// bucket is the sharded *unit*, one transformer layer (``shardedUnits``: the GPU's layers,
/// layers / pipeline), as FSDP flattens each wrapped layer into one FlatParameter and
/// communicates it whole (the transformer auto-wrap policy; Zhao et al., PyTorch FSDP, VLDB 2023).
/// The GPU's parameters are split evenly over its units (embeddings folded in). Each unit's
/// parameters are all-gathered before its forward, all-gathered again before its backward (FSDP
/// frees them after the forward: `reshard_after_forward`), and its gradients reduce-scattered
/// when its backward ends: 3 x (n-1)/n of the parameters' bytes sent per GPU, where stages 1 and
/// 2 send 2 x (n-1)/n (ZeRO's 3 Psi against 2 Psi, Rajbhandari et al., SC 2020, section 7). The
/// optimizer step is local and gathers nothing after it. Overlap: compute is split evenly over
/// the units (forward third, backward two thirds, as below); the gather of the next unit is
/// issued when a unit's compute starts (prefetch one unit ahead in execution order, forward
/// 0 ... L-1 then backward L-1 ... 0, as FSDP's `forward_prefetch` and `BACKWARD_PRE` do, at most
/// two gathers in flight as its rate limiter allows: the last unit's backward gather is issued as
/// its forward starts); a unit's compute starts once its gather has ended and the unit before it
/// is done. So with collectives shorter than a unit's compute, only the first gather and the
/// last reduce-scatter are exposed; with no compute, the step is the sum of its collectives. Gathers and reduce-scatters share the one stream,
/// in the order they are issued.
///
/// **Overlap rule.** Compute is a forward pass of one third of the step's compute, then a
/// backward pass of two thirds (6 x parameters x tokens FLOPs: 2 forward, 4 backward). The
/// backward pass produces gradient bytes at a steady rate in reverse layer order, so bucket i
/// is ready at `forward + backward x (bytes of buckets 0...i) / (all bytes)`. Buckets run one at a
/// time, in order, on one communication stream (NCCL's, as DDP's): bucket i starts at
/// `max(ready_i, end_(i-1))`. The step ends at `max(compute, end of the last collective)`;
/// exposed communication is the step time less the compute. So the last bucket is always
/// exposed (it is ready when the backward pass ends), and exposed communication is
/// `max(0, max_i(ready_i + sum of the durations of buckets i...) - compute)`.
public struct TrainingStep: Sendable {
    public var model: TransformerModel
    /// Parameters (the model's stated count, or `--parameters`).
    public var parameters: Double
    public var gpuCount: Int
    public var tensor: Int
    public var pipeline: Int
    /// ZeRO stage (0 ... 3); 0 is DDP, 3 is full sharding (FSDP).
    public var zeroStage: Int
    /// The gradients' element type.
    public var gradientType: DataType
    public var bucketBytes: Int
    public var firstBucketBytes: Int
    /// Compute of one step, seconds.
    public var computeSeconds: Double

    /// PyTorch DDP's default `bucket_cap_mb`: 25 MiB (torch/nn/parallel/distributed.py).
    public static let ddpBucketBytes = 25 << 20
    /// PyTorch DDP's first bucket: 1 MiB (`dist._DEFAULT_FIRST_BUCKET_BYTES`), so that the
    /// first allreduce starts early.
    public static let ddpFirstBucketBytes = 1 << 20
    /// Whose rule cuts the gradients into buckets.
    public enum BucketRule: String, CaseIterable, Sendable {
        /// PyTorch DDP: a 1 MiB first bucket (``ddpFirstBucketBytes``), then `bucket_cap_mb`
        /// (``ddpBucketBytes``).
        case ddp
        /// Megatron-LM core: ``megatronBucketBytes(dataParallel:gradientType:)`` each, the
        /// first as large as the others.
        case megatron
    }

    /// The first bucket and the others under `rule`, for `dataParallel` replicas of
    /// `gradientType` gradients.
    public static func bucketBytes(_ rule: BucketRule, dataParallel: Int, gradientType: DataType) -> (first: Int, others: Int) {
        switch rule {
        case .ddp: return (ddpFirstBucketBytes, ddpBucketBytes)
        case .megatron:
            let bytes = megatronBucketBytes(dataParallel: dataParallel, gradientType: gradientType)
            return (bytes, bytes)
        }
    }

    /// Megatron-LM core's default bucket: max(40,000,000, 1,000,000 x data-parallel degree)
    /// parameters (`bucket_size` in megatron/core/distributed/distributed_data_parallel_config.py:
    /// larger data-parallel groups get larger buckets so that the collectives stay
    /// bandwidth-bound), as gradient bytes. Megatron has no smaller first bucket.
    public static func megatronBucketBytes(dataParallel: Int, gradientType: DataType) -> Int {
        Swift.max(40_000_000, 1_000_000 * Swift.max(1, dataParallel)) * gradientType.sizeInBytes
    }

    /// The forward pass's share of a step's compute: 2 of the 6 FLOPs per parameter and token.
    public static let forwardShare = 1.0 / 3.0

    public init(model: TransformerModel, parameters: Double? = nil, gpuCount: Int, tensor: Int = 1, pipeline: Int = 1, zeroStage: Int = 0,
                gradientType: DataType = .bfloat16, bucketBytes: Int = TrainingStep.ddpBucketBytes,
                firstBucketBytes: Int = TrainingStep.ddpFirstBucketBytes, computeSeconds: Double) throws(SimulationError) {
        self.model = model
        self.parameters = parameters ?? model.statedParameters
        self.gpuCount = gpuCount
        self.tensor = tensor
        self.pipeline = pipeline
        self.zeroStage = zeroStage
        self.gradientType = gradientType
        self.bucketBytes = bucketBytes
        self.firstBucketBytes = firstBucketBytes
        self.computeSeconds = computeSeconds
        guard self.parameters >= 1 && self.parameters <= 1e15 else { throw SimulationError("parameters must be between 1 and 1e15, got \(self.parameters)") }
        guard gpuCount >= 1, tensor >= 1, pipeline >= 1 else { throw SimulationError("GPUs, --tp and --pp must be at least 1") }
        guard gpuCount % (tensor * pipeline) == 0 else {
            throw SimulationError("\(gpuCount) GPUs do not split into --tp \(tensor) x --pp \(pipeline) x a data-parallel degree")
        }
        guard (0...3).contains(zeroStage) else { throw SimulationError("ZeRO stage must be 0, 1, 2 or 3, got \(zeroStage)") }
        guard bucketBytes >= gradientType.sizeInBytes && firstBucketBytes >= gradientType.sizeInBytes else {
            throw SimulationError("buckets must hold at least one \(gradientType.name) element")
        }
        guard computeSeconds.isFinite && computeSeconds >= 0 else { throw SimulationError("compute time must be finite and not negative, got \(computeSeconds) s") }
        guard gradientBytesPerGPU / Double(min(bucketBytes, firstBucketBytes)) <= Double(Self.maxBuckets) else {
            throw SimulationError("more than \(Self.maxBuckets) buckets per step; use larger buckets")
        }
    }

    /// The most buckets one step may have.
    public static let maxBuckets = 10_000_000

    /// The data-parallel degree.
    public var dataParallel: Int { Self.dataParallel(gpuCount: gpuCount, tensor: tensor, pipeline: pipeline) }

    /// The data-parallel degree of `gpuCount` GPUs split into tensor x pipeline groups.
    public static func dataParallel(gpuCount: Int, tensor: Int, pipeline: Int) -> Int {
        gpuCount / Swift.max(1, tensor * pipeline)
    }

    /// Gradient bytes each GPU synchronises per step.
    public var gradientBytesPerGPU: Double {
        (parameters / Double(tensor * pipeline)).rounded(.up) * Double(gradientType.sizeInBytes)
    }

    /// Compute of a step from FLOPs: 6 x parameters x tokens over `gpuCount` GPUs at `peakTFLOPS`
    /// x `mfu` each (Kaplan et al. 2020's 6N FLOPs per token; MFU as defined by Chowdhery et al.,
    /// PaLM, 2022).
    public static func computeSeconds(parameters: Double, tokensPerStep: Double, gpuCount: Int, peakTFLOPS: Double, mfu: Double) -> Double {
        6 * parameters * tokensPerStep / (Double(gpuCount) * peakTFLOPS * 1e12 * mfu)
    }

    /// The cluster one data-parallel group runs on: `min(dataParallel, GPUs per node / tensor)`
    /// GPUs per node (the first of each node, with their NICs: every tensor-parallel rank of a
    /// node has its own group, on its own GPU and NIC), over as many nodes as the group needs.
    /// Throws when tensor parallelism does not fit the nodes (neither divides the other).
    public static func dataParallelTopology(_ topology: Topology, tensor: Int, dataParallel: Int) throws -> Topology {
        let g = topology.node.gpuCount
        guard g % tensor == 0 || tensor % g == 0 else {
            throw SimulationError("--tp \(tensor) does not fit nodes of \(g) GPUs (one must divide the other)")
        }
        let perNode = max(1, min(dataParallel, g / tensor))
        guard dataParallel % perNode == 0 else {
            throw SimulationError("a data-parallel group of \(dataParallel) GPUs does not fill nodes of \(perNode)")
        }
        return try topology.with(gpusPerNode: perNode).with(nodes: dataParallel / perNode)
    }

    /// ZeRO 3's sharded units per GPU: its layers (the model's layers over the pipeline stages,
    /// at least one).
    public var shardedUnits: Int { max(1, model.layers / pipeline) }

    /// The bytes of each ZeRO 3 unit, in forward order: the GPU's parameters (in the gradients'
    /// type) split evenly over ``shardedUnits``, the first units one element larger where the
    /// split is uneven.
    public var unitBytes: [Int] {
        let size = gradientType.sizeInBytes
        let units = BlockPartition(count: Int(gradientBytesPerGPU) / size, parts: shardedUnits)
        return (0..<units.parts).map { units.size($0) * size }
    }

    /// One bucket: its bytes and when the backward pass has produced it.
    public struct Bucket: Sendable, Hashable {
        public var bytes: Int
        public var readySeconds: Double
    }

    /// The buckets, in the order they are reduced (reverse layer order), with their ready times
    /// under the overlap rule.
    public var buckets: [Bucket] {
        let total = gradientBytesPerGPU
        let size = gradientType.sizeInBytes
        let forward = computeSeconds * Self.forwardShare, backward = computeSeconds - forward
        var out: [Bucket] = []
        var done = 0.0
        while done < total {
            let cap = Double((out.isEmpty ? firstBucketBytes : bucketBytes) / size * size)
            let bytes = min(cap, total - done)
            done += bytes
            out.append(Bucket(bytes: Int(bytes), readySeconds: forward + backward * (done / total)))
        }
        return out
    }

    /// One collective as timed: seconds, what ran (NCCL's pick), bytes each GPU sent.
    public struct CollectiveTiming: Sendable, Hashable {
        public var seconds: Double
        public var pick: String
        public var bytesSentPerGPU: Double
        public init(seconds: Double, pick: String, bytesSentPerGPU: Double) {
            self.seconds = seconds
            self.pick = pick
            self.bytesSentPerGPU = bytesSentPerGPU
        }
    }

    /// A step's breakdown.
    public struct Outcome: Sendable, Hashable {
        public var computeSeconds: Double
        /// Every collective's time, added.
        public var communicationSeconds: Double
        /// Step time less compute.
        public var exposedSeconds: Double
        public var stepSeconds: Double
        public var bytesSentPerGPU: Double
        public var bucketCount: Int
        /// What ran, with how many collectives ran it, in order of first use.
        public var picks: [Pick]
    }

    /// What ran for some of a step's collectives (the collective and NCCL's plan), and how many.
    public struct Pick: Sendable, Hashable {
        public var name: String
        public var count: Int
    }

    /// The collective each bucket's gradients run: allreduce (DDP, ZeRO 1) or reduce-scatter
    /// (ZeRO 2 and 3).
    public var bucketCollective: Collective { zeroStage >= 2 ? .reduceScatter : .allreduce }

    /// Plays the step under the overlap rule, timing each bucket's collective with `time`
    /// (collective, bytes): the bucket sequence, then for ZeRO 2 the parameter all-gathers; for
    /// ZeRO 3 each unit's two gathers and its reduce-scatter.
    public func play(time: (Collective, Int) throws -> CollectiveTiming) rethrows -> Outcome {
        var end = 0.0, comm = 0.0, sent = 0.0
        var picks: [Pick] = []
        func record(_ t: CollectiveTiming) {
            comm += t.seconds
            sent += t.bytesSentPerGPU
            if let i = picks.firstIndex(where: { $0.name == t.pick }) { picks[i].count += 1 } else { picks.append(Pick(name: t.pick, count: 1)) }
        }
        if zeroStage == 3 {
            let units = unitBytes
            // The stream is free at `end`; a collective issued at `t` runs from max(t, end).
            func issue(_ c: Collective, _ bytes: Int, at t: Double) throws -> Double {
                let timing = try time(c, bytes)
                end = max(end, t) + timing.seconds
                record(timing)
                return end
            }
            let forward = computeSeconds * Self.forwardShare
            let unitForward = forward / Double(units.count), unitBackward = (computeSeconds - forward) / Double(units.count)
            // The units' compute in execution order: forward 0 ... L-1, then backward L-1 ... 0.
            let phases = units.indices.map { ($0, true) } + units.indices.reversed().map { ($0, false) }
            var gathered = try issue(.allGather, units[0], at: 0)
            var computed = 0.0
            for (k, (unit, isForward)) in phases.enumerated() {
                let start = max(gathered, computed)
                if k + 1 < phases.count { gathered = try issue(.allGather, units[phases[k + 1].0], at: start) }
                computed = start + (isForward ? unitForward : unitBackward)
                if !isForward { _ = try issue(.reduceScatter, units[unit], at: computed) }
            }
            let step = max(computeSeconds, computed, end)
            return Outcome(computeSeconds: computeSeconds, communicationSeconds: comm, exposedSeconds: step - computeSeconds, stepSeconds: step,
                           bytesSentPerGPU: sent, bucketCount: units.count, picks: picks)
        }
        let list = buckets
        for b in list {
            let t = try time(bucketCollective, b.bytes)
            end = max(end, b.readySeconds) + t.seconds
            record(t)
        }
        if zeroStage == 2 {
            // The updated parameters (in the gradients' type), gathered after the step's compute.
            end = max(end, computeSeconds)
            for b in list {
                let t = try time(.allGather, b.bytes)
                end += t.seconds
                record(t)
            }
        }
        let step = max(computeSeconds, end)
        return Outcome(computeSeconds: computeSeconds, communicationSeconds: comm, exposedSeconds: step - computeSeconds, stepSeconds: step,
                       bytesSentPerGPU: sent, bucketCount: list.count, picks: picks)
    }

    /// Plays the step on `fabric` (the data-parallel group's cluster): each distinct bucket size
    /// timed once by the event engine with what NCCL would run for it (``Simulator/timeNCCL(elementCount:dataType:algorithm:protocol:channels:chunkBytes:observer:)``;
    /// NCCL's ring for a reduce-scatter or an all-gather); bytes sent are the collective's
    /// bus-bandwidth share of the bucket.
    public func play(on fabric: FabricMap, maxSteps: Int = WorkLimit.defaultMaxSteps) throws -> Outcome {
        var cache: [String: CollectiveTiming] = [:]
        let size = gradientType.sizeInBytes
        return try play { collective, bytes in
            let key = "\(collective.rawValue) \(bytes)"
            if let t = cache[key] { return t }
            let t: CollectiveTiming
            if fabric.rankCount == 1 {
                t = CollectiveTiming(seconds: 0, pick: "none (one GPU per group)", bytesSentPerGPU: 0)
            } else {
                let sim = Simulator(fabric: fabric, model: .event, maxSteps: maxSteps, collective: collective)
                let o = try sim.timeNCCL(elementCount: bytes / size, dataType: gradientType)
                let pick = "\(collective.rawValue) " + (o.ncclPlan.map { "\($0)" } ?? o.rowName)
                t = CollectiveTiming(seconds: o.timeSeconds, pick: pick,
                                     bytesSentPerGPU: Double(bytes) * collective.busBandwidthFactor(ranks: fabric.rankCount))
            }
            cache[key] = t
            return t
        }
    }
}
