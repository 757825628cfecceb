import ArgumentParser
import CollectiveCore
import CollectiveSim

// The enumerated options, typed, so that the parser rejects a bad value with one line naming the
// valid ones and the help lists them from the type. Names are read case-insensitively.

extension TimingModel: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension LinkService: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension TreeFolding: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// `--inter-node` of `simulate` and `sweep`: what hierarchical runs between nodes.
enum InterNodeChoice: String, CaseIterable, ExpressibleByArgument {
    case ring, tree
    /// The faster closed form at each size.
    case auto

    init?(argument: String) { self.init(rawValue: argument.lowercased()) }

    /// The algorithm, nil for auto.
    var algorithm: AllreduceAlgorithm? {
        switch self {
        case .ring: .ring
        case .tree: .tree
        case .auto: nil
        }
    }
}

/// `--inter-node` of `verify` and `mpi`, which play one schedule: ring or tree.
enum InterNodeAlgorithm: String, CaseIterable, ExpressibleByArgument {
    case ring, tree

    init?(argument: String) { self.init(rawValue: argument.lowercased()) }

    var algorithm: AllreduceAlgorithm { self == .ring ? .ring : .tree }
}
