/// A reduction kernel chosen at run time by datatype and operator: the type-erased entry point
/// through which `CollectiveCore` and the executors reach the kernels.
///
/// Each method switches once on the datatype and the operator and then runs the specialised
/// SIMD loop of ``ReductionKernels`` over the raw memory, which may have any alignment. Buffers
/// hold `count` elements of ``dataType``; the destination may be the very same memory as a
/// source, but must not partially overlap one.
///
/// The one-step forms (``reduceInPlace(into:from:count:)``, ``reduce(into:_:_:count:)``,
/// ``reduceFused(into:sources:count:)``) combine `avg` as `sum`: they are the steps of a
/// schedule, which divides once after the last with ``finalize(_:count:contributions:)``. To
/// reduce all the contributions in one call, ``reduce(into:sources:count:)`` also divides.
public struct Reducer: Sendable, Hashable {
    public let dataType: DataType
    public let op: ReductionOp
    /// The loops the two-operand forms run (``KernelInstructionSet``); the results are the same
    /// bits whichever it is.
    public let instructionSet: KernelInstructionSet

    /// A reducer on the loops of `instructionSet`, which must be supported by this CPU
    /// (``KernelInstructionSet/isSupported``); by default the best one.
    public init(dataType: DataType, op: ReductionOp, instructionSet: KernelInstructionSet = .default) {
        _kernelPrecondition(instructionSet.isSupported,
                            "Reducer: this CPU does not support the \(instructionSet.rawValue) instruction set; supported: \(KernelInstructionSet.supported.map(\.rawValue).joined(separator: " "))")
        self.dataType = dataType
        self.op = op
        self.instructionSet = instructionSet
    }

    /// `dst[i] = dst[i] op src[i]` for `count` elements (`avg` combines as `sum`).
    public func reduceInPlace(into dst: UnsafeMutableRawPointer, from src: UnsafeRawPointer, count: Int) {
        _kernelPrecondition(count >= 0, "Reducer: negative element count \(count)")
        switch dataType {
        case .int8: Self._inPlace(instructionSet, Int8.self, op, dst, src, count)
        case .uint8: Self._inPlace(instructionSet, UInt8.self, op, dst, src, count)
        case .int32: Self._inPlace(instructionSet, Int32.self, op, dst, src, count)
        case .uint32: Self._inPlace(instructionSet, UInt32.self, op, dst, src, count)
        case .int64: Self._inPlace(instructionSet, Int64.self, op, dst, src, count)
        case .uint64: Self._inPlace(instructionSet, UInt64.self, op, dst, src, count)
        case .float16: Self._inPlace(instructionSet, Float16.self, op, dst, src, count)
        case .bfloat16: Self._inPlace(instructionSet, BFloat16.self, op, dst, src, count)
        case .float32: Self._inPlace(instructionSet, Float.self, op, dst, src, count)
        case .float64: Self._inPlace(instructionSet, Double.self, op, dst, src, count)
        }
    }

    /// `dst[i] = a[i] op b[i]` for `count` elements (`avg` combines as `sum`).
    public func reduce(into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) {
        _kernelPrecondition(count >= 0, "Reducer: negative element count \(count)")
        switch dataType {
        case .int8: Self._outOfPlace(instructionSet, Int8.self, op, dst, a, b, count)
        case .uint8: Self._outOfPlace(instructionSet, UInt8.self, op, dst, a, b, count)
        case .int32: Self._outOfPlace(instructionSet, Int32.self, op, dst, a, b, count)
        case .uint32: Self._outOfPlace(instructionSet, UInt32.self, op, dst, a, b, count)
        case .int64: Self._outOfPlace(instructionSet, Int64.self, op, dst, a, b, count)
        case .uint64: Self._outOfPlace(instructionSet, UInt64.self, op, dst, a, b, count)
        case .float16: Self._outOfPlace(instructionSet, Float16.self, op, dst, a, b, count)
        case .bfloat16: Self._outOfPlace(instructionSet, BFloat16.self, op, dst, a, b, count)
        case .float32: Self._outOfPlace(instructionSet, Float.self, op, dst, a, b, count)
        case .float64: Self._outOfPlace(instructionSet, Double.self, op, dst, a, b, count)
        }
    }

    /// `dst[i] = s0[i] op s1[i] op ... op s(k-1)[i]`, reading every source once; the 16-bit
    /// floating-point types accumulate in binary32 and round once at the store.
    public func reduceFused(into dst: UnsafeMutableRawPointer, sources: UnsafeBufferPointer<UnsafeRawPointer>, count: Int) {
        _kernelPrecondition(count >= 0, "Reducer: negative element count \(count)")
        _kernelPrecondition(!sources.isEmpty, "Reducer: a fused reduction needs at least one source")
        switch dataType {
        case .int8: Self._fused(Int8.self, op, dst, sources, count)
        case .uint8: Self._fused(UInt8.self, op, dst, sources, count)
        case .int32: Self._fused(Int32.self, op, dst, sources, count)
        case .uint32: Self._fused(UInt32.self, op, dst, sources, count)
        case .int64: Self._fused(Int64.self, op, dst, sources, count)
        case .uint64: Self._fused(UInt64.self, op, dst, sources, count)
        case .float16: Self._fused(Float16.self, op, dst, sources, count)
        case .bfloat16: Self._fused(BFloat16.self, op, dst, sources, count)
        case .float32: Self._fused(Float.self, op, dst, sources, count)
        case .float64: Self._fused(Double.self, op, dst, sources, count)
        }
    }

    /// The whole reduction of `sources`, every contribution there is: the fused k-way
    /// reduction and then, for `avg`, the division by `k`, so the mean cannot be forgotten.
    /// (The one-step forms above combine `avg` as `sum`, for executors that divide once with
    /// ``finalize(_:count:contributions:)`` after the last step.)
    public func reduce(into dst: UnsafeMutableRawPointer, sources: UnsafeBufferPointer<UnsafeRawPointer>, count: Int) {
        reduceFused(into: dst, sources: sources, count: count)
        finalize(dst, count: count, contributions: sources.count)
    }

    /// Applies the end-of-reduction step: for `avg`, divides every element by `contributions`
    /// (integers truncate toward zero; floating-point types round once); for every other
    /// operator, does nothing.
    public func finalize(_ dst: UnsafeMutableRawPointer, count: Int, contributions: Int) {
        guard op == .avg else { return }
        _kernelPrecondition(count >= 0, "Reducer: negative element count \(count)")
        _kernelPrecondition(contributions > 0, "Reducer: avg needs at least one contribution, got \(contributions)")
        switch dataType {
        case .int8: ReductionKernels._divide(dst, count: count, by: contributions, Int8.self)
        case .uint8: ReductionKernels._divide(dst, count: count, by: contributions, UInt8.self)
        case .int32: ReductionKernels._divide(dst, count: count, by: contributions, Int32.self)
        case .uint32: ReductionKernels._divide(dst, count: count, by: contributions, UInt32.self)
        case .int64: ReductionKernels._divide(dst, count: count, by: contributions, Int64.self)
        case .uint64: ReductionKernels._divide(dst, count: count, by: contributions, UInt64.self)
        case .float16: ReductionKernels._divide(dst, count: count, by: contributions, Float16.self)
        case .bfloat16: ReductionKernels._divide(dst, count: count, by: contributions, BFloat16.self)
        case .float32: ReductionKernels._divide(dst, count: count, by: contributions, Float.self)
        case .float64: ReductionKernels._divide(dst, count: count, by: contributions, Double.self)
        }
    }

    // MARK: Operator dispatch (one specialised loop per type x operator x form)

    @inline(__always)
    internal static func _inPlace<E: ReductionElement>(
        _ isa: KernelInstructionSet, _: E.Type, _ op: ReductionOp, _ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ count: Int
    ) {
        switch op.combiningOp {
        case .sum, .avg: ReductionKernels._reduceInPlace(dst, src, count: count, E.self, ReductionKernels.Sum.self, instructionSet: isa)
        case .prod: ReductionKernels._reduceInPlace(dst, src, count: count, E.self, ReductionKernels.Product.self, instructionSet: isa)
        case .min: ReductionKernels._reduceInPlace(dst, src, count: count, E.self, ReductionKernels.Minimum.self, instructionSet: isa)
        case .max: ReductionKernels._reduceInPlace(dst, src, count: count, E.self, ReductionKernels.Maximum.self, instructionSet: isa)
        }
    }

    @inline(__always)
    internal static func _outOfPlace<E: ReductionElement>(
        _ isa: KernelInstructionSet, _: E.Type, _ op: ReductionOp, _ dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int
    ) {
        switch op.combiningOp {
        case .sum, .avg: ReductionKernels._reduce(dst, a, b, count: count, E.self, ReductionKernels.Sum.self, instructionSet: isa)
        case .prod: ReductionKernels._reduce(dst, a, b, count: count, E.self, ReductionKernels.Product.self, instructionSet: isa)
        case .min: ReductionKernels._reduce(dst, a, b, count: count, E.self, ReductionKernels.Minimum.self, instructionSet: isa)
        case .max: ReductionKernels._reduce(dst, a, b, count: count, E.self, ReductionKernels.Maximum.self, instructionSet: isa)
        }
    }

    @inline(__always)
    internal static func _fused<E: ReductionElement>(
        _: E.Type, _ op: ReductionOp, _ dst: UnsafeMutableRawPointer, _ sources: UnsafeBufferPointer<UnsafeRawPointer>, _ count: Int
    ) {
        switch op.combiningOp {
        case .sum, .avg: ReductionKernels._reduceFused(dst, sources, count: count, E.self, ReductionKernels.Sum.self)
        case .prod: ReductionKernels._reduceFused(dst, sources, count: count, E.self, ReductionKernels.Product.self)
        case .min: ReductionKernels._reduceFused(dst, sources, count: count, E.self, ReductionKernels.Minimum.self)
        case .max: ReductionKernels._reduceFused(dst, sources, count: count, E.self, ReductionKernels.Maximum.self)
        }
    }
}
