import Foundation
import Testing

@Suite("allreduce train")
struct TrainCLITests {
    @Test("One row per system, the ratio to the first; A800 = A100 where the network gates (tp 8)")
    func systems() throws {
        let r = try CLI.run(["train", "--model", "llama3-8b", "--parameters", "3e8", "--gpu-count", "32", "--tp", "8",
                             "--system", "dgx-a100,hgx-a800,dgx-h100,hgx-h800", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.compactMap { $0["system"] as? String } == ["dgx-a100", "hgx-a800", "dgx-h100", "hgx-h800"])
        #expect(rows.first?["ratio"] as? Double == 1)
        #expect(rows[0]["step_ms"] as? Double == rows[1]["step_ms"] as? Double)
        #expect(rows.allSatisfy { ($0["dp"] as? Int) == 4 && (($0["nccl"] as? String) ?? "").hasPrefix("allreduce ") })
        // H100's peak is 989 / 312 of A100's: compute shrinks by that factor.
        let a = try #require(rows[0]["compute_ms"] as? Double), h = try #require(rows[2]["compute_ms"] as? Double)
        #expect(abs(a / h - 989.0 / 312) < 0.01)
    }

    @Test("Table output names the model, the buckets and the overlap rule")
    func notes() throws {
        let r = try CLI.run(["train", "--model", "gpt3-6.7b", "--gpu-count", "16", "--compute-ms", "500", "--system", "dgx-h100"])
        #expect(r.status == 0, "\(r.stderr)")
        for s in ["gpt3-6.7b", "6.70B parameters", "1 MiB first, then 25 MiB", "overlap:", "compute: --compute-ms 500"] {
            #expect(r.stdout.contains(s), "missing \(s)")
        }
    }

    @Test("--zero 3 (FSDP): two gathers and a reduce-scatter per layer, 1.5x ZeRO 1's bytes per GPU, the rule in the notes")
    func zero3() throws {
        func run(_ zero: String, _ format: String = "json") throws -> CLIResult {
            let r = try CLI.run(["train", "--model", "llama3-8b", "--parameters", "3e8", "--gpu-count", "16", "--compute-ms", "100",
                                 "--system", "dgx-h100", "--zero", zero, "--format", format])
            #expect(r.status == 0, "\(r.stderr)")
            return r
        }
        func row(_ zero: String) throws -> [String: Any] {
            try #require((try JSONSerialization.jsonObject(with: Data(run(zero).stdout.utf8)) as? [[String: Any]])?.first)
        }
        let one = try row("1"), three = try row("3")
        let sent1 = try #require(one["sent_GB_per_gpu"] as? Double), sent3 = try #require(three["sent_GB_per_gpu"] as? Double)
        #expect(abs(sent3 / sent1 - 1.5) < 1e-9, "\(sent1) \(sent3)")
        let nccl = try #require(three["nccl"] as? String)
        #expect(nccl.contains("all-gather ") && nccl.contains(" x64") && nccl.contains("reduce-scatter ") && nccl.contains(" x32"), "\(nccl)")
        let table = try run("3", "table").stdout
        for s in ["ZeRO 3", "32 layer units", "prefetch one ahead"] { #expect(table.contains(s), "missing \(s)") }
    }

    @Test("--buckets megatron: max(40M, 1M x dp) parameters per bucket, no small first one; --bucket-mib still overrides")
    func megatronBuckets() throws {
        func notes(gpus: Int, tp: Int, _ extra: [String]) throws -> String {
            let r = try CLI.run(["train", "--model", "llama3-8b", "--parameters", "1e6", "--gpu-count", "\(gpus)", "--tp", "\(tp)",
                                 "--compute-ms", "10", "--system", "dgx-h100", "--buckets", "megatron"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout
        }
        // dp 64: 64M parameters of bfloat16 a bucket = 128,000,000 B = 122.07 MiB.
        let big = try notes(gpus: 64, tp: 1, [])
        #expect(big.contains("Megatron's max(40M, 1M x dp) parameters: 122 MiB first, then 122 MiB"), "\(big)")
        // dp 8: the 40M floor, float gradients: 160,000,000 B = 152.59 MiB.
        let floor = try notes(gpus: 64, tp: 8, ["--grad-dtype", "float"])
        #expect(floor.contains("153 MiB first, then 153 MiB"), "\(floor)")
        // --bucket-mib overrides the rule's size, and the first bucket follows it.
        let given = try notes(gpus: 64, tp: 8, ["--bucket-mib", "50"])
        #expect(given.contains("50 MiB first, then 50 MiB") && !given.contains("Megatron's"), "\(given)")
        expectOneLineError(try CLI.run(["train", "--buckets", "zero"]), contains: ["--buckets"])
    }

    @Test("Bad input: one line, non-zero exit")
    func errors() throws {
        expectOneLineError(try CLI.run(["train", "--model", "gpt5"]), contains: ["unknown model 'gpt5'"])
        expectOneLineError(try CLI.run(["train", "--zero", "4", "--gpu-count", "8"]), contains: ["ZeRO stage must be 0, 1, 2 or 3"])
        expectOneLineError(try CLI.run(["train", "--gpu-count", "12", "--tp", "8"]), contains: ["12 GPUs"])
        expectOneLineError(try CLI.run(["train", "--mfu", "1.5"]), contains: ["--mfu"])
        expectOneLineError(try CLI.run(["train", "--system", "dgx-h100,nope"]), contains: ["unknown preset 'nope'"])
        expectOneLineError(try CLI.run(["train", "--dp", "4", "--gpu-count", "8"]), contains: ["not --gpu-count 8"])
        expectOneLineError(try CLI.run(["train", "--bucket-mib", "0"]), contains: ["--bucket-mib"])
    }
}
