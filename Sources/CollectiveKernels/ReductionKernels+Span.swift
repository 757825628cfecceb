#if compiler(>=6.2)
// The typed entry points over `Span` / `MutableSpan` (Swift 6.2): the same loops as the
// buffer-pointer forms, with the lengths checked the same way and no unsafe pointer in the
// caller's code.

@available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *)
extension ReductionKernels {
    /// `dst[i] = dst[i] op src[i]` for every element. Both spans must have the same count
    /// (the buffer-pointer form documents the rules).
    @inlinable
    public static func reduceInPlace<E: ReductionElement>(_ dst: inout MutableSpan<E>, _ src: Span<E>, op: ReductionOp) {
        dst.withUnsafeMutableBufferPointer { d in
            src.withUnsafeBufferPointer { s in reduceInPlace(d, s, op: op) }
        }
    }

    /// `dst[i] = a[i] op b[i]` for every element. All three spans must have the same count.
    @inlinable
    public static func reduce<E: ReductionElement>(into dst: inout MutableSpan<E>, _ a: Span<E>, _ b: Span<E>, op: ReductionOp) {
        dst.withUnsafeMutableBufferPointer { d in
            a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in reduce(into: d, x, y, op: op) }
            }
        }
    }

    /// avg's final step over a span (see ``finalize(_:op:contributions:)``).
    @inlinable
    public static func finalize<E: ReductionElement>(_ dst: inout MutableSpan<E>, op: ReductionOp, contributions: Int) {
        dst.withUnsafeMutableBufferPointer { finalize($0, op: op, contributions: contributions) }
    }
}
#endif
