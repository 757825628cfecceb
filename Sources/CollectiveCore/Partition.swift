/// Splits `count` elements into `parts` contiguous blocks the way Open MPI's ring does
/// (docs/Sources.md section 3): the first `count % parts` blocks hold one element more than the rest.
public struct BlockPartition: Sendable, Hashable {
    /// Elements partitioned.
    public let count: Int
    /// Number of blocks (>= 1).
    public let parts: Int

    @inlinable
    public init(count: Int, parts: Int) {
        precondition(count >= 0, "BlockPartition: negative element count \(count)")
        precondition(parts >= 1, "BlockPartition: needs at least one part, got \(parts)")
        self.count = count
        self.parts = parts
    }

    /// Elements in block `i`.
    @inlinable
    public func size(_ i: Int) -> Int {
        let base = count / parts
        return i < count % parts ? base + 1 : base
    }

    /// First element of block `i`.
    @inlinable
    public func offset(_ i: Int) -> Int {
        let base = count / parts
        let extra = count % parts
        return i * base + Swift.min(i, extra)
    }

    /// Element range of block `i`.
    @inlinable
    public func range(_ i: Int) -> Range<Int> {
        let o = offset(i)
        return o..<(o + size(i))
    }

    /// The block that holds element `element` (0 ..< count).
    @inlinable
    public func block(containing element: Int) -> Int {
        let base = count / parts, extra = count % parts
        let long = extra * (base + 1)
        return element < long ? element / (base + 1) : extra + (element - long) / base
    }

    /// The largest block.
    @inlinable
    public var maxSize: Int { count == 0 ? 0 : (count + parts - 1) / parts }
}

/// How many pipelining chunks a transfer of `elements` elements is cut into, given a chunk size
/// in bytes: `ceil(elements * elementSize / chunkBytes)`, at least 1.
@inlinable
public func chunkCount(elements: Int, elementSize: Int, chunkBytes: Int) -> Int {
    precondition(chunkBytes > 0 && elementSize > 0, "chunkCount: chunk and element sizes must be positive")
    let chunkElements = Swift.max(1, chunkBytes / elementSize)
    return Swift.max(1, (elements + chunkElements - 1) / chunkElements)
}
