/// A reduction kernel chosen at run time by datatype and operator: the type-erased entry point
/// through which `CollectiveCore` and the executors reach the kernels.
public struct Reducer: Sendable, Hashable {
    public let dataType: DataType
    public let op: ReductionOp

    public init(dataType: DataType, op: ReductionOp) {
        self.dataType = dataType
        self.op = op
    }

    /// `dst[i] = dst[i] op src[i]` for `count` elements.
    public func reduceInPlace(into dst: UnsafeMutableRawPointer, from src: UnsafeRawPointer, count: Int) {
        precondition(count >= 0, "Reducer: negative element count \(count)")
        _dispatch { (t: any _ScalarReducible.Type) in t._reduceInPlace(dst, src, count, op.combiningOp) }
    }

    /// `dst[i] = a[i] op b[i]` for `count` elements.
    public func reduce(into dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) {
        precondition(count >= 0, "Reducer: negative element count \(count)")
        _dispatch { (t: any _ScalarReducible.Type) in t._reduce(dst, a, b, count, op.combiningOp) }
    }

    /// `dst[i] = s0[i] op s1[i] op ... op s(k-1)[i]`, reading every source once.
    public func reduceFused(into dst: UnsafeMutableRawPointer, sources: UnsafeBufferPointer<UnsafeRawPointer>, count: Int) {
        precondition(count >= 0, "Reducer: negative element count \(count)")
        precondition(!sources.isEmpty, "Reducer: a fused reduction needs at least one source")
        _dispatch { (t: any _ScalarReducible.Type) in t._reduceFused(dst, sources, count, op.combiningOp) }
    }

    /// Applies the end-of-reduction step: for `avg`, divides every element by `contributions`;
    /// for every other operator, does nothing.
    public func finalize(_ dst: UnsafeMutableRawPointer, count: Int, contributions: Int) {
        guard op == .avg else { return }
        precondition(contributions > 0, "Reducer: avg needs at least one contribution")
        _dispatch { (t: any _ScalarReducible.Type) in t._divide(dst, count, contributions) }
    }

    @inline(__always)
    internal func _dispatch(_ body: (any _ScalarReducible.Type) -> Void) {
        switch dataType {
        case .int8: body(Int8.self)
        case .uint8: body(UInt8.self)
        case .int32: body(Int32.self)
        case .uint32: body(UInt32.self)
        case .int64: body(Int64.self)
        case .uint64: body(UInt64.self)
        case .float16: body(Float16.self)
        case .bfloat16: body(BFloat16.self)
        case .float32: body(Float.self)
        case .float64: body(Double.self)
        }
    }
}

/// Scalar reference semantics for every element type.
public protocol _ScalarReducible {
    static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self
    static func _divided(_ a: Self, by n: Int) -> Self
}

extension _ScalarReducible {
    static func _reduceInPlace(_ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ count: Int, _ op: ReductionOp) {
        let d = dst.assumingMemoryBound(to: Self.self)
        let s = src.assumingMemoryBound(to: Self.self)
        for i in 0..<count { d[i] = _combine(d[i], s[i], op) }
    }

    static func _reduce(_ dst: UnsafeMutableRawPointer, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int, _ op: ReductionOp) {
        let d = dst.assumingMemoryBound(to: Self.self)
        let x = a.assumingMemoryBound(to: Self.self)
        let y = b.assumingMemoryBound(to: Self.self)
        for i in 0..<count { d[i] = _combine(x[i], y[i], op) }
    }

    static func _reduceFused(_ dst: UnsafeMutableRawPointer, _ sources: UnsafeBufferPointer<UnsafeRawPointer>, _ count: Int, _ op: ReductionOp) {
        let d = dst.assumingMemoryBound(to: Self.self)
        for i in 0..<count {
            var acc = sources[0].assumingMemoryBound(to: Self.self)[i]
            for k in 1..<sources.count { acc = _combine(acc, sources[k].assumingMemoryBound(to: Self.self)[i], op) }
            d[i] = acc
        }
    }

    static func _divide(_ dst: UnsafeMutableRawPointer, _ count: Int, _ n: Int) {
        let d = dst.assumingMemoryBound(to: Self.self)
        for i in 0..<count { d[i] = _divided(d[i], by: n) }
    }
}

extension FixedWidthInteger {
    @inline(__always)
    static func _integerCombine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self {
        switch op {
        case .sum, .avg: a &+ b
        case .prod: a &* b
        case .min: Swift.min(a, b)
        case .max: Swift.max(a, b)
        }
    }
}

extension Int8: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _integerCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { Self(truncatingIfNeeded: Int(a) / n) }
}
extension UInt8: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _integerCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { Self(truncatingIfNeeded: Int(a) / n) }
}
extension Int32: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _integerCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { Self(truncatingIfNeeded: Int(a) / n) }
}
extension UInt32: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _integerCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { Self(truncatingIfNeeded: Int(a) / n) }
}
extension Int64: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _integerCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { a / Self(n) }
}
extension UInt64: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _integerCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { a / Self(n) }
}

extension BinaryFloatingPoint {
    /// IEEE 754-2019 minimum/maximum: NaN if either operand is NaN, and -0 < +0.
    @inline(__always)
    static func _floatCombine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self {
        switch op {
        case .sum, .avg: return a + b
        case .prod: return a * b
        case .min:
            if a.isNaN || b.isNaN { return a + b }
            if a == b { return a.sign == .minus ? a : b }
            return a < b ? a : b
        case .max:
            if a.isNaN || b.isNaN { return a + b }
            if a == b { return a.sign == .plus ? a : b }
            return a > b ? a : b
        }
    }
}

extension Float: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _floatCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { a / Self(n) }
}
extension Double: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self { _floatCombine(a, b, op) }
    public static func _divided(_ a: Self, by n: Int) -> Self { a / Self(n) }
}
extension Float16: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self {
        Float16(Float._floatCombine(Float(a), Float(b), op))
    }
    public static func _divided(_ a: Self, by n: Int) -> Self { Float16(Float(a) / Float(n)) }
}
extension BFloat16: _ScalarReducible {
    public static func _combine(_ a: Self, _ b: Self, _ op: ReductionOp) -> Self {
        BFloat16(Float._floatCombine(a.floatValue, b.floatValue, op))
    }
    public static func _divided(_ a: Self, by n: Int) -> Self { BFloat16(a.floatValue / Float(n)) }
}
