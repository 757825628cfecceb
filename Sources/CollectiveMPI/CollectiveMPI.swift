// CollectiveMPI: the Open MPI runner, which plays the same ``Schedule``s as the in-process
// executor and the simulator across processes under `mpirun`.
//
// With the package trait `MPI` (code inside `#if MPI`):
//   - `MPIScheduleRunner` / `MPIPointToPointTransport`: steps as MPI_Isend/MPI_Irecv, any Open MPI
//     transport (shared memory, TCP, InfiniBand), reductions by our kernels;
//   - `MPISharedMemoryRunner` / `MPISharedMemoryTransport`: the ranks of one node reduce straight
//     from each other's buffers in an MPI-3 shared window;
//   - `MPIAllreduceBenchmark`: the `allreduce mpi` measurement loop beside MPI_Allreduce;
//   - `Communicator`, `MPIProcess`, `MPIReduction`: thin wrappers over the CMPI shim.
// Without it, only the MPI-free pieces build (and are unit tested): `AllreduceInputPattern`,
// `ResultChecker`, `ElementRangeSet`, `MPIRunConfiguration` (memory: CollectiveCore's `SystemMemory`), and the measurement
// rules of `MPIMeasurement.swift` (`MPIIterationPlan`: OSU's iteration counts per size;
// `mpiTimedBlocks`: the alternating block order; `MPILatencyStatistics`: avg/min/max over ranks).
