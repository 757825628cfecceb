import CollectiveKernels

extension Collective {
    /// Applies the operator's final step (`avg` divides by the number of ranks) to what `rank`'s
    /// buffer holds of the result: the whole buffer for an allreduce, the rank's own shard for a
    /// reduce-scatter, nothing for an all-gather (it copies; dividing would spoil the copies).
    /// Every executor ends a run with this, so the step lives once.
    public func finalize(_ reducer: Reducer, buffer: UnsafeMutableRawPointer, rank: Int, elementCount: Int, rankCount: Int) {
        // Only `avg` has a final step: every other operator returns before the result range is worked out.
        guard reduces, reducer.op == .avg else { return }
        let result = resultRange(rank: rank, elementCount: elementCount, rankCount: rankCount)
        reducer.finalize(buffer + result.lowerBound * reducer.dataType.sizeInBytes, count: result.count, contributions: rankCount)
    }
}
