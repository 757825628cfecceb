#if MPI
import CMPI
import CollectiveKernels

extension DataType {
    /// The MPI datatype this type travels as. MPI has no half or bfloat16: those move as
    /// 16-bit words (MPI_UINT16_T) and are only ever reduced by our kernels.
    public var mpiDatatype: MPI_Datatype {
        switch self {
        case .int8: cmpi_int8()
        case .uint8: cmpi_uint8()
        case .int32: cmpi_int32()
        case .uint32: cmpi_uint32()
        case .int64: cmpi_int64()
        case .uint64: cmpi_uint64()
        case .float16, .bfloat16: cmpi_uint16()
        case .float32: cmpi_float()
        case .float64: cmpi_double()
        }
    }
}

/// The `MPI_Op` that makes `MPI_Allreduce` compute what our `Reducer` computes.
///
/// Built-in ops (MPI_SUM, MPI_PROD, MPI_MIN, MPI_MAX) for every type MPI knows. `avg` is
/// MPI_SUM followed by ``Reducer/finalize(_:count:contributions:)``, as for our schedules. half
/// and bfloat16 get a user op (`MPI_Op_create`, commutative) whose function calls our kernel on
/// the 16-bit words, so the baseline still runs Open MPI's allreduce algorithm and transport.
public struct MPIReduction: @unchecked Sendable {
    public let handle: MPI_Op
    /// Whether ``handle`` was created here and must be freed.
    public let isUserDefined: Bool

    public init(dataType: DataType, op: ReductionOp) {
        let combining = op.combiningOp
        switch dataType {
        case .float16, .bfloat16:
            var created: MPI_Op? = nil
            mpiCheck(MPI_Op_create(Self.userFunction(dataType, combining), 1, &created), "MPI_Op_create")
            handle = created!
            isUserDefined = true
        default:
            switch combining {
            case .sum, .avg: handle = cmpi_op_sum()
            case .prod: handle = cmpi_op_prod()
            case .min: handle = cmpi_op_min()
            case .max: handle = cmpi_op_max()
            }
            isUserDefined = false
        }
    }

    /// Frees a user-defined op.
    public func free() {
        guard isUserDefined else { return }
        var h: MPI_Op? = handle
        mpiCheck(MPI_Op_free(&h), "MPI_Op_free")
    }

    typealias UserFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<MPI_Datatype?>?) -> Void

    /// MPI's user function contract: `inout[i] = in[i] op inout[i]`; the op is commutative, so
    /// reducing `in` into `inout` is the same. A C function pointer cannot capture, so each
    /// (type, op) pair has its own literal.
    static func userFunction(_ type: DataType, _ op: ReductionOp) -> UserFunction {
        switch (type, op) {
        case (.bfloat16, .sum), (.bfloat16, .avg): return { i, io, n, _ in Reducer(dataType: .bfloat16, op: .sum).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        case (.bfloat16, .prod): return { i, io, n, _ in Reducer(dataType: .bfloat16, op: .prod).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        case (.bfloat16, .min): return { i, io, n, _ in Reducer(dataType: .bfloat16, op: .min).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        case (.bfloat16, .max): return { i, io, n, _ in Reducer(dataType: .bfloat16, op: .max).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        case (_, .sum), (_, .avg): return { i, io, n, _ in Reducer(dataType: .float16, op: .sum).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        case (_, .prod): return { i, io, n, _ in Reducer(dataType: .float16, op: .prod).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        case (_, .min): return { i, io, n, _ in Reducer(dataType: .float16, op: .min).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        case (_, .max): return { i, io, n, _ in Reducer(dataType: .float16, op: .max).reduceInPlace(into: io!, from: i!, count: Int(n!.pointee)) }
        }
    }
}
#endif
