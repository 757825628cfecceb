#if MPI
import CMPI
import CollectiveKernels

/// One `MPI_Allreduce` with every argument resolved up front, the `mpi` row of `allreduce mpi`:
/// a timed block of it is the bare loop that OSU's osu_allreduce times (`MPI_Allreduce(sendbuf,
/// recvbuf, count, type, op, comm)` back to back), plus `avg`'s division, which MPI has no op for.
struct MPIAllreduceCall {
    let input: UnsafeRawPointer
    let output: UnsafeMutableRawPointer
    let count: Int32
    let datatype: MPI_Datatype
    let op: MPI_Op
    let communicator: MPI_Comm
    /// The division of `avg` (nil for every other operator, which needs nothing after MPI).
    let finalizer: Reducer?
    let contributions: Int

    /// `input` nil: in place (MPI_IN_PLACE, reducing `output` as it stands).
    init(input: UnsafeMutableRawPointer?, output: UnsafeMutableRawPointer, count: Int, dataType: DataType, op: ReductionOp,
         reduction: MPIReduction, communicator: Communicator, contributions: Int) {
        self.input = input.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(cmpi_in_place())
        self.output = output
        self.count = Int32(count)
        datatype = dataType.mpiDatatype
        self.op = reduction.handle
        self.communicator = communicator.handle
        finalizer = op == .avg ? Reducer(dataType: dataType, op: op) : nil
        self.contributions = contributions
    }

    @inline(__always)
    func call() {
        mpiCheck(MPI_Allreduce(input, output, count, datatype, op, communicator), "MPI_Allreduce")
        finalizer?.finalize(output, count: Int(count), contributions: contributions)
    }

    /// `n` calls back to back.
    func call(times n: Int) {
        for _ in 0..<n { call() }
    }
}
#endif
