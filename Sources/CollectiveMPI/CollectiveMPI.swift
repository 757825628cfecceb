/// The Open MPI runner: plays ``Schedule``s across processes under `mpirun`.
/// Built only with the package trait `MPI`.
#if MPI
import CMPI
import CollectiveCore
#endif
