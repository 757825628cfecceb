import CCollectiveKernels

/// The instruction set the reduction loops run on.
///
/// The Swift loops of ``ReductionKernels`` run on any CPU the package is built for (``portable``):
/// at the default x86-64 target that means SSE2, whatever the CPU offers, because Swift has no
/// per-function target attribute and a package that depends on this one gets no
/// `-target-cpu` flag. On an x86-64 CPU with AVX2 and F16C, the kernels call loops compiled for
/// those instructions instead (``avx2``, the C target `CCollectiveKernels`), chosen once at run
/// time as Open MPI's `op/avx` component chooses its loops.
///
/// Both compute the same bits: the AVX2 loops run the same operations on the same vector blocks
/// (the type's `_laneCount` elements), and the scalar tail after the last whole block stays in
/// Swift. They cover sum, prod, min, max (and avg, which combines as sum) for `half`,
/// `bfloat16`, `float`, `double` and `int32`, in place and out of place; the other types and
/// the fused k-way form always run the portable loops.
///
/// ``Reducer`` uses ``default`` unless given another set, which is how a test or a benchmark
/// runs both paths side by side.
public enum KernelInstructionSet: String, CaseIterable, Sendable, Hashable, Codable {
    /// The Swift loops, built for the package's target.
    case portable
    /// AVX2 with F16C (x86-64).
    case avx2

    /// The set the kernels use unless told otherwise: the best one this CPU supports, or
    /// ``portable`` when the environment variable `COLLECTIVE_KERNELS_INSTRUCTION_SET` is
    /// `portable` (read once, when the kernels first need it).
    @inlinable
    public static var `default`: KernelInstructionSet {
        Int(ck_default_instruction_set()) == CK_INSTRUCTION_SET_AVX2 ? .avx2 : .portable
    }

    /// Whether this CPU (and its operating system) can run the set.
    public var isSupported: Bool {
        switch self {
        case .portable: true
        case .avx2: Int(ck_cpu_instruction_set()) >= CK_INSTRUCTION_SET_AVX2
        }
    }

    /// The sets this CPU can run, ``portable`` first.
    public static var supported: [KernelInstructionSet] { allCases.filter(\.isSupported) }

    /// Parses `portable` or `avx2` (case-insensitive).
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }
}
