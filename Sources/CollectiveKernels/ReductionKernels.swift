import CCollectiveKernels

/// The reduction kernels, typed: `dst = dst op src` (in place), `dst = a op b` (out of place)
/// and `dst = s0 op s1 op ... op s(k-1)` (fused, reading every input once), plus avg's final
/// division. ``Reducer`` is the same kernels chosen at run time from a ``DataType``.
///
/// Every loop walks its buffers with unaligned SIMD loads and stores, two vectors per step
/// (`SIMD32` for 8-bit, `SIMD16` for 32-bit and, as pairs of 16-bit values, 16-bit, `SIMD8` for
/// 64-bit elements), then one
/// vector, then a scalar tail with the same semantics. The entry points are `@inlinable`, so a
/// caller that knows its element type gets loops specialised for it.
///
/// Aliasing: the destination may be the very same buffer as any source (in-place reduction of
/// a buffer with itself included); partially overlapping buffers are not supported.
///
/// See the module documentation (`CollectiveKernels.docc`) for the semantics users can rely on.
public enum ReductionKernels {}

// MARK: - Typed entry points

extension ReductionKernels {
    /// `dst[i] = dst[i] op src[i]` for every element: one step of a reduction. Both buffers must
    /// have the same count.
    ///
    /// `op` must not be `avg`: one step cannot know how many contributions the mean is over, and
    /// the process stops with a message that says what to call instead. Reduce all the
    /// contributions at once with ``reduce(into:sources:op:)`` (the mean, for `avg`), or combine
    /// step by step with `.sum` and divide once with ``finalize(_:op:contributions:)``.
    @inlinable
    public static func reduceInPlace<E: ReductionElement>(
        _ dst: UnsafeMutableBufferPointer<E>, _ src: UnsafeBufferPointer<E>, op: ReductionOp
    ) {
        _rejectAverageStep(op, "reduceInPlace(_:_:op:)")
        switch op {
        case .sum, .avg: reduceInPlace(dst, src, Sum.self)
        case .prod: reduceInPlace(dst, src, Product.self)
        case .min: reduceInPlace(dst, src, Minimum.self)
        case .max: reduceInPlace(dst, src, Maximum.self)
        }
    }

    /// `dst[i] = dst[i] op src[i]` with the operator fixed at compile time.
    @inlinable
    public static func reduceInPlace<E: ReductionElement, O: ReductionKernels.Operator>(
        _ dst: UnsafeMutableBufferPointer<E>, _ src: UnsafeBufferPointer<E>, _ op: O.Type
    ) {
        _kernelPrecondition(dst.count == src.count,
                     "ReductionKernels.reduceInPlace: destination has \(dst.count) elements but source has \(src.count)")
        guard let d = dst.baseAddress, let s = src.baseAddress, dst.count > 0 else { return }
        _reduceInPlace(UnsafeMutableRawPointer(d), UnsafeRawPointer(s), count: dst.count, E.self, O.self)
    }

    /// `dst[i] = a[i] op b[i]` for every element: one step of a reduction. All three buffers
    /// must have the same count. `op` must not be `avg` (see ``reduceInPlace(_:_:op:)``).
    @inlinable
    public static func reduce<E: ReductionElement>(
        into dst: UnsafeMutableBufferPointer<E>, _ a: UnsafeBufferPointer<E>, _ b: UnsafeBufferPointer<E>, op: ReductionOp
    ) {
        _rejectAverageStep(op, "reduce(into:_:_:op:)")
        switch op {
        case .sum, .avg: reduce(into: dst, a, b, Sum.self)
        case .prod: reduce(into: dst, a, b, Product.self)
        case .min: reduce(into: dst, a, b, Minimum.self)
        case .max: reduce(into: dst, a, b, Maximum.self)
        }
    }

    /// `dst[i] = a[i] op b[i]` with the operator fixed at compile time.
    @inlinable
    public static func reduce<E: ReductionElement, O: ReductionKernels.Operator>(
        into dst: UnsafeMutableBufferPointer<E>, _ a: UnsafeBufferPointer<E>, _ b: UnsafeBufferPointer<E>, _ op: O.Type
    ) {
        _kernelPrecondition(a.count == b.count && dst.count == a.count,
                     "ReductionKernels.reduce: destination has \(dst.count) elements but the operands have \(a.count) and \(b.count)")
        guard let d = dst.baseAddress, let x = a.baseAddress, let y = b.baseAddress, dst.count > 0 else { return }
        _reduce(UnsafeMutableRawPointer(d), UnsafeRawPointer(x), UnsafeRawPointer(y), count: dst.count, E.self, O.self)
    }

    /// `dst[i] = s0[i] op s1[i] op ... op s(k-1)[i]`, reading every source once: a step that
    /// combines k partial results. For `Float16` and ``BFloat16`` the k inputs are combined in
    /// binary32 and rounded once at the store. Needs at least one source; every source must have
    /// the destination's count. `op` must not be `avg` (see ``reduceInPlace(_:_:op:)``); when
    /// the sources are all the contributions, ``reduce(into:sources:op:)`` also averages.
    @inlinable
    public static func reduceFused<E: ReductionElement>(
        into dst: UnsafeMutableBufferPointer<E>, sources: [UnsafeBufferPointer<E>], op: ReductionOp
    ) {
        _rejectAverageStep(op, "reduceFused(into:sources:op:)")
        switch op {
        case .sum, .avg: reduceFused(into: dst, sources: sources, Sum.self)
        case .prod: reduceFused(into: dst, sources: sources, Product.self)
        case .min: reduceFused(into: dst, sources: sources, Minimum.self)
        case .max: reduceFused(into: dst, sources: sources, Maximum.self)
        }
    }

    /// The fused k-way reduction with the operator fixed at compile time.
    @inlinable
    public static func reduceFused<E: ReductionElement, O: ReductionKernels.Operator>(
        into dst: UnsafeMutableBufferPointer<E>, sources: [UnsafeBufferPointer<E>], _ op: O.Type
    ) {
        _kernelPrecondition(!sources.isEmpty, "ReductionKernels.reduceFused: a fused reduction needs at least one source")
        for (k, s) in sources.enumerated() {
            _kernelPrecondition(s.count == dst.count,
                         "ReductionKernels.reduceFused: destination has \(dst.count) elements but source \(k) has \(s.count)")
        }
        guard let d = dst.baseAddress, dst.count > 0 else { return }
        withUnsafeTemporaryAllocation(of: UnsafeRawPointer.self, capacity: sources.count) { raw in
            for (k, s) in sources.enumerated() { raw.initializeElement(at: k, to: UnsafeRawPointer(s.baseAddress!)) }
            _reduceFused(UnsafeMutableRawPointer(d), UnsafeBufferPointer(raw), count: dst.count, E.self, O.self)
        }
    }

    /// The whole reduction of `sources`, every contribution there is: `dst[i] = s0[i] op s1[i]
    /// op ... op s(k-1)[i]`, reading every source once, and for `avg` the mean, that sum divided
    /// by `k` (integers truncate toward zero; floating-point types round once more). This is the
    /// form that cannot forget avg's division. Needs at least one source; every source must have
    /// the destination's count; `dst` may be one of the sources.
    @inlinable
    public static func reduce<E: ReductionElement>(
        into dst: UnsafeMutableBufferPointer<E>, sources: [UnsafeBufferPointer<E>], op: ReductionOp
    ) {
        _kernelPrecondition(!sources.isEmpty, "ReductionKernels.reduce(into:sources:op:): a reduction needs at least one source")
        reduceFused(into: dst, sources: sources, op: op.combiningOp)
        finalize(dst, op: op, contributions: sources.count)
    }

    /// Stops with a message naming the calls to use when a one-step form gets `avg`.
    @inlinable @inline(__always)
    internal static func _rejectAverageStep(_ op: ReductionOp, _ function: StaticString) {
        _kernelPrecondition(op != .avg,
                            "ReductionKernels.\(function): avg needs the number of contributions: reduce them all with reduce(into:sources:op:), or combine with .sum and divide with finalize(_:op:contributions:)")
    }

    /// avg's final step: divides every element by `contributions` when `op` is `.avg` (integers
    /// truncate toward zero; floating-point types round once); does nothing for other operators.
    @inlinable
    public static func finalize<E: ReductionElement>(
        _ dst: UnsafeMutableBufferPointer<E>, op: ReductionOp, contributions: Int
    ) {
        guard op == .avg else { return }
        _kernelPrecondition(contributions > 0, "ReductionKernels.finalize: avg needs at least one contribution, got \(contributions)")
        guard let d = dst.baseAddress, dst.count > 0 else { return }
        _divide(UnsafeMutableRawPointer(d), count: dst.count, by: contributions, E.self)
    }
}

// MARK: - Hot loops over raw memory

extension ReductionKernels {
    /// In place over raw memory holding `count` elements of `E`, any alignment.
    @inlinable
    internal static func _reduceInPlace<E: ReductionElement, O: ReductionKernels.Operator>(
        _ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, count: Int, _: E.Type, _: O.Type,
        instructionSet: KernelInstructionSet = .default
    ) {
        // The out-of-place loop loads both operands of a vector before storing it, so it is
        // also the in-place loop with `a` = `dst`.
        _reduce(dst, UnsafeRawPointer(dst), src, count: count, E.self, O.self, instructionSet: instructionSet)
    }

    /// Out of place over raw memory: `dst = a op b`.
    @inlinable
    internal static func _reduce<E: ReductionElement, O: ReductionKernels.Operator>(
        _ dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int, _: E.Type, _: O.Type,
        instructionSet: KernelInstructionSet = .default
    ) {
        assert(count >= 0)
        let stride = MemoryLayout<E>.stride
        let step = E._laneCount &* stride
        let total = count &* stride
        var offset = 0
        if instructionSet != .portable {
            // The whole vector blocks in C (same operations, same bits); the tail below.
            offset = _reduceInC(dst, a, b, count: count, E.self, O.self, instructionSet: instructionSet) &* stride
        }
        // Two vectors per step, then one; `dst` may be `a` or `b` (see `_combineVectors`).
        while offset &+ 2 &* step <= total {
            O._combineVectors(2, into: dst, a, b, atByteOffset: offset, E.self)
            offset &+= 2 &* step
        }
        if offset &+ step <= total {
            O._combineVectors(1, into: dst, a, b, atByteOffset: offset, E.self)
            offset &+= step
        }
        while offset < total {
            let x = E._widen(a.loadUnaligned(fromByteOffset: offset, as: E.self))
            let y = E._widen(b.loadUnaligned(fromByteOffset: offset, as: E.self))
            dst.storeBytes(of: E._narrow(O._combine(x, y, E.self)), toByteOffset: offset, as: E.self)
            offset &+= stride
        }
    }

    /// The C loops of `CCollectiveKernels` for `instructionSet` over the whole vector blocks
    /// (multiples of `E._laneCount`) of `count` elements. Returns the number of elements done:
    /// 0 for element types without such a loop. Only for a set this CPU supports.
    @inlinable @inline(__always)
    internal static func _reduceInC<E: ReductionElement, O: ReductionKernels.Operator>(
        _ dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int, _: E.Type, _: O.Type,
        instructionSet: KernelInstructionSet
    ) -> Int {
        let blocks = count &- count % E._laneCount
        guard blocks > 0 else { return 0 }
        // Constants once the loop is specialised for E and O.
        let op: Int32
        switch O.reductionOp {
        case .sum, .avg: op = Int32(CK_OP_SUM)
        case .prod: op = Int32(CK_OP_PROD)
        case .min: op = Int32(CK_OP_MIN)
        case .max: op = Int32(CK_OP_MAX)
        }
        // Only bfloat16 has 512-bit loops (CCollectiveKernels/avx512.c says why).
        switch E.dataType {
        case .float32: ck_avx2_reduce_f32(op, dst, a, b, blocks)
        case .float64: ck_avx2_reduce_f64(op, dst, a, b, blocks)
        case .int32: ck_avx2_reduce_i32(op, dst, a, b, blocks)
        case .float16: ck_avx2_reduce_f16(op, dst, a, b, blocks)
        case .bfloat16:
            switch instructionSet {
            case .avx512bf16: ck_avx512bf16_reduce_bf16(op, dst, a, b, blocks)
            case .avx512: ck_avx512_reduce_bf16(op, dst, a, b, blocks)
            default: ck_avx2_reduce_bf16(op, dst, a, b, blocks)
            }
        case .int8, .uint8, .uint32, .int64, .uint64: return 0
        }
        return blocks
    }

    /// Fused k-way over raw memory: `dst = s0 op s1 op ... op s(k-1)`, combined left to right
    /// in the accumulator type and stored once.
    @inlinable
    internal static func _reduceFused<E: ReductionElement, O: ReductionKernels.Operator>(
        _ dst: UnsafeMutableRawPointer, _ sources: UnsafeBufferPointer<UnsafeRawPointer>, count: Int, _: E.Type, _: O.Type
    ) {
        assert(count >= 0 && !sources.isEmpty)
        let k = sources.count
        let stride = MemoryLayout<E>.stride
        let step = E._laneCount &* stride
        let total = count &* stride
        let first = sources[0]
        var offset = 0
        while offset &+ 2 &* step <= total {
            var acc0 = E._widen(first.loadUnaligned(fromByteOffset: offset, as: E._Lanes.self))
            var acc1 = E._widen(first.loadUnaligned(fromByteOffset: offset &+ step, as: E._Lanes.self))
            var j = 1
            while j < k {
                let s = sources[j]
                acc0 = O._combine(acc0, E._widen(s.loadUnaligned(fromByteOffset: offset, as: E._Lanes.self)), E.self)
                acc1 = O._combine(acc1, E._widen(s.loadUnaligned(fromByteOffset: offset &+ step, as: E._Lanes.self)), E.self)
                j &+= 1
            }
            dst.storeBytes(of: E._narrow(acc0), toByteOffset: offset, as: E._Lanes.self)
            dst.storeBytes(of: E._narrow(acc1), toByteOffset: offset &+ step, as: E._Lanes.self)
            offset &+= 2 &* step
        }
        if offset &+ step <= total {
            var acc = E._widen(first.loadUnaligned(fromByteOffset: offset, as: E._Lanes.self))
            var j = 1
            while j < k {
                acc = O._combine(acc, E._widen(sources[j].loadUnaligned(fromByteOffset: offset, as: E._Lanes.self)), E.self)
                j &+= 1
            }
            dst.storeBytes(of: E._narrow(acc), toByteOffset: offset, as: E._Lanes.self)
            offset &+= step
        }
        while offset < total {
            var acc = E._widen(first.loadUnaligned(fromByteOffset: offset, as: E.self))
            var j = 1
            while j < k {
                acc = O._combine(acc, E._widen(sources[j].loadUnaligned(fromByteOffset: offset, as: E.self)), E.self)
                j &+= 1
            }
            dst.storeBytes(of: E._narrow(acc), toByteOffset: offset, as: E.self)
            offset &+= stride
        }
    }

    /// avg's division over raw memory.
    @inlinable
    internal static func _divide<E: ReductionElement>(_ dst: UnsafeMutableRawPointer, count: Int, by n: Int, _: E.Type) {
        assert(count >= 0 && n > 0)
        let stride = MemoryLayout<E>.stride
        let step = E._laneCount &* stride
        let total = count &* stride
        var offset = 0
        while offset &+ step <= total {
            let a = E._widen(dst.loadUnaligned(fromByteOffset: offset, as: E._Lanes.self))
            dst.storeBytes(of: E._narrow(E._divided(a, by: n)), toByteOffset: offset, as: E._Lanes.self)
            offset &+= step
        }
        while offset < total {
            let a = E._widen(dst.loadUnaligned(fromByteOffset: offset, as: E.self))
            dst.storeBytes(of: E._narrow(E._divided(a, by: n)), toByteOffset: offset, as: E.self)
            offset &+= stride
        }
    }
}
