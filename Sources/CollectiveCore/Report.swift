/// Results as nccl-tests prints them: named columns (the CSV header and JSON keys every command
/// shares), rows of cells and footer notes, rendered as nccl-tests' table, CSV, JSON or OSU's
/// latency table. The `allreduce` command line prints these; a program that runs collectives
/// through the library renders its rows the same way.

/// How results are printed: nccl-tests-style table, CSV with a header of key names, a JSON
/// array of objects with the same keys, or OSU's osu_allreduce latency table (only for rows of
/// allreduce times: `mpi`, `simulate`, `sweep`).
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, csv, json, osu
}

/// One column of a report: its machine key (CSV header, JSON key), and the two header lines of
/// the table (title and unit).
public struct ReportColumn: Sendable {
    public enum Kind: Sendable { case integer, number(decimals: Int), text }
    public var key: String
    public var title: String
    public var unit: String
    public var kind: Kind

    public init(key: String, title: String, unit: String = "", kind: Kind) {
        self.key = key
        self.title = title
        self.unit = unit
        self.kind = kind
    }
}

extension ReportColumn {
    /// nccl-tests' `all_reduce_perf` columns, with the key names every command shares:
    /// `size, count, type, redop, root, algorithm, time_us, algbw_GBps, busbw_GBps`.
    public static let allreducePerf: [ReportColumn] = [
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
    public static let faultComparison: [ReportColumn] = [
            ReportColumn(key: "healthy_us", title: "healthy", unit: "(us)", kind: .number(decimals: 2)),
            ReportColumn(key: "slowdown", title: "slowdown", unit: "(x)", kind: .number(decimals: 3)),
    ]
}

/// One cell.
public enum ReportValue: Sendable {
    case int(Int)
    case number(Double)
    case text(String)
}

/// Rows of results plus footer notes, rendered in any ``OutputFormat``.
///
/// In table form the footer lines follow the rows, each behind `# ` as in nccl-tests; in CSV and
/// JSON the command line prints them to standard error so the data stays machine-readable.
public struct Report: Sendable {
    public var columns: [ReportColumn]
    public var rows: [[ReportValue]] = []
    /// Per row, the algorithm as asked for (`nccl`, `ring`), which a row may name more precisely
    /// (`nccl(tree/LL/1ch)`, `ring->recursive-doubling`): `--format osu` prints a block per group.
    /// Empty: the `algorithm` cell.
    public var groups: [String] = []
    public var notes: [String] = []
    /// What the times are, for the title line of each `--format osu` block, e.g. `measured under
    /// mpirun, 2 ranks`.
    public var latencySource = ""

    public init(columns: [ReportColumn]) { self.columns = columns }

    /// Adds a row; `group` is the algorithm as asked for (see ``groups``), when it differs.
    public mutating func append(_ row: [ReportValue], group: String? = nil) {
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
    public static func text(_ row: [ReportValue], column key: String, in columns: [ReportColumn]) -> String {
        guard let k = columns.firstIndex(where: { $0.key == key }) else { return "" }
        if case .text(let t) = row[k] { return t }
        return text(row[k], columns[k].kind)
    }

    public func render(_ format: OutputFormat) -> String {
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
    public func renderOSU() -> String {
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

    public func renderTable() -> String {
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

    public func renderCSV() -> String {
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

    public func renderJSON() -> String {
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
    public var streamWidths: [Int] {
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
    public func streamHeader(_ format: OutputFormat) -> String {
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
    public func streamRow(_ row: [ReportValue], index: Int, _ format: OutputFormat) -> String {
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

    public static func text(_ v: ReportValue, _ kind: ReportColumn.Kind) -> String {
        switch v {
        case .int(let i): return String(i)
        case .text(let s): return s
        case .number(let d):
            if case .number(let decimals) = kind { return formatFixed(d, decimals: decimals) }
            return formatFixed(d, decimals: 2)
        }
    }

    public static func json(_ v: ReportValue) -> String {
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
public func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

/// `d` with exactly `decimals` digits after the point (no Foundation needed); `nan`/`inf` as is.
public func formatFixed(_ d: Double, decimals: Int) -> String {
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
