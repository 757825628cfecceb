extension ReductionKernels {
    /// A combining operator known at compile time, so that the kernels' loops specialise per
    /// operator with no per-element branch: ``Sum``, ``Product``, ``Minimum``, ``Maximum``.
    /// (``ReductionOp`` is the same choice made at run time.)
    public protocol Operator {
        /// The run-time operator this type stands for.
        static var reductionOp: ReductionOp { get }
        static func _combine<E: ReductionElement>(_ a: E._Accumulator, _ b: E._Accumulator, _: E.Type) -> E._Accumulator
        static func _combine<E: ReductionElement>(_ a: E._ScalarAccumulator, _ b: E._ScalarAccumulator, _: E.Type) -> E._ScalarAccumulator
        /// `dst = a op b` for `vectors` (1 or 2) consecutive `E._Lanes` vectors from byte `offset`
        /// of each buffer: ``ReductionElement/_combineVectors(_:into:_:_:atByteOffset:_:)`` unless
        /// the element type has a shorter way (``ReductionElement/_sumVectors(_:into:_:_:atByteOffset:)``).
        static func _combineVectors<E: ReductionElement>(
            _ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int, _: E.Type)
    }
}

/// The former name of ``ReductionKernels/Operator``, next to which ``ReductionOp`` (the
/// run-time operator) was too easy to confuse.
@available(*, deprecated, renamed: "ReductionKernels.Operator")
public typealias ReductionOperator = ReductionKernels.Operator

extension ReductionKernels.Operator {
    @inlinable @inline(__always)
    public static func _combineVectors<E: ReductionElement>(
        _ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int, _: E.Type
    ) {
        E._combineVectors(vectors, into: dst, a, b, atByteOffset: offset, Self.self)
    }
}

extension ReductionKernels {
    /// `a + b` (integers wrap).
    public enum Sum: Operator {
        @inlinable public static var reductionOp: ReductionOp { .sum }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._Accumulator, _ b: E._Accumulator, _: E.Type) -> E._Accumulator { E._sum(a, b) }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._ScalarAccumulator, _ b: E._ScalarAccumulator, _: E.Type) -> E._ScalarAccumulator { E._sum(a, b) }
        @inlinable @inline(__always)
        public static func _combineVectors<E: ReductionElement>(
            _ vectors: Int, into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, atByteOffset offset: Int, _: E.Type
        ) {
            E._sumVectors(vectors, into: dst, a, b, atByteOffset: offset)
        }
    }

    /// `a * b` (integers wrap).
    public enum Product: Operator {
        @inlinable public static var reductionOp: ReductionOp { .prod }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._Accumulator, _ b: E._Accumulator, _: E.Type) -> E._Accumulator { E._product(a, b) }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._ScalarAccumulator, _ b: E._ScalarAccumulator, _: E.Type) -> E._ScalarAccumulator { E._product(a, b) }
    }

    /// The smaller operand (floating point: IEEE 754-2019 `minimum`, NaN wins, -0 < +0).
    public enum Minimum: Operator {
        @inlinable public static var reductionOp: ReductionOp { .min }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._Accumulator, _ b: E._Accumulator, _: E.Type) -> E._Accumulator { E._minimum(a, b) }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._ScalarAccumulator, _ b: E._ScalarAccumulator, _: E.Type) -> E._ScalarAccumulator { E._minimum(a, b) }
    }

    /// The larger operand (floating point: IEEE 754-2019 `maximum`, NaN wins, +0 > -0).
    public enum Maximum: Operator {
        @inlinable public static var reductionOp: ReductionOp { .max }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._Accumulator, _ b: E._Accumulator, _: E.Type) -> E._Accumulator { E._maximum(a, b) }
        @inlinable @inline(__always)
        public static func _combine<E: ReductionElement>(_ a: E._ScalarAccumulator, _ b: E._ScalarAccumulator, _: E.Type) -> E._ScalarAccumulator { E._maximum(a, b) }
    }
}
