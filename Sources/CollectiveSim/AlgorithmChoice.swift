import CollectiveCore

/// What a simulated row times: one textbook schedule, `auto` (the fastest textbook schedule on
/// the cluster) or `nccl` (what NCCL would run: algorithm, protocol and channels from its tuning
/// model), optionally with NCCL's algorithm forced (`nccl:ring`, as `NCCL_ALGO=Ring` does).
public enum AlgorithmChoice: Hashable, Sendable, CustomStringConvertible {
    case fixed(AllreduceAlgorithm)
    case auto
    case nccl(NCCLAlgorithm?)

    /// Parses `ring`, `auto`, `nccl` or `nccl:ALGO` (case-insensitive, spaces around ignored);
    /// nil for an unknown name or an NCCL algorithm this build does not model.
    public init?(name text: String) {
        let t = String(text.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()).lowercased()
        if t == "auto" { self = .auto; return }
        if t == "nccl" { self = .nccl(nil); return }
        if t.hasPrefix("nccl:") {
            guard let a = NCCLAlgorithm(name: String(t.dropFirst(5))), a.schedule != nil else { return nil }
            self = .nccl(a)
            return
        }
        guard let a = AllreduceAlgorithm(name: t) else { return nil }
        self = .fixed(a)
    }

    /// The canonical spelling: `ring`, `auto`, `nccl`, `nccl:tree`.
    public var name: String {
        switch self {
        case .fixed(let a): a.rawValue
        case .auto: "auto"
        case .nccl(nil): "nccl"
        case .nccl(let a?): "nccl:\(a.rawValue)"
        }
    }

    public var description: String { name }

    /// Every choice, in the order help lists them: `nccl`, each modelled `nccl:ALGO`, every
    /// textbook schedule, `auto`.
    public static var allChoices: [AlgorithmChoice] {
        [.nccl(nil)] + NCCLAlgorithm.allCases.filter { $0.schedule != nil }.map { .nccl($0) }
            + AllreduceAlgorithm.allCases.map { .fixed($0) } + [.auto]
    }
}
