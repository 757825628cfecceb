import CCollectiveKernels

/// The instruction set the reduction loops run on.
///
/// The Swift loops of ``ReductionKernels`` run on any CPU the package is built for (``portable``):
/// at the default x86-64 target that means SSE2, whatever the CPU offers, because Swift has no
/// per-function target attribute and a package that depends on this one gets no
/// `-target-cpu` flag. On an x86-64 CPU with AVX2 and F16C, or with AVX-512, the kernels call
/// loops compiled for those instructions instead (the C target `CCollectiveKernels`), chosen
/// once at run time as Open MPI's `op/avx` component chooses its loops.
///
/// Every set computes the same bits: the C loops run the same operations on the same vector
/// blocks (the type's `_laneCount` elements), and the scalar tail after the last whole block
/// stays in Swift. They cover sum, prod, min, max (and avg, which combines as sum) for `half`,
/// `bfloat16`, `float`, `double` and `int32`, in place and out of place; the other types and
/// the fused k-way form always run the portable loops.
///
/// ``Reducer`` uses ``default`` unless given another set, which is how a test or a benchmark
/// runs every path side by side.
public enum KernelInstructionSet: String, CaseIterable, Sendable, Hashable, Codable {
    /// The Swift loops, built for the package's target.
    case portable
    /// AVX2 with F16C (x86-64).
    case avx2
    /// AVX-512 F, BW, VL and DQ, with AVX2 and F16C (x86-64): a 512-bit loop for bfloat16,
    /// whose widening and rounding are integer operations; the other types keep the AVX2 loops,
    /// which measured as fast or faster on a core that splits 512-bit operations in two.
    case avx512
    /// ``avx512`` and AVX-512 BF16: the bfloat16 sum rounds with `VCVTNE2PS2BF16`, checked
    /// against the one case where that instruction differs (a subnormal sum, which it flushes).
    case avx512bf16

    /// The set the kernels use unless told otherwise: the best one this CPU supports, lowered
    /// to the set the environment variable `COLLECTIVE_KERNELS_INSTRUCTION_SET` names
    /// (`portable`, `avx2`, `avx512` or `avx512bf16`) when that is a lower one (read once, when
    /// the kernels first need it).
    @inlinable
    public static var `default`: KernelInstructionSet {
        KernelInstructionSet(level: Int(ck_default_instruction_set()))
    }

    /// The set of a `CK_INSTRUCTION_SET_*` level.
    @inlinable
    internal init(level: Int) {
        switch level {
        case Int(CK_INSTRUCTION_SET_AVX2): self = .avx2
        case Int(CK_INSTRUCTION_SET_AVX512): self = .avx512
        case Int(CK_INSTRUCTION_SET_AVX512_BF16): self = .avx512bf16
        default: self = .portable
        }
    }

    /// The set's `CK_INSTRUCTION_SET_*` level: each set needs the instructions of the ones below.
    @usableFromInline
    internal var level: Int {
        switch self {
        case .portable: Int(CK_INSTRUCTION_SET_PORTABLE)
        case .avx2: Int(CK_INSTRUCTION_SET_AVX2)
        case .avx512: Int(CK_INSTRUCTION_SET_AVX512)
        case .avx512bf16: Int(CK_INSTRUCTION_SET_AVX512_BF16)
        }
    }

    /// Whether this CPU (and its operating system) can run the set.
    public var isSupported: Bool { level <= Int(ck_cpu_instruction_set()) }

    /// The sets this CPU can run, ``portable`` first.
    public static var supported: [KernelInstructionSet] { allCases.filter(\.isSupported) }

    /// Parses `portable`, `avx2`, `avx512` or `avx512bf16` (case-insensitive).
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }
}
