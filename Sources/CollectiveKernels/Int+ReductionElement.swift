// Integer element types: the accumulator is the in-memory vector itself; sum and product wrap
// (two's complement) in the vector body and in the scalar tail alike. Min and max compare
// with the concrete vector types' compares and select bitwise (see `_bitSelect`).

extension ReductionElement
where Self: FixedWidthInteger, _Lanes == _Accumulator, _Lanes.Scalar == Self, _ScalarAccumulator == Self {
    @inlinable @inline(__always) public static var _laneCount: Int { _Lanes.scalarCount }
    @inlinable @inline(__always) public static func _widen(_ v: _Lanes) -> _Accumulator { v }
    @inlinable @inline(__always) public static func _narrow(_ v: _Accumulator) -> _Lanes { v }
    @inlinable @inline(__always) public static func _widen(_ x: Self) -> Self { x }
    @inlinable @inline(__always) public static func _narrow(_ x: Self) -> Self { x }

    @inlinable @inline(__always)
    public static func _sum(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator { a &+ b }
    @inlinable @inline(__always)
    public static func _product(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator { a &* b }

    @inlinable @inline(__always) public static func _sum(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inlinable @inline(__always) public static func _product(_ a: Self, _ b: Self) -> Self { a &* b }
    @inlinable @inline(__always) public static func _minimum(_ a: Self, _ b: Self) -> Self { b < a ? b : a }
    @inlinable @inline(__always) public static func _maximum(_ a: Self, _ b: Self) -> Self { b > a ? b : a }

    /// Truncating division toward zero, through a 64-bit intermediate so that any positive `n`
    /// works (for example `Int8.min / 128 == -1`).
    @inlinable @inline(__always)
    public static func _divided(_ a: Self, by n: Int) -> Self {
        if Self.isSigned {
            return Self(truncatingIfNeeded: Int(truncatingIfNeeded: a) / n)
        } else {
            return Self(truncatingIfNeeded: UInt(truncatingIfNeeded: a) / UInt(n))
        }
    }

    @inlinable
    public static func _divided(_ a: _Accumulator, by n: Int) -> _Accumulator {
        var r = a
        for i in r.indices { r[i] = _divided(a[i], by: n) }
        return r
    }
}

extension Int8: ReductionElement {
    public typealias _Lanes = SIMD32<Int8>
    public typealias _Accumulator = SIMD32<Int8>
    public typealias _ScalarAccumulator = Int8
    @inlinable public static var dataType: DataType { .int8 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD32<Int8>, _ b: SIMD32<Int8>) -> SIMD32<Int8> {
        _bitSelect(unsafeBitCast(b .< a, to: SIMD32<Int8>.self), b, a)
    }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD32<Int8>, _ b: SIMD32<Int8>) -> SIMD32<Int8> {
        _bitSelect(unsafeBitCast(b .> a, to: SIMD32<Int8>.self), b, a)
    }
}

extension UInt8: ReductionElement {
    public typealias _Lanes = SIMD32<UInt8>
    public typealias _Accumulator = SIMD32<UInt8>
    public typealias _ScalarAccumulator = UInt8
    @inlinable public static var dataType: DataType { .uint8 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD32<UInt8>, _ b: SIMD32<UInt8>) -> SIMD32<UInt8> {
        _bitSelect(unsafeBitCast(b .< a, to: SIMD32<UInt8>.self), b, a)
    }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD32<UInt8>, _ b: SIMD32<UInt8>) -> SIMD32<UInt8> {
        _bitSelect(unsafeBitCast(b .> a, to: SIMD32<UInt8>.self), b, a)
    }
}

extension Int32: ReductionElement {
    public typealias _Lanes = SIMD16<Int32>
    public typealias _Accumulator = SIMD16<Int32>
    public typealias _ScalarAccumulator = Int32
    @inlinable public static var dataType: DataType { .int32 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
        _bitSelect(unsafeBitCast(b .< a, to: SIMD16<Int32>.self), b, a)
    }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
        _bitSelect(unsafeBitCast(b .> a, to: SIMD16<Int32>.self), b, a)
    }
}

extension UInt32: ReductionElement {
    public typealias _Lanes = SIMD16<UInt32>
    public typealias _Accumulator = SIMD16<UInt32>
    public typealias _ScalarAccumulator = UInt32
    @inlinable public static var dataType: DataType { .uint32 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<UInt32> {
        _bitSelect(unsafeBitCast(b .< a, to: SIMD16<UInt32>.self), b, a)
    }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<UInt32> {
        _bitSelect(unsafeBitCast(b .> a, to: SIMD16<UInt32>.self), b, a)
    }
}

extension Int64: ReductionElement {
    public typealias _Lanes = SIMD8<Int64>
    public typealias _Accumulator = SIMD8<Int64>
    public typealias _ScalarAccumulator = Int64
    @inlinable public static var dataType: DataType { .int64 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD8<Int64>, _ b: SIMD8<Int64>) -> SIMD8<Int64> {
        _bitSelect(unsafeBitCast(b .< a, to: SIMD8<Int64>.self), b, a)
    }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD8<Int64>, _ b: SIMD8<Int64>) -> SIMD8<Int64> {
        _bitSelect(unsafeBitCast(b .> a, to: SIMD8<Int64>.self), b, a)
    }
}

extension UInt64: ReductionElement {
    public typealias _Lanes = SIMD8<UInt64>
    public typealias _Accumulator = SIMD8<UInt64>
    public typealias _ScalarAccumulator = UInt64
    @inlinable public static var dataType: DataType { .uint64 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD8<UInt64>, _ b: SIMD8<UInt64>) -> SIMD8<UInt64> {
        _bitSelect(unsafeBitCast(b .< a, to: SIMD8<UInt64>.self), b, a)
    }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD8<UInt64>, _ b: SIMD8<UInt64>) -> SIMD8<UInt64> {
        _bitSelect(unsafeBitCast(b .> a, to: SIMD8<UInt64>.self), b, a)
    }
}
