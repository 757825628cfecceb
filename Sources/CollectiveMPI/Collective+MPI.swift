import CollectiveCore

extension Collective {
    /// The MPI call that computes this collective, the `mpi` baseline of `allreduce mpi`:
    /// `MPI_Allreduce`; `MPI_Reduce_scatter_block` and `MPI_Allgather` when every shard holds the
    /// same count (`evenShards`), else their general forms `MPI_Reduce_scatter` and
    /// `MPI_Allgatherv`, given the shards of ``shards(elementCount:rankCount:)`` so that the
    /// library's result sits where the schedules' does (the MPI standard's Gather-to-all and Reduce-Scatter sections).
    public func mpiFunctionName(evenShards: Bool) -> String {
        switch self {
        case .allreduce: "MPI_Allreduce"
        case .reduceScatter: evenShards ? "MPI_Reduce_scatter_block" : "MPI_Reduce_scatter"
        case .allGather: evenShards ? "MPI_Allgather" : "MPI_Allgatherv"
        }
    }
}
