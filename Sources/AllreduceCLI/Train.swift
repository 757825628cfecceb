import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels
import CollectiveSim

/// `allreduce train`: one training step's gradient synchronisation, per system.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time one training step's gradient synchronisation on one or more systems.",
        discussion: """
            Compute comes from 6 x parameters x tokens per step over the GPUs' dense BF16 peak x
            --mfu (or --compute-ms). The gradients are cut into DDP's buckets (1 MiB first, then
            25 MiB; --buckets megatron: Megatron-LM's max(40M, 1M x dp) parameters each) in reverse
            layer order, each allreduced (ZeRO 2: reduce-scattered, and the
            parameters all-gathered after the step) over the data-parallel group with what NCCL
            would run, played by the event engine, one at a time on one stream, each starting
            once the backward pass (two thirds of the compute, after a forward third) has produced
            it. ZeRO 3 (FSDP full sharding) instead gathers each layer's parameters before its
            forward and again before its backward (prefetching one layer ahead) and
            reduce-scatters its gradients when its backward ends. Tensor- and pipeline-parallel
            traffic is not modelled.

            Example: allreduce train --model llama3-70b --gpu-count 1024 --tp 8 --system dgx-a100,hgx-a800,dgx-h100,hgx-h800
            """)

    @Option(name: .long, help: "Model preset: \(TransformerModel.presetNames).")
    var model: String = "llama3-8b"

    @Option(name: .long, help: "Parameters instead of the preset's (e.g. 7e9).")
    var parameters: Double?

    @Option(name: .customLong("gpu-count"), help: "GPUs in the job (default: tp x pp x dp, or 64).")
    var gpuCount: Int?

    @Option(name: .long, help: "Tensor-parallel degree (inside nodes).")
    var tp: Int = 1

    @Option(name: .long, help: "Pipeline-parallel degree.")
    var pp: Int = 1

    @Option(name: .long, help: "Data-parallel degree (default: GPUs / (tp x pp)).")
    var dp: Int?

    @Option(name: .long, help: "ZeRO stage: 0 (DDP) and 1 allreduce the gradients; 2 reduce-scatters them and all-gathers the parameters after the step; 3 (FSDP full sharding) all-gathers each layer's parameters before its forward and its backward and reduce-scatters its gradients (the layer is the bucket).")
    var zero: Int = 0

    @Option(name: .customLong("grad-dtype"), help: "Gradient type (bfloat16, half, float).")
    var gradDtype: DataType = .bfloat16

    @Option(name: .long, help: "Bucket sizes: ddp (PyTorch DDP: 1 MiB first, then 25 MiB) or megatron (Megatron-LM core: max(40M, 1M x dp) parameters each).")
    var buckets: TrainingStep.BucketRule = .ddp

    @Option(name: .customLong("bucket-mib"), help: "Bucket size, MiB (PyTorch DDP's bucket_cap_mb), instead of --buckets' size.")
    var bucketMiB: Double?

    @Option(name: .customLong("first-bucket-mib"), help: "First bucket, MiB, instead of --buckets' (DDP's 1 MiB; Megatron's first bucket is as large as the others).")
    var firstBucketMiB: Double?

    @Option(name: .long, help: "Systems, comma-separated: presets (see `allreduce topologies`) or topology files. Ratios are to the first.")
    var system: String = "dgx-h100"

    @Option(name: .customLong("tokens-per-step"), help: "Tokens per step, all GPUs together (global batch x sequence length).")
    var tokensPerStep: Double = 4 * 1024 * 1024

    @Option(name: .long, help: "Model FLOPs utilisation: the share of the GPU's dense BF16 peak the compute achieves.")
    var mfu: Double = 0.4

    @Option(name: .customLong("compute-ms"), help: "Compute per step, ms, instead of FLOPs / (peak x MFU).")
    var computeMs: Double?

    @Option(name: .customLong("peak-tflops"), help: "GPU dense peak, TFLOPS, instead of the datasheet's (needed for topology files naming an unknown GPU).")
    var peakTFLOPS: Double?

    @Option(name: .long, help: "Refuse a system whose event-model playback of one bucket needs more steps than this.")
    var maxSteps: Int = WorkLimit.defaultMaxSteps

    @OptionGroup var output: FormatOptions

    var transformer: TransformerModel {
        get throws {
            guard let m = TransformerModel.preset(model) else {
                throw ValidationError("--model: unknown model '\(model)' (\(TransformerModel.presetNames))")
            }
            return m
        }
    }

    var systems: [String] { system.split(separator: ",").map { String($0).trimming(" ") } }

    /// The job's GPU count, from --gpu-count or tp x pp x dp.
    var gpus: Int {
        get throws {
            if let gpuCount {
                if let dp, dp * tp * pp != gpuCount {
                    throw ValidationError("--dp \(dp) x --tp \(tp) x --pp \(pp) is \(dp * tp * pp) GPUs, not --gpu-count \(gpuCount)")
                }
                return gpuCount
            }
            return (dp ?? max(1, 64 / (tp * pp))) * tp * pp
        }
    }

    func validate() throws {
        _ = try transformer
        for (name, v) in [("--gpu-count", gpuCount ?? 1), ("--tp", tp), ("--pp", pp), ("--dp", dp ?? 1)] where v < 1 || v > Topology.Limits.maxRanks {
            throw ValidationError("\(name) must be between 1 and \(Topology.Limits.maxRanks), got \(v)")
        }
        _ = try gpus
        guard mfu > 0 && mfu <= 1 else { throw ValidationError("--mfu must be in (0, 1], got \(mfu)") }
        guard tokensPerStep >= 1 && tokensPerStep.isFinite else { throw ValidationError("--tokens-per-step must be at least 1, got \(tokensPerStep)") }
        if let computeMs, !(computeMs >= 0 && computeMs.isFinite) { throw ValidationError("--compute-ms must not be negative, got \(computeMs)") }
        if let peakTFLOPS, !(peakTFLOPS > 0 && peakTFLOPS.isFinite) { throw ValidationError("--peak-tflops must be positive, got \(peakTFLOPS)") }
        for (name, v) in [("--bucket-mib", bucketMiB ?? 1), ("--first-bucket-mib", firstBucketMiB ?? 1)] where !(v > 0 && v <= 1_048_576) {
            throw ValidationError("\(name) must be in (0, 1048576], got \(v)")
        }
        if let parameters, !(parameters >= 1 && parameters <= 1e15) { throw ValidationError("--parameters must be between 1 and 1e15, got \(parameters)") }
        guard !systems.isEmpty && !systems.contains("") else { throw ValidationError("--system: empty name in '\(system)'") }
        try checkMaxSteps(maxSteps)
    }

    func run() throws {
        let m = try transformer
        let gpuCount = try gpus
        var report = Report(columns: [
            ReportColumn(key: "system", title: "system", kind: .text),
            ReportColumn(key: "gpus", title: "GPUs", kind: .integer),
            ReportColumn(key: "dp", title: "dp", kind: .integer),
            ReportColumn(key: "compute_ms", title: "compute", unit: "(ms)", kind: .number(decimals: 1)),
            ReportColumn(key: "comm_ms", title: "comm", unit: "(ms)", kind: .number(decimals: 1)),
            ReportColumn(key: "exposed_ms", title: "exposed", unit: "(ms)", kind: .number(decimals: 1)),
            ReportColumn(key: "step_ms", title: "step", unit: "(ms)", kind: .number(decimals: 1)),
            ReportColumn(key: "ratio", title: "vs first", unit: "(step)", kind: .number(decimals: 3)),
            ReportColumn(key: "sent_GB_per_gpu", title: "sent/GPU", unit: "(GB)", kind: .number(decimals: 2)),
            ReportColumn(key: "nccl", title: "NCCL per bucket", kind: .text),
        ])
        // The buckets: --buckets' rule, unless --bucket-mib or --first-bucket-mib say otherwise
        // (a Megatron first bucket follows --bucket-mib, as large as the others).
        let rule = TrainingStep.bucketBytes(buckets, dataParallel: TrainingStep.dataParallel(gpuCount: gpuCount, tensor: tp, pipeline: pp),
                                            gradientType: gradDtype)
        let bucketBytes = bucketMiB.map { Int($0 * Double(1 << 20)) } ?? rule.others
        let firstBucketBytes = firstBucketMiB.map { Int($0 * Double(1 << 20)) } ?? (buckets == .megatron ? bucketBytes : rule.first)
        var first: Double?
        var last: TrainingStep?
        for name in systems {
            var topology = try loadTopology(name, option: "--system")
            let g = topology.node.gpuCount
            guard gpuCount % g == 0 || gpuCount < g else {
                throw CLIError("--system \(name): \(gpuCount) GPUs do not fill nodes of \(g)")
            }
            if gpuCount < g { topology = try topology.with(gpusPerNode: gpuCount) } else { topology = topology.with(nodes: gpuCount / g) }
            let compute: Double
            if let computeMs {
                compute = computeMs / 1e3
            } else {
                guard let peak = peakTFLOPS ?? GPUModel(rawValue: topology.node.gpuName)?.denseBF16TFLOPS else {
                    throw CLIError("--system \(name): GPU '\(topology.node.gpuName)' has no known peak; give --peak-tflops or --compute-ms")
                }
                compute = TrainingStep.computeSeconds(parameters: parameters ?? m.statedParameters, tokensPerStep: tokensPerStep,
                                                      gpuCount: gpuCount, peakTFLOPS: peak, mfu: mfu)
            }
            let step: TrainingStep
            let outcome: TrainingStep.Outcome
            do {
                step = try TrainingStep(model: m, parameters: parameters, gpuCount: gpuCount, tensor: tp, pipeline: pp, zeroStage: zero,
                                        gradientType: gradDtype, bucketBytes: bucketBytes,
                                        firstBucketBytes: firstBucketBytes, computeSeconds: compute)
                let group = try TrainingStep.dataParallelTopology(topology, tensor: tp, dataParallel: step.dataParallel)
                outcome = try step.play(on: try FabricMap(group), maxSteps: maxSteps)
            } catch {
                throw CLIError("--system \(name): \(error)")
            }
            if first == nil { first = outcome.stepSeconds }
            last = step
            let picks = outcome.picks.map { "\($0.name) x\($0.count)" }.joined(separator: ", ")
            report.append([.text(name), .int(gpuCount), .int(step.dataParallel), .number(outcome.computeSeconds * 1e3),
                           .number(outcome.communicationSeconds * 1e3), .number(outcome.exposedSeconds * 1e3), .number(outcome.stepSeconds * 1e3),
                           .number(first! > 0 ? outcome.stepSeconds / first! : 1), .number(outcome.bytesSentPerGPU / 1e9), .text(picks)])
        }
        if let s = last {
            let cut = zero == 3 ? "\(s.shardedUnits) layer units (FSDP's one per layer; --bucket-mib does not apply)"
                : "\(s.buckets.count) buckets (\(buckets == .megatron && bucketMiB == nil ? "Megatron's max(40M, 1M x dp) parameters: " : "")\(formatFixed(Double(firstBucketBytes) / Double(1 << 20), decimals: 0)) MiB first, then \(formatFixed(Double(bucketBytes) / Double(1 << 20), decimals: 0)) MiB)"
            report.notes.append("model: \(m.name), \(formatFixed(s.parameters / 1e9, decimals: 2))B parameters; tp \(tp) x pp \(pp) x dp \(s.dataParallel); ZeRO \(zero); \(gradDtype.name) gradients, \(formatFixed(s.gradientBytesPerGPU / 1e9, decimals: 2)) GB per GPU in \(cut)")
            report.notes.append(computeMs != nil ? "compute: --compute-ms \(computeMs!)"
                                : "compute: 6 x parameters x \(Int(tokensPerStep)) tokens / (GPUs x dense BF16 peak x MFU \(mfu))")
            report.notes.append(zero == 3
                ? "overlap: forward 1/3, backward 2/3 of compute, split evenly over the layers; each layer's parameters gathered before its forward and its backward, the next layer's gather in execution order (forward 0..L-1, backward L-1..0) issued as a layer's compute starts (prefetch one ahead, as FSDP), its gradients reduce-scattered when its backward ends; one collective at a time on one stream, in issue order; exposed = step - compute"
                : "overlap: forward 1/3, backward 2/3 of compute; bucket i ready when the backward pass has produced it (reverse layer order); one bucket at a time on one stream; exposed = step - compute")
            report.notes.append("not modelled: tensor- and pipeline-parallel traffic, pipeline bubbles (fold them into --mfu), the optimizer step")
        }
        report.print(output.format)
    }
}

extension TrainingStep.BucketRule: ExpressibleByArgument {}
