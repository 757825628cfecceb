import CollectiveCore
import CollectiveFabric
import CollectiveKernels
import Testing
@testable import CollectiveSim

@Suite("Training step: presets, buckets, overlap, systems")
struct TrainingStepTests {
    @Test("Model presets: the parameters counted from the shape match the papers' stated counts within 1%, or the published exact count where the name is rounded",
          arguments: TransformerModel.presets)
    func presetParameters(_ m: TransformerModel) {
        // Llama 2 70B's "70B" is a rounded name: its released weights hold 68,976,648,192
        // parameters (1.5% under), and the 1% check compares against that exact count.
        let reference = m.exactParameters ?? m.statedParameters
        #expect(abs(m.computedParameters / reference - 1) < 0.01, "\(m.name): \(m.computedParameters) vs \(reference)")
        if let exact = m.exactParameters {
            #expect(m.computedParameters == exact)
            #expect(abs(m.computedParameters / m.statedParameters - 1) > 0.01)
        }
        #expect((m.exactParameters != nil) == (m.name == "llama2-70b"))
    }

    @Test("Parameter counts from the shape, exactly: GPT-3 175B and Llama 3 8B")
    func exactCounts() throws {
        // GPT-3 175B: 96 x (12 h^2 + 13 h) + (50257 + 2048) h + 2h, h = 12288.
        let h = 12288.0
        #expect(try #require(TransformerModel.preset("gpt3-175b")).computedParameters == 96 * (12 * h * h + 13 * h) + (50257 + 2048) * h + 2 * h)
        // Llama 3 8B: 32 x (2 h^2 + 2 h 1024 + 3 h 14336 + 2h) + 2 x 128256 h + h, h = 4096: 8,030,261,248.
        #expect(try #require(TransformerModel.preset("LLAMA3-8B")).computedParameters == 8_030_261_248)
    }

    /// A step of `parameters` bf16 gradients on `gpus` GPUs.
    func step(parameters: Double = 1e8, gpus: Int, tensor: Int = 1, zero: Int = 0, compute: Double) throws -> TrainingStep {
        try TrainingStep(model: TransformerModel.presets[0], parameters: parameters, gpuCount: gpus, tensor: tensor, zeroStage: zero,
                         computeSeconds: compute)
    }

    @Test("Buckets: 1 MiB first, then 25 MiB, the rest last; ready times rise to the end of compute")
    func buckets() throws {
        let s = try step(gpus: 8, compute: 3)
        let b = s.buckets
        #expect(b.first?.bytes == 1 << 20)
        #expect(b.dropFirst().dropLast().allSatisfy { $0.bytes == 25 << 20 })
        #expect(Double(b.reduce(0) { $0 + $1.bytes }) == s.gradientBytesPerGPU)
        #expect(b.count == 1 + Int((2e8 - Double(1 << 20)) / Double(25 << 20)) + 1)
        #expect(abs(b.last!.readySeconds - 3) < 1e-12 && abs(b.first!.readySeconds - (1 + 2 * Double(1 << 20) / 2e8)) < 1e-12)
    }

    @Test("No compute: the step is the sum of its buckets' allreduces, each timed alone")
    func noCompute() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!.with(nodes: 2))
        let s = try step(gpus: 16, compute: 0)
        let o = try s.play(on: fabric)
        let sim = Simulator(fabric: fabric, model: .event)
        var sum = 0.0
        for b in s.buckets { sum += try sim.timeNCCL(elementCount: b.bytes / 2, dataType: .bfloat16).timeSeconds }
        #expect(o.stepSeconds == sum && o.communicationSeconds == sum && o.exposedSeconds == sum)
        #expect(o.picks.reduce(0) { $0 + $1.count } == s.buckets.count)
        #expect(abs(o.bytesSentPerGPU - 2e8 * 2 * 15 / 16) < 1)
    }

    @Test("Overlap rule: exposed = max(0, max_i(ready_i + durations from i on) - compute); with a stream that never idles, comm - overlappable compute",
          arguments: [0.001, 0.01, 0.05, 0.5, 5, 50])
    func overlapRule(_ perBucket: Double) throws {
        let s = try step(gpus: 8, compute: 2)
        let b = s.buckets
        let o = s.play { _, bytes in TrainingStep.CollectiveTiming(seconds: perBucket * Double(bytes) / Double(25 << 20), pick: "x", bytesSentPerGPU: 0) }
        let durations = b.map { perBucket * Double($0.bytes) / Double(25 << 20) }
        var latest = 0.0
        for i in b.indices { latest = max(latest, b[i].readySeconds + durations[i...].reduce(0, +)) }
        #expect(abs(o.exposedSeconds - max(0, latest - 2)) < 1e-9)
        #expect(o.exposedSeconds >= durations.last! - 1e-12)
        let comm = durations.reduce(0, +)
        // Full overlap: once the first bucket is ready the stream never idles (every bucket is
        // ready by the time the ones before it have run); then exposed = comm - the compute left
        // after the first bucket is ready.
        var busy = true, t = b[0].readySeconds
        for i in b.indices { t += durations[i]; if i + 1 < b.count && t < b[i + 1].readySeconds { busy = false } }
        #expect(busy == (perBucket >= 5), "\(perBucket)")
        if busy {
            #expect(abs(o.exposedSeconds - max(0, comm - (2 - b[0].readySeconds))) < 1e-9)
        }
        #expect(abs(o.communicationSeconds - comm) < 1e-12 && abs(o.stepSeconds - 2 - o.exposedSeconds) < 1e-12)
    }

    @Test("ZeRO 2: a reduce-scatter per bucket, then the parameters' all-gathers after the compute, exposed")
    func zero2() throws {
        let s = try step(gpus: 8, zero: 2, compute: 1)
        let o = s.play { c, _ in TrainingStep.CollectiveTiming(seconds: 0.001, pick: c.rawValue, bytesSentPerGPU: 1) }
        #expect(o.picks == [TrainingStep.Pick(name: "reduce-scatter", count: s.buckets.count), TrainingStep.Pick(name: "all-gather", count: s.buckets.count)])
        #expect(abs(o.exposedSeconds - (0.001 + 0.001 * Double(s.buckets.count))) < 1e-9)
    }

    @Test("ZeRO 3 sends 1.5x the bytes of ZeRO 1 and 2 per step (ZeRO's 3 Psi against 2 Psi), played on the event engine")
    func zero3Bytes() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!.with(nodes: 2))
        let sent = try (1...3).map { try step(gpus: 16, zero: $0, compute: 1).play(on: fabric).bytesSentPerGPU }
        #expect(abs(sent[2] / sent[0] - 1.5) < 1e-12 && abs(sent[2] / sent[1] - 1.5) < 1e-12, "\(sent)")
        #expect(abs(sent[2] - 3 * 2e8 * 15 / 16) < 1)
    }

    @Test("ZeRO 3 units: one per layer (over the pipeline stages), the GPU's bytes split evenly, every byte in one unit")
    func zero3Units() throws {
        let s = try TrainingStep(model: TransformerModel.preset("llama3-8b")!, gpuCount: 16, pipeline: 2, zeroStage: 3, computeSeconds: 1)
        #expect(s.shardedUnits == 16)
        let units = s.unitBytes
        #expect(units.count == 16 && Double(units.reduce(0, +)) == s.gradientBytesPerGPU)
        #expect(units.max()! - units.min()! <= 2)
    }

    @Test("ZeRO 3 with no compute: the step is the sum of its collectives (two gathers and a reduce-scatter per layer), each timed alone")
    func zero3NoCompute() throws {
        let fabric = try FabricMap(Topology.preset("dgx-h100")!.with(nodes: 2))
        let s = try step(gpus: 16, zero: 3, compute: 0)
        let o = try s.play(on: fabric)
        var sum = 0.0
        for bytes in s.unitBytes {
            for c in [Collective.allGather, .allGather, .reduceScatter] {
                sum += try Simulator(fabric: fabric, model: .event, collective: c).timeNCCL(elementCount: bytes / 2, dataType: .bfloat16).timeSeconds
            }
        }
        #expect(abs(o.stepSeconds / sum - 1) < 1e-12 && abs(o.communicationSeconds / sum - 1) < 1e-12 && o.exposedSeconds == o.stepSeconds)
        #expect(o.picks.reduce(0) { $0 + $1.count } == 3 * s.shardedUnits && o.bucketCount == s.shardedUnits)
    }

    @Test("ZeRO 3 overlap: collectives shorter than a layer's compute hide all but the first gather and the last reduce-scatter; longer ones leave the stream never idle")
    func zero3Overlap() throws {
        let s = try step(gpus: 8, zero: 3, compute: 3)
        let units = Double(s.shardedUnits)
        let unitForward = 1 / units
        // Short: every collective 1% of a forward unit.
        let short = unitForward / 100
        var o = s.play { c, _ in TrainingStep.CollectiveTiming(seconds: short, pick: c.rawValue, bytesSentPerGPU: 0) }
        #expect(abs(o.exposedSeconds - 2 * short) < 1e-12, "\(o.exposedSeconds)")
        #expect(abs(o.communicationSeconds - 3 * units * short) < 1e-12)
        // Long: every collective longer than a backward unit; once started the stream never
        // idles (each collective is issued before the one ahead of it ends), so the step is the
        // communication alone.
        let long = 3 / units
        o = s.play { c, _ in TrainingStep.CollectiveTiming(seconds: long, pick: c.rawValue, bytesSentPerGPU: 0) }
        #expect(abs(o.stepSeconds - 3 * units * long) < 1e-9, "\(o.stepSeconds) vs \(3 * units * long)")
        #expect(abs(o.exposedSeconds - max(0, o.communicationSeconds - 3)) < 1e-9)
    }

    @Test("A800 vs A100: the same step where the network gates (one GPU per node per group); slower inside one node, where NVLink gates")
    func a800() throws {
        func outcome(_ system: String, gpus: Int, tensor: Int) throws -> TrainingStep.Outcome {
            let t = Topology.preset(system)!
            let s = try step(gpus: gpus, tensor: tensor, compute: 0.5)
            let group = try TrainingStep.dataParallelTopology(gpus < 8 ? try t.with(gpusPerNode: gpus) : t.with(nodes: gpus / 8),
                                                              tensor: tensor, dataParallel: s.dataParallel)
            return try s.play(on: try FabricMap(group))
        }
        let netA100 = try outcome("dgx-a100", gpus: 64, tensor: 8), netA800 = try outcome("hgx-a800", gpus: 64, tensor: 8)
        #expect(netA100 == netA800)
        let nodeA100 = try outcome("dgx-a100", gpus: 8, tensor: 1), nodeA800 = try outcome("hgx-a800", gpus: 8, tensor: 1)
        #expect(nodeA800.communicationSeconds > 1.2 * nodeA100.communicationSeconds)
        #expect(nodeA800.bytesSentPerGPU == nodeA100.bytesSentPerGPU)
    }

    @Test("The data-parallel group's cluster follows Megatron's order: tensor inside nodes, then data")
    func groupLayout() throws {
        let t = Topology.preset("dgx-h100")!
        for (tensor, dp, perNode, nodes) in [(1, 16, 8, 2), (2, 16, 4, 4), (8, 4, 1, 4), (16, 4, 1, 4), (1, 4, 4, 1)] {
            let g = try TrainingStep.dataParallelTopology(t, tensor: tensor, dataParallel: dp)
            #expect(g.node.gpuCount == perNode && g.nodeCount == nodes, "tp \(tensor) dp \(dp)")
        }
        #expect(throws: SimulationError.self) { try TrainingStep.dataParallelTopology(t, tensor: 3, dataParallel: 4) }
        #expect(throws: SimulationError.self) { try self.step(gpus: 12, tensor: 8, compute: 1) }
        #expect(throws: SimulationError.self) { try self.step(gpus: 8, zero: 4, compute: 1) }
        #expect(TrainingStep.computeSeconds(parameters: 1e9, tokensPerStep: 1e6, gpuCount: 8, peakTFLOPS: 1000, mfu: 0.5) == 6e15 / 4e15)
    }

    @Test("Megatron's bucket: max(40M, 1M x dp) parameters in gradient bytes")
    func megatronBucket() {
        #expect(TrainingStep.megatronBucketBytes(dataParallel: 8, gradientType: .bfloat16) == 80_000_000)
        #expect(TrainingStep.megatronBucketBytes(dataParallel: 40, gradientType: .float32) == 160_000_000)
        #expect(TrainingStep.megatronBucketBytes(dataParallel: 512, gradientType: .bfloat16) == 1_024_000_000)
    }
}
