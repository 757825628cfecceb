import ArgumentParser
import CollectiveCore
import CollectiveSim

/// The one parser of `--algorithm` lists, for every subcommand that takes algorithms
/// (`simulate`, `sweep`, `what-if`, `verify`, `mpi`): comma-separated names, spaces around them
/// ignored, `all` expanded to the subcommand's every algorithm, duplicates dropped in order. An
/// empty name or an unknown one is a one-line error naming the option.
enum AlgorithmList {
    /// The keyword that stands for every algorithm the subcommand runs.
    static let all = "all"

    /// Parses `text`: each name with `parse` (which throws the one-line error for an unknown
    /// name), `all` with `every`.
    static func parse<T: Hashable>(_ text: String, option: String = "--algorithm", every: () throws -> [T],
                                   _ parse: (String) throws -> T) throws -> [T] {
        var out: [T] = []
        var seen = Set<T>()
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(raw).trimming(" ")
            guard !name.isEmpty else { throw ValidationError("\(option): empty name in '\(text)'") }
            let items = name.lowercased() == all ? try every() : [try parse(name)]
            for item in items where seen.insert(item).inserted { out.append(item) }
        }
        return out
    }

    /// Whether `text` asks for `all`.
    static func containsAll(_ text: String) -> Bool {
        text.split(separator: ",").contains { String($0).trimming(" ").lowercased() == all }
    }
}

extension AlgorithmList {
    /// The names `simulate`, `sweep` and `what-if` take, from the types that define them, for
    /// their help: NCCL's forced algorithms (``NCCLAlgorithm/modelledNames``) and every schedule.
    static var simulatedNames: String {
        (NCCLAlgorithm.modelledNames.split(separator: " ").map(String.init) + AllreduceAlgorithm.allCases.map(\.rawValue))
            .joined(separator: ", ")
    }

    /// The schedules `mpi` runs (none that reduces inside a switch), for its help.
    static var mpiScheduleNames: String {
        AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches }.map(\.rawValue).joined(separator: ", ")
    }
}
