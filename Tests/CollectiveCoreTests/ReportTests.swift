import Testing
import CollectiveCore

@Suite("Result tables: nccl-tests' table, CSV, JSON and OSU's latency table")
struct ReportTests {
    func sample() -> Report {
        var report = Report(columns: ReportColumn.allreducePerf)
        report.append([.int(8), .int(2), .text("float"), .text("sum"), .int(-1), .text("ring"), .number(12.5), .number(0), .number(0)])
        report.append([.int(1024), .int(256), .text("float"), .text("sum"), .int(-1), .text("tree, \"a\""), .number(.nan), .number(1.234), .number(2)])
        report.notes = ["a note"]
        return report
    }

    @Test("the table has the title and unit lines, aligned columns and the notes")
    func table() {
        let lines = sample().render(.table).split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines[0].hasPrefix("# ") && lines[0].contains("busbw"))
        #expect(lines[1].contains("(GB/s)") && lines[1].contains("(elements)"))
        #expect(lines[2].hasSuffix("0.00") && lines[2].contains("12.50"))
        #expect(lines[2].count == lines[3].count)
        #expect(lines[4] == "# a note")
    }

    @Test("CSV quotes text with commas or quotes; JSON writes a non-finite number as null")
    func csvAndJSON() {
        let csv = sample().render(.csv).split(separator: "\n").map(String.init)
        #expect(csv[0] == "size,count,type,redop,root,algorithm,time_us,algbw_GBps,busbw_GBps")
        #expect(csv[2] == "1024,256,float,sum,-1,\"tree, \"\"a\"\"\",nan,1.23,2.00")
        let json = sample().render(.json)
        #expect(json.contains("\"algorithm\": \"tree, \\\"a\\\"\", \"time_us\": null"))
        #expect(json.hasPrefix("[\n") && json.hasSuffix("]\n"))
        #expect(Report(columns: ReportColumn.allreducePerf).render(.json) == "[]\n")
    }

    @Test("OSU's table: a block per algorithm as asked for, min and max the time itself without their columns")
    func osu() {
        var report = Report(columns: ReportColumn.allreducePerf)
        report.append([.int(8), .int(2), .text("float"), .text("sum"), .int(-1), .text("ring->recursive-doubling"), .number(3), .number(0), .number(0)], group: "ring")
        report.append([.int(64), .int(16), .text("float"), .text("sum"), .int(-1), .text("ring"), .number(4), .number(0), .number(0)], group: "ring")
        report.append([.int(8), .int(2), .text("float"), .text("sum"), .int(-1), .text("tree"), .number(5), .number(0), .number(0)], group: "tree")
        let out = report.render(.osu)
        let titles = out.split(separator: "\n").filter { $0.hasPrefix("# Allreduce Latency Test") }
        #expect(titles == ["# Allreduce Latency Test: ring (played as ring->recursive-doubling)", "# Allreduce Latency Test: tree"])
        #expect(out.contains("8                       3.00              3.00              3.00           1"))
    }

    @Test("streamed rows print as the whole table's CSV and JSON do")
    func streamed() {
        let report = sample()
        let csv = report.streamHeader(.csv) + report.rows.indices.map { report.streamRow(report.rows[$0], index: $0, .csv) }.joined()
        #expect(csv == report.render(.csv))
        let json = report.streamHeader(.json) + report.rows.indices.map { report.streamRow(report.rows[$0], index: $0, .json) }.joined() + "\n]\n"
        #expect(json == report.render(.json))
    }

    @Test("fixed decimals without Foundation, and right alignment")
    func formatting() {
        #expect(formatFixed(1.005, decimals: 2) == "1.00" || formatFixed(1.005, decimals: 2) == "1.01")
        #expect(formatFixed(-0.004, decimals: 2) == "0.00")
        #expect(formatFixed(-2.5, decimals: 1) == "-2.5")
        #expect(formatFixed(.infinity, decimals: 2) == "inf")
        #expect(formatFixed(7, decimals: 0) == "7")
        #expect(pad("ab", 4) == "  ab")
        #expect(pad("abcde", 4) == "abcde")
    }
}
