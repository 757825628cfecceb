import CollectiveKernels

extension ElementRangeSet {
    /// Reduces a received `range` of elements into `output` and marks it written: where a step
    /// has already written the output, output op= received; elsewhere (the output still stands
    /// for the input) output = input op received, in one pass. `received` holds the data of
    /// element `range.lowerBound` on; `output` and `input` hold `elementSize`-byte elements from
    /// element 0. Both runners reduce their received messages through it. A range written in
    /// whole or not at all takes one kernel call and no piece walk.
    @inline(__always)
    public mutating func reduceReceived(_ range: Range<Int>, from received: UnsafeRawPointer, reducer: Reducer,
                                        output: UnsafeMutableRawPointer, input: UnsafeRawPointer, elementSize: Int) {
        func reducePiece(_ piece: Range<Int>, _ written: Bool) {
            let at = piece.lowerBound * elementSize
            let from = received + (piece.lowerBound - range.lowerBound) * elementSize
            if written {
                reducer.reduceInPlace(into: output + at, from: from, count: piece.count)
            } else {
                reducer.reduce(into: output + at, input + at, from, count: piece.count)
            }
        }
        if let whole = coverage(of: range) { reducePiece(range, whole) } else { forEachPiece(of: range, reducePiece) }
        insert(range)
    }
}
