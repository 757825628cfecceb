import Foundation
import Testing

@Suite("allreduce verify")
struct VerifyCommandTests {
    @Test("every algorithm verifies 13 ranks of bfloat16 sums and exits 0")
    func table() throws {
        let r = try CLI.run(["verify", "--ranks", "13", "--count", "1003", "--datatype", "bfloat16", "--op", "sum", "--algorithm", "all", "--chunk-bytes", "256"])
        #expect(r.status == 0, "\(r.stderr)")
        for a in ["ring", "tree", "rabenseifner", "recursive-doubling", "hierarchical"] { #expect(r.stdout.contains(a)) }
        let rows = r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(rows.count == 5)
        for row in rows { #expect(row.split(separator: " ")[5] == "0") }  // #wrong
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
        #expect(lines.count == 6)
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
        (["verify", "--inter-node", "rabenseifner"], "ring tree"),
        (["verify", "--chunk-bytes", "0"], "--chunk-bytes"),
        (["verify", "--chunk-bytes", "12Q"], "--chunk-bytes"),
        (["verify", "--ranks", "100000", "--count", "1000000000000"], "memory"),
        (["verify", "--ranks", "4611686018427387904", "--count", "1000"], "memory"),
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
