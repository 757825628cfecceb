import CollectiveKernels
#if MPI
import CMPI
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Open MPI's `MPI_Reduce_local` in this process (MPI singleton mode), the reference
/// `allreduce bench-kernels` times our kernels against: a ``KernelBenchmark/Reference`` named
/// `openmpi`. Without the MPI trait ``start()`` gives nil.
public final class MPIReduceLocal {
    /// `Open MPI v4.1.4`.
    public let version: String

    private init(version: String) { self.version = version }

    /// The datatypes it reduces with Open MPI's own loops (its `op/avx` component).
    public static let dataTypes: [DataType] = [.float32, .float64, .int32]

    public func supports(_ dataType: DataType) -> Bool { Self.dataTypes.contains(dataType) }

    /// As a benchmark reference.
    public var reference: KernelBenchmark.Reference {
        KernelBenchmark.Reference(name: "openmpi") { [self] input, inputOutput, count, dataType, op in
            reduceLocal(input, inputOutput, count: count, dataType, op)
        }
    }

    #if MPI
    /// Initialises MPI as a singleton (nil when it fails). Open MPI refuses to start as root
    /// unless told it may (docs/Sources.md section 3), so the two OMPI_ALLOW_RUN_AS_ROOT variables
    /// are set when absent.
    public static func start() -> MPIReduceLocal? {
        if getuid() == 0 {
            setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0)
            setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0)
        }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            guard MPI_Init(nil, nil) == cmpi_success() else { return nil }
        }
        return MPIReduceLocal(version: MPIProcess.libraryVersion.trimmingSpaces())
    }

    public func finish() { MPI_Finalize() }

    /// `inputOutput = input op inputOutput` through `MPI_Reduce_local` (`avg` as its sum).
    public func reduceLocal(_ input: UnsafeRawPointer, _ inputOutput: UnsafeMutableRawPointer, count: Int, _ dataType: DataType, _ op: ReductionOp) {
        precondition(supports(dataType), "MPIReduceLocal: \(dataType.rawValue) is not reduced by Open MPI")
        let reduction = MPIReduction(dataType: dataType, op: op)
        MPI_Reduce_local(input, inputOutput, Int32(count), dataType.mpiDatatype, reduction.handle)
    }
    #else
    public static func start() -> MPIReduceLocal? { nil }
    public func finish() {}
    public func reduceLocal(_ input: UnsafeRawPointer, _ inputOutput: UnsafeMutableRawPointer, count: Int, _ dataType: DataType, _ op: ReductionOp) {}
    #endif
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
    }
}
