import ArgumentParser
import CollectiveCore
import CollectiveMPI
import CollectiveSim

/// `--algorithm`, the one parser of algorithm lists, for every subcommand that takes algorithms
/// (`simulate`, `sweep`, `what-if`: ``AlgorithmChoice``; `verify`: ``AllreduceAlgorithm``; `mpi`:
/// ``MPIAlgorithmChoice``): comma-separated names, spaces around them ignored, and `all`, which
/// the subcommand expands to its every algorithm (``expanded(every:)``). The argument parser
/// rejects an empty or unknown name with one line naming the valid ones, and `--help` lists them,
/// both from `Element`'s ``ExpressibleByArgument/allValueStrings``.
struct AlgorithmSelection<Element: ExpressibleByArgument & Hashable>: ExpressibleByArgument {
    /// One name of the list.
    enum Entry: Hashable {
        /// `all`: every algorithm the subcommand runs.
        case all
        case one(Element)
    }

    /// The keyword that stands for every algorithm the subcommand runs.
    static var allKeyword: String { "all" }

    var entries: [Entry]

    init(_ entries: [Entry]) { self.entries = entries }

    init?(argument: String) {
        var out: [Entry] = []
        for raw in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(raw).trimming(" ")
            if name.lowercased() == Self.allKeyword {
                out.append(.all)
            } else if let element = Element(argument: name) {
                out.append(.one(element))
            } else {
                return nil
            }
        }
        entries = out
    }

    static var allValueStrings: [String] { Element.allValueStrings + [allKeyword] }

    var defaultValueDescription: String {
        entries.map { if case .one(let e) = $0 { e.defaultValueDescription } else { Self.allKeyword } }.joined(separator: ",")
    }

    /// Whether the list asks for `all`.
    var containsAll: Bool { entries.contains(.all) }

    /// The algorithms, `all` replaced by `every()` (not called without `all`), duplicates
    /// dropped in order.
    func expanded(every: () throws -> [Element]) rethrows -> [Element] {
        var out: [Element] = []
        var seen = Set<Element>()
        for entry in entries {
            let items: [Element]
            switch entry {
            case .all: items = try every()
            case .one(let e): items = [e]
            }
            for item in items where seen.insert(item).inserted { out.append(item) }
        }
        return out
    }
}

extension AlgorithmSelection: Equatable {}

// The elements, named as the commands read them (case-insensitive).

extension AlgorithmChoice: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allChoices.map(\.name) }
}

extension AllreduceAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension MPIAlgorithmChoice: ExpressibleByArgument {
    /// Every schedule name is read, so that one the MPI runner cannot play (it reduces inside a
    /// switch) gets its own message from `mpi`'s validation.
    public init?(argument: String) { self.init(name: argument) }
    /// The schedules an MPI run plays (none that reduces inside a switch), `mpi` and `memcpy`.
    public static var allValueStrings: [String] {
        AllreduceAlgorithm.allCases.filter { !$0.reducesInSwitches }.map(\.rawValue) + ["mpi", "memcpy"]
    }
}

extension AlgorithmSelection where Element == AlgorithmChoice {
    /// The choices, `all` being every textbook schedule `simulator` plays on its cluster (those
    /// `auto` chooses among); nil (while validating, before the cluster is built) expands it to none.
    func choices(on simulator: Simulator?) -> [AlgorithmChoice] {
        expanded { simulator?.autoCandidates.map(AlgorithmChoice.fixed) ?? [] }
    }

    /// `names`, each known to parse (the commands' defaults).
    init(defaults names: AlgorithmChoice...) { self.init(names.map(Entry.one)) }
}
