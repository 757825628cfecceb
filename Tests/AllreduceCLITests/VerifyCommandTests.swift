import Foundation
import Testing

@Suite("allreduce verify")
struct VerifyCommandTests {
    @Test("every algorithm verifies 13 ranks of bfloat16 sums and exits 0")
    func table() throws {
        let r = try CLI.run(["verify", "--ranks", "13", "--count", "1003", "--datatype", "bfloat16", "--op", "sum", "--algorithm", "all", "--chunk-bytes", "256"])
        #expect(r.status == 0, "\(r.stderr)")
        for a in ["ring", "tree", "rabenseifner", "recursive-doubling", "hierarchical", "nccl-ring", "nccl-tree"] { #expect(r.stdout.contains(a)) }
        let rows = r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(rows.count == 7)
        for row in rows { #expect(row.split(separator: " ")[5] == "0") }  // #wrong
    }

    @Test("a wrong element is counted in #wrong and makes the exit status 1", arguments: ["int32", "float", "bfloat16"])
    func wrongElementFails(type: String) throws {
        let r = try CLI.run(["verify", "--ranks", "5", "--count", "101", "--datatype", type, "--op", "sum", "--algorithm", "ring",
                             "--format", "json", "--test-corrupt-rank", "3"])
        #expect(r.status == 1, "\(r.stderr)")
        // In JSON mode the footer notes go to stderr behind "# "; the error itself is one line.
        let errors = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("# ") }
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("allreduce: error: verification failed") == true)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
        #expect((rows.first?["wrong"] as? Int ?? 0) >= 1)
    }

    @Test("JSON rows carry exactly the documented keys")
    func json() throws {
        let r = try CLI.run(["verify", "--ranks", "6", "--count", "100", "--datatype", "int32", "--op", "max", "--algorithm", "tree", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(Set(row.keys) == ["algorithm", "ranks", "count", "type", "redop", "wrong", "max_abs_error", "max_rel_error", "time_us"])
        #expect(row["algorithm"] as? String == "tree")
        #expect(row["ranks"] as? Int == 6)
        #expect(row["count"] as? Int == 100)
        #expect(row["type"] as? String == "int32")
        #expect(row["redop"] as? String == "max")
        #expect(row["wrong"] as? Int == 0)
    }

    @Test("CSV has a header of keys and one row per algorithm")
    func csv() throws {
        let r = try CLI.run(["verify", "--ranks", "3", "--count", "10", "--algorithm", "all", "--format", "csv", "--datatype", "float64", "--op", "avg"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "algorithm,ranks,count,type,redop,wrong,max_abs_error,max_rel_error,time_us")
        // Every algorithm: three ranks fill one node, so NVLS's two schedules and CollNet Direct run too.
        #expect(lines.count == 1 + 10)
        #expect(lines.contains { $0.hasPrefix("nccl-collnet,") })
    }

    @Test("--symbolic verifies every schedule without data")
    func symbolic() throws {
        let r = try CLI.run(["verify", "--symbolic", "--ranks", "9", "--count", "10", "--chunk-bytes", "8", "--ranks-per-node", "4", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 7)
        for row in rows {
            #expect(row["verified"] as? String == "yes")
            #expect((row["steps"] as? Int ?? 0) > 0)
        }
    }

    @Test("hierarchical works when the ranks per node do not divide the ranks")
    func hierarchicalUneven() throws {
        let r = try CLI.run(["verify", "--ranks", "10", "--ranks-per-node", "4", "--inter-node", "tree", "--count", "77", "--algorithm", "hierarchical", "--datatype", "uint8"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("bad input: one line on stderr, non-zero exit", arguments: [
        (["verify", "--ranks", "0"], "--ranks"),
        (["verify", "--ranks=-4"], "--ranks"),
        (["verify", "--count=-1"], "--count"),
        (["verify", "--datatype", "float8"], "bfloat16"),
        (["verify", "--op", "xor"], "avg"),
        (["verify", "--algorithm", "butterfly"], "recursive-doubling"),
        (["verify", "--ranks", "4", "--ranks-per-node", "5"], "--ranks-per-node"),
        (["verify", "--ranks", "4", "--ranks-per-node", "0"], "--ranks-per-node"),
        (["verify", "--inter-node", "rabenseifner"], "one of 'ring' and 'tree'"),
        (["verify", "--chunk-bytes", "0"], "--chunk-bytes"),
        (["verify", "--chunk-bytes", "12Q"], "--chunk-bytes"),
        (["verify", "--ranks", "100000", "--count", "1000000000000"], "memory"),
        (["verify", "--ranks", "4611686018427387904", "--count", "1000"], "memory"),
        (["verify", "--ranks", "100000", "--count", "10000", "--algorithm", "ring"], "steps"),
    ])
    func badInput(_ args: [String], _ mention: String) throws {
        let r = try CLI.run(args)
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("allreduce: error: "))
        #expect(r.stderr.contains(mention), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }
}

@Suite("allreduce bench-executor")
struct VerifyBenchExecutorTests {
    @Test("prints memcpy and the executor side by side with their ratio")
    func smallRun() throws {
        let r = try CLI.run(["bench-executor", "--size", "256K", "--runs", "1", "--ranks", "4"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("memcpy"))
        #expect(r.stdout.contains("ring float sum"))
        #expect(r.stdout.contains("executor traffic / memcpy traffic = "))
    }

    @Test("JSON: traffic of the ring is 2(p-1)/p n copied + (p-1)/p n reduced per rank")
    func traffic() throws {
        let r = try CLI.run(["bench-executor", "--size", "64K", "--runs", "1", "--ranks", "4", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let ring = try #require(rows.first { ($0["what"] as? String)?.hasPrefix("ring") == true })
        // Per rank: (p-1)/p n reduced (3 bytes of traffic each) and (p-1)/p n copied (2 each).
        let n = 65536, p = 4
        #expect(ring["traffic_bytes"] as? Int == p * ((p - 1) * n / p) * 3 + p * ((p - 1) * n / p) * 2)
    }

    @Test("--step-rate times every algorithm's iterators")
    func stepRate() throws {
        let r = try CLI.run(["bench-executor", "--step-rate", "--ranks", "64", "--size", "1M", "--runs", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        for a in ["ring", "tree", "rabenseifner", "recursive-doubling", "hierarchical"] { #expect(r.stdout.contains(a)) }
    }

    @Test("bad input: one line, non-zero exit", arguments: [
        ["bench-executor", "--ranks", "0"], ["bench-executor", "--runs", "0"], ["bench-executor", "--datatype", "complex"],
        ["bench-executor", "--algorithm", "star"], ["bench-executor", "--size", "1T", "--ranks", "64"],
    ])
    func badInput(_ args: [String]) throws {
        let r = try CLI.run(args)
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.hasPrefix("allreduce: error: "))
    }
}
