import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels

/// How results are printed: nccl-tests-style table, CSV with a header of key names, a JSON
/// array of objects with the same keys, or OSU's osu_allreduce latency table (only for rows of
/// allreduce times: `mpi`, `simulate`, `sweep`).
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case table, csv, json, osu
}

/// `--format table|csv|json`, shared by every command that prints rows other than allreduce times.
struct FormatOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Output format: table, csv or json.", valueName: "table|csv|json"))
    var format: OutputFormat = .table

    func validate() throws {
        if format == .osu {
            throw ValidationError("--format osu prints allreduce latencies, which only 'mpi', 'simulate' and 'sweep' report; use table, csv or json")
        }
    }
}

/// `--format table|csv|json|osu`, for the commands whose rows are allreduce times (`mpi`,
/// `simulate`, `sweep`).
struct LatencyFormatOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Output format: table, csv, json, or osu (osu_allreduce's `# Size  Avg Latency(us)  Min Latency(us)  Max Latency(us)  Iterations`, one block per algorithm).", valueName: "table|csv|json|osu"))
    var format: OutputFormat = .table
}

/// One column of a report: its machine key (CSV header, JSON key), and the two header lines of
/// the table (title and unit).
struct ReportColumn {
    enum Kind { case integer, number(decimals: Int), text }
    var key: String
    var title: String
    var unit: String = ""
    var kind: Kind
}

extension ReportColumn {
    /// nccl-tests' `all_reduce_perf` columns, with the key names every command shares:
    /// `size, count, type, redop, root, algorithm, time_us, algbw_GBps, busbw_GBps`.
    static let allreducePerf: [ReportColumn] = [
            ReportColumn(key: "size", title: "size", unit: "(B)", kind: .integer),
            ReportColumn(key: "count", title: "count", unit: "(elements)", kind: .integer),
            ReportColumn(key: "type", title: "type", kind: .text),
            ReportColumn(key: "redop", title: "redop", kind: .text),
            ReportColumn(key: "root", title: "root", kind: .integer),
            ReportColumn(key: "algorithm", title: "algorithm", kind: .text),
            ReportColumn(key: "time_us", title: "time", unit: "(us)", kind: .number(decimals: 2)),
            ReportColumn(key: "algbw_GBps", title: "algbw", unit: "(GB/s)", kind: .number(decimals: 2)),
            ReportColumn(key: "busbw_GBps", title: "busbw", unit: "(GB/s)", kind: .number(decimals: 2)),
    ]

    /// With faults (`--fault`): the same run on the healthy cluster, and time / healthy time.
    static let faultComparison: [ReportColumn] = [
            ReportColumn(key: "healthy_us", title: "healthy", unit: "(us)", kind: .number(decimals: 2)),
            ReportColumn(key: "slowdown", title: "slowdown", unit: "(x)", kind: .number(decimals: 3)),
    ]
}

/// One cell.
enum ReportValue {
    case int(Int)
    case number(Double)
    case text(String)
}

/// Rows of results plus footer notes, rendered in any ``OutputFormat``.
///
/// In table form the footer lines follow the rows on standard output, each behind `# ` as in
/// nccl-tests; in CSV and JSON they go to standard error so the data stays machine-readable.
struct Report {
    var columns: [ReportColumn]
    var rows: [[ReportValue]] = []
    /// Per row, the algorithm as asked for (`nccl`, `ring`), which a row may name more precisely
    /// (`nccl(tree/LL/1ch)`, `ring->recursive-doubling`): `--format osu` prints a block per group.
    /// Empty: the `algorithm` cell.
    var groups: [String] = []
    var notes: [String] = []
    /// What the times are, for the title line of each `--format osu` block, e.g. `measured under
    /// mpirun, 2 ranks`.
    var latencySource = ""

    init(columns: [ReportColumn]) { self.columns = columns }

    /// Adds a row; `group` is the algorithm as asked for (see ``groups``), when it differs.
    mutating func append(_ row: [ReportValue], group: String? = nil) {
        precondition(row.count == columns.count, "Report: row has \(row.count) cells for \(columns.count) columns")
        if let group {
            while groups.count < rows.count { groups.append(Self.text(rows[groups.count], column: "algorithm", in: columns)) }
            groups.append(group)
        } else if !groups.isEmpty {
            groups.append(Self.text(row, column: "algorithm", in: columns))
        }
        rows.append(row)
    }

    /// The text of `row`'s cell under `key`, or "" when there is no such column.
    static func text(_ row: [ReportValue], column key: String, in columns: [ReportColumn]) -> String {
        guard let k = columns.firstIndex(where: { $0.key == key }) else { return "" }
        if case .text(let t) = row[k] { return t }
        return text(row[k], columns[k].kind)
    }

    /// Prints the report (data to standard output, notes as described above).
    func print(_ format: OutputFormat) {
        Swift.print(render(format), terminator: "")
        if format == .csv || format == .json {
            var err = StandardError()
            for note in notes { Swift.print("# \(note)", to: &err) }
        }
    }

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .table: renderTable()
        case .csv: renderCSV()
        case .json: renderJSON()
        case .osu: renderOSU()
        }
    }

    /// OSU Micro-Benchmarks' `osu_allreduce --full` table, so scripts that parse it read ours:
    /// per algorithm (in the order they first appear), a title line, `# Datatype: ...`, the header
    /// and one row per size, printed with OMB's `%-10d` size, `%18.2f` latencies and `%12d`
    /// iterations (osu_util.c: `print_preamble`, `print_stats`; FIELD_WIDTH 18, FLOAT_PRECISION 2).
    /// The notes follow as `#` lines. Min and max are the time itself, and iterations 1, when the
    /// report has no such columns (a simulated time is one exact figure).
    func renderOSU() -> String {
        func column(_ key: String) -> Int? { columns.firstIndex { $0.key == key } }
        guard let size = column("size"), let time = column("time_us") else {
            preconditionFailure("Report.renderOSU: the report has no size or time_us column")
        }
        let minimum = column("time_min_us") ?? time, maximum = column("time_max_us") ?? time
        let iterations = column("iterations")
        func text(_ row: [ReportValue], _ k: Int) -> String { Self.text(row, column: columns[k].key, in: columns) }
        func latency(_ row: [ReportValue], _ k: Int) -> String {
            if case .number(let d) = row[k] { return pad(formatFixed(d, decimals: 2), 18) }
            return pad(text(row, k), 18)
        }
        let group = groups.count == rows.count ? groups : rows.map { Self.text($0, column: "algorithm", in: columns) }
        var names: [String] = []
        for name in group where !names.contains(name) { names.append(name) }
        var out = ""
        for name in names {
            let mine = rows.indices.filter { group[$0] == name }.map { rows[$0] }
            let played = Set(mine.map { Self.text($0, column: "algorithm", in: columns) }).subtracting([name]).sorted()
            let source = [latencySource] + (played.isEmpty ? [] : ["played as " + played.joined(separator: ", ")])
            out += "# Allreduce Latency Test: \(name.isEmpty ? "allreduce" : name)"
                + (source.allSatisfy(\.isEmpty) ? "" : " (\(source.filter { !$0.isEmpty }.joined(separator: "; ")))") + "\n"
            if let first = mine.first, columns.contains(where: { $0.key == "type" }) {
                let op = Self.text(first, column: "redop", in: columns)
                out += "# Datatype: \(Self.text(first, column: "type", in: columns))\(op.isEmpty ? "" : ", op \(op)").\n"
            }
            out += "# Size".leftAligned(10) + pad("Avg Latency(us)", 18) + pad("Min Latency(us)", 18)
                + pad("Max Latency(us)", 18) + pad("Iterations", 12) + "\n"
            for row in mine {
                out += text(row, size).leftAligned(10) + latency(row, time) + latency(row, minimum)
                    + latency(row, maximum) + pad(iterations.map { text(row, $0) } ?? "1", 12) + "\n"
            }
        }
        for note in notes { out += "# \(note)\n" }
        return out
    }

    func renderTable() -> String {
        let cells = rows.map { row in zip(columns, row).map { Self.text($1, $0.kind) } }
        var widths = columns.map { max($0.title.count, $0.unit.count) }
        for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ items: [String], lead: String) -> String {
            lead + zip(items, widths).map { pad($0, $1) }.joined(separator: "  ") + "\n"
        }
        var out = line(columns.map(\.title), lead: "# ")
        out += line(columns.map(\.unit), lead: "# ")
        for row in cells { out += line(row, lead: "  ") }
        for note in notes { out += "# \(note)\n" }
        return out
    }

    func renderCSV() -> String {
        var out = columns.map(\.key).joined(separator: ",") + "\n"
        for row in rows {
            out += zip(columns, row).map { col, v in
                let t = Self.text(v, col.kind)
                if case .text = v, t.contains(",") || t.contains("\"") {
                    return "\"" + t.replacing("\"", with: "\"\"") + "\""
                }
                return t
            }.joined(separator: ",") + "\n"
        }
        return out
    }

    func renderJSON() -> String {
        if rows.isEmpty { return "[]\n" }
        var out = "[\n"
        for (n, row) in rows.enumerated() {
            let fields = zip(columns, row).map { col, v in "\"\(col.key)\": \(Self.json(v))" }
            out += "  {" + fields.joined(separator: ", ") + "}" + (n + 1 < rows.count ? "," : "") + "\n"
        }
        return out + "]\n"
    }

    // MARK: Printing rows as they come

    /// Widths of the streamed table: a column is as wide as its title, its unit and a typical
    /// value (a longer value widens its own line only).
    var streamWidths: [Int] {
        columns.map { c in
            let typical: Int
            switch c.kind {
            case .integer: typical = c.key == "size" || c.key == "count" ? 10 : 0
            case .number: typical = 7
            case .text: typical = c.key == "algorithm" ? 20 : 6
            }
            return max(c.title.count, c.unit.count, typical)
        }
    }

    /// What goes before the first streamed row (the table's header, the CSV header line, `[`).
    func streamHeader(_ format: OutputFormat) -> String {
        switch format {
        case .table:
            let w = streamWidths
            return "# " + zip(columns.map(\.title), w).map { pad($0, $1) }.joined(separator: "  ") + "\n"
                + "# " + zip(columns.map(\.unit), w).map { pad($0, $1) }.joined(separator: "  ") + "\n"
        case .csv: return columns.map(\.key).joined(separator: ",") + "\n"
        case .json: return "["
        case .osu: return ""  // grouped by algorithm: everything comes with the footer
        }
    }

    /// Streamed row number `index` (0-based), as ``render(_:)`` prints it.
    func streamRow(_ row: [ReportValue], index: Int, _ format: OutputFormat) -> String {
        switch format {
        case .table:
            return "  " + zip(zip(columns, row), streamWidths).map { pad(Self.text($0.1, $0.0.kind), $1) }.joined(separator: "  ") + "\n"
        case .csv:
            var one = self
            one.rows = [row]
            return String(one.renderCSV().drop { $0 != "\n" }.dropFirst())
        case .json:
            let fields = zip(columns, row).map { col, v in "\"\(col.key)\": \(Self.json(v))" }
            return (index == 0 ? "\n" : ",\n") + "  {" + fields.joined(separator: ", ") + "}"
        case .osu: return ""
        }
    }

    /// What follows the last of `rowCount` streamed rows: the notes (on standard error in CSV and
    /// JSON, as ``print(_:)`` puts them) and the closing `]`. In `osu` form, which groups the rows
    /// by algorithm, nothing was streamed: this report's ``rows`` are printed here.
    func streamFooter(_ format: OutputFormat, rowCount: Int) {
        switch format {
        case .osu:
            Swift.print(renderOSU(), terminator: "")
        case .table:
            Swift.print(notes.map { "# \($0)\n" }.joined(), terminator: "")
        case .csv, .json:
            if format == .json { Swift.print(rowCount == 0 ? "]" : "\n]") }
            var err = StandardError()
            for note in notes { Swift.print("# \(note)", to: &err) }
        }
    }

    static func text(_ v: ReportValue, _ kind: ReportColumn.Kind) -> String {
        switch v {
        case .int(let i): return String(i)
        case .text(let s): return s
        case .number(let d):
            if case .number(let decimals) = kind { return formatFixed(d, decimals: decimals) }
            return formatFixed(d, decimals: 2)
        }
    }

    static func json(_ v: ReportValue) -> String {
        switch v {
        case .int(let i): return String(i)
        case .number(let d): return d.isFinite ? "\(d)" : "null"
        case .text(let s): return jsonQuote(s)
        }
    }
}

extension String {
    /// Left-aligns the string in `width` characters (C's `%-*s`).
    fileprivate func leftAligned(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// Right-aligns `s` in `width` characters.
func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

/// `d` with exactly `decimals` digits after the point (no Foundation needed); `nan`/`inf` as is.
func formatFixed(_ d: Double, decimals: Int) -> String {
    guard d.isFinite else { return d.isNaN ? "nan" : (d < 0 ? "-inf" : "inf") }
    if abs(d) >= 1e15 { return "\(d)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(d) * scale).rounded()
    let whole = Int(scaled / scale)
    let frac = Int(scaled - Double(whole) * scale)
    let sign = d < 0 && scaled != 0 ? "-" : ""
    if decimals == 0 { return sign + String(whole) }
    let f = String(frac)
    return sign + String(whole) + "." + String(repeating: "0", count: decimals - f.count) + f
}

// MARK: - Shared argument types

extension DataType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension ReductionOp: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

/// Parses `-b`/`-e` style byte sizes, with a one-line error.
func parseBytes(_ text: String, option: String) throws -> Int {
    switch ByteCount.parse(text) {
    case .success(let v):
        guard v >= 0 else { throw ValidationError("\(option): size must not be negative") }
        return v
    case .failure(let e): throw ValidationError("\(option): \(e)")
    }
}

/// Refuses a byte size that is not a whole number of `type` elements (a size is never rounded
/// silently: `--size 3` of float would be 0 bytes).
func wholeElements(_ bytes: Int, _ type: DataType, option: String) throws {
    let size = type.sizeInBytes
    guard bytes % size == 0 else {
        let below = bytes - bytes % size
        let (above, overflow) = below.addingReportingOverflow(size)
        let choices = [below == 0 ? nil : "\(below)", overflow ? nil : "\(above)"].compactMap { $0 }
        throw ValidationError("\(option) \(bytes): not a whole number of \(type.name) elements (\(size) bytes each); use \(choices.joined(separator: " or "))")
    }
}

/// `--max-steps`: at least 1, at most what the engines can number (``WorkLimit/maxStepsCeiling``).
func checkMaxSteps(_ value: Int) throws {
    guard value >= 1 && value <= WorkLimit.maxStepsCeiling else {
        throw ValidationError("--max-steps must be between 1 and \(WorkLimit.maxStepsCeiling), got \(value)")
    }
}
