import CollectiveCore

/// Two ranks' ping-pong as a schedule, so that our runner plays it with the calls it uses for
/// every collective (`MPI_Isend`, `MPI_Irecv` posted ahead, `MPI_Waitsome`): rank 0 sends the
/// first half of the buffer to rank 1, which sends it back into the second half once it has
/// arrived. One message at a time crosses the node: what one transfer gets alone, with the other
/// ranks idle (``NodeMemorySpec/Regime/pairGBps`` in CollectiveFabric; `allreduce calibrate`).
/// Played in place, so the runner copies nothing else. Not an allreduce: it only times transfers.
struct LoneTransferProbe: Schedule {
    /// Elements per message (the buffer holds two).
    let messageCount: Int
    var algorithm: AllreduceAlgorithm { .ring }
    var rankCount: Int { 2 }
    var elementCount: Int { 2 * messageCount }
    var collective: Collective { .allGather }

    func makeSteps(forRank rank: Int) -> IndexingIterator<[Step]> {
        let n = messageCount
        let steps: [Step] = rank == 0
            ? [Step(kind: .send, peer: 1, offset: 0, count: n), Step(kind: .recvCopy, peer: 1, offset: n, count: n)]
            : [Step(kind: .recvCopy, peer: 0, offset: 0, count: n),
               Step(kind: .send, peer: 0, offset: 0, count: n, dependencies: StepDependencies(0))]
        return steps.makeIterator()
    }
}
