#if MPI
import CMPI
import CollectiveCore
import CollectiveKernels

/// One rank's call of the MPI library's own collective for a size: the `mpi` baseline of
/// `allreduce mpi` and the reference its checks compare against.
///
/// The buffer layout is the schedules' (``Collective``): `elementCount` elements cut into the
/// shards of ``Collective/shards(elementCount:rankCount:)``. `MPI_Allreduce` reduces the whole
/// buffer; `MPI_Reduce_scatter_block` (`MPI_Reduce_scatter` with the shard counts when the ranks
/// do not divide the count) leaves this rank's reduced shard at the shard's place in the output;
/// `MPI_Allgather` (`MPI_Allgatherv`) sends the rank's shard of the input and fills every shard
/// of the output. Counts are computed once per size, so timed calls allocate nothing, and
/// ``call(times:input:output:reduction:communicator:)`` times `MPI_Allreduce` as the bare loop
/// OSU's osu_allreduce runs, its arguments resolved before the first call.
struct MPICollectiveCall {
    let collective: Collective
    let dataType: DataType
    let elementCount: Int
    /// This rank's shard.
    let shard: Range<Int>
    let evenShards: Bool
    let counts: [Int32]
    let displacements: [Int32]
    let reducer: Reducer

    init(collective: Collective, dataType: DataType, op: ReductionOp, elementCount: Int, rank: Int, rankCount: Int) {
        self.collective = collective
        self.dataType = dataType
        self.elementCount = elementCount
        let shards = Collective.shards(elementCount: elementCount, rankCount: rankCount)
        shard = shards.range(rank)
        evenShards = elementCount % rankCount == 0
        counts = (0..<rankCount).map { Int32(shards.size($0)) }
        displacements = (0..<rankCount).map { Int32(shards.offset($0)) }
        reducer = Reducer(dataType: dataType, op: op)
    }

    /// Where the call leaves this rank's result in `output`: the whole buffer; or, for a
    /// reduce-scatter, the shard's place out of place and the buffer's start in place (the MPI
    /// standard's MPI_IN_PLACE rule for reduce-scatter).
    func resultOffset(inPlace: Bool) -> Int {
        collective == .reduceScatter && !inPlace ? shard.lowerBound : 0
    }

    /// `n` calls back to back, as a timed block runs them. An allreduce is a bare loop of
    /// `MPI_Allreduce` with every argument resolved before it (plus `avg`'s division, which MPI
    /// has no op for); the other collectives loop over ``call(input:output:reduction:communicator:)``.
    func call(times n: Int, input: UnsafeMutableRawPointer?, output: UnsafeMutableRawPointer, reduction: MPIReduction, communicator: Communicator) {
        guard collective == .allreduce else {
            for _ in 0..<n { call(input: input, output: output, reduction: reduction, communicator: communicator) }
            return
        }
        let send = input.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(cmpi_in_place())
        let count = Int32(elementCount), type = dataType.mpiDatatype, op = reduction.handle, comm = communicator.handle
        let divides = reducer.op == .avg
        for _ in 0..<n {
            mpiCheck(MPI_Allreduce(send, output, count, type, op, comm), "MPI_Allreduce")
            if divides { reducer.finalize(output, count: elementCount, contributions: counts.count) }
        }
    }

    /// Calls the library: out of place from `input`, or in place (`input` nil, MPI_IN_PLACE) on
    /// `output` as it stands. Then `avg`'s division on what the rank holds of a reduction (MPI
    /// has no average op).
    func call(input: UnsafeMutableRawPointer?, output: UnsafeMutableRawPointer, reduction: MPIReduction, communicator: Communicator) {
        let type = dataType.mpiDatatype
        let size = dataType.sizeInBytes
        let inPlace = UnsafeRawPointer(cmpi_in_place())
        let comm = communicator.handle
        switch collective {
        case .allreduce:
            mpiCheck(MPI_Allreduce(input.map(UnsafeRawPointer.init) ?? inPlace, output, Int32(elementCount), type, reduction.handle, comm), "MPI_Allreduce")
        case .reduceScatter:
            let send = input.map(UnsafeRawPointer.init) ?? inPlace
            let receive = output + resultOffset(inPlace: input == nil) * size
            if evenShards {
                mpiCheck(MPI_Reduce_scatter_block(send, receive, Int32(shard.count), type, reduction.handle, comm), "MPI_Reduce_scatter_block")
            } else {
                mpiCheck(MPI_Reduce_scatter(send, receive, counts, type, reduction.handle, comm), "MPI_Reduce_scatter")
            }
        case .allGather:
            let send = input.map { UnsafeRawPointer($0 + shard.lowerBound * size) } ?? inPlace
            if evenShards {
                mpiCheck(MPI_Allgather(send, Int32(shard.count), type, output, Int32(shard.count), type, comm), "MPI_Allgather")
            } else {
                mpiCheck(MPI_Allgatherv(send, Int32(shard.count), type, output, counts, displacements, type, comm), "MPI_Allgatherv")
            }
        }
        if collective.reduces {
            let offset = resultOffset(inPlace: input == nil)
            let held = collective == .reduceScatter ? shard.count : elementCount
            reducer.finalize(output + offset * size, count: held, contributions: counts.count)
        }
    }
}
#endif
