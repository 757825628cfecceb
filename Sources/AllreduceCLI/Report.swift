import ArgumentParser
import CollectiveCore
import CollectiveFabric
import CollectiveKernels

extension OutputFormat: ExpressibleByArgument {}

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

extension Report {
    /// Prints the report (data to standard output, notes as described above).
    func print(_ format: OutputFormat) {
        Swift.print(render(format), terminator: "")
        if format == .csv || format == .json {
            var err = StandardError()
            for note in notes { Swift.print("# \(note)", to: &err) }
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
