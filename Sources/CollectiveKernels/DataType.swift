/// The element types an allreduce can carry, named as nccl-tests names them (`-d`).
///
/// Raw values are nccl-tests' spellings (`half`, `float`, `double`); ``init(name:)`` also accepts
/// the aliases `float16`, `float32` and `float64` (docs/Sources.md section 1).
public enum DataType: String, CaseIterable, Sendable, Hashable, Codable {
    case int8
    case uint8
    case int32
    case uint32
    case int64
    case uint64
    case float16 = "half"
    case float32 = "float"
    case float64 = "double"
    case bfloat16

    /// Bytes of one element.
    public var sizeInBytes: Int {
        switch self {
        case .int8, .uint8: 1
        case .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    /// Whether the type is a floating-point type (results compared within a bound, not exactly).
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// The nccl-tests name (`half`, `float`, ...).
    public var name: String { rawValue }

    /// Parses a nccl-tests datatype name or one of the aliases `float16`, `float32`, `float64`
    /// (case-insensitive). Returns `nil` for anything else.
    public init?(name: String) {
        let lowered = name.lowercased()
        if let exact = DataType(rawValue: lowered) {
            self = exact
            return
        }
        switch lowered {
        case "float16", "fp16": self = .float16
        case "float32", "fp32": self = .float32
        case "float64", "fp64": self = .float64
        case "bf16": self = .bfloat16
        default: return nil
        }
    }

    /// Every accepted spelling, for error messages: `int8 uint8 ... bfloat16 (aliases: ...)`.
    public static var validNames: String {
        allCases.map(\.rawValue).joined(separator: " ") + " (aliases: float16 float32 float64)"
    }
}

/// The reduction operators of nccl-tests' `-o` flag.
///
/// `avg` reduces as `sum` and divides by the number of contributions once, at the end
/// (``Reducer/finalize(_:count:contributions:)``), as NCCL's `ncclAvg` does.
public enum ReductionOp: String, CaseIterable, Sendable, Hashable, Codable {
    case sum
    case prod
    case min
    case max
    case avg

    /// Parses `sum`, `prod`, `min`, `max`, `avg` (case-insensitive).
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }

    /// Every accepted spelling, for error messages.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: " ") }

    /// The operator applied between two contributions (`avg` combines as `sum`).
    public var combiningOp: ReductionOp { self == .avg ? .sum : self }
}
