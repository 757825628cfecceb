// Float and Double: the accumulator is the in-memory vector; min and max follow IEEE 754-2019
// `minimum`/`maximum` (NaN propagates, -0 < +0).

extension ReductionElement
where Self: BinaryFloatingPoint, _Lanes == _Accumulator, _Lanes.Scalar == Self, _ScalarAccumulator == Self {
    @inlinable @inline(__always) public static var _laneCount: Int { _Lanes.scalarCount }
    @inlinable @inline(__always) public static func _widen(_ v: _Lanes) -> _Accumulator { v }
    @inlinable @inline(__always) public static func _narrow(_ v: _Accumulator) -> _Lanes { v }
    @inlinable @inline(__always) public static func _widen(_ x: Self) -> Self { x }
    @inlinable @inline(__always) public static func _narrow(_ x: Self) -> Self { x }

    @inlinable @inline(__always)
    public static func _sum(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator { a + b }
    @inlinable @inline(__always)
    public static func _product(_ a: _Accumulator, _ b: _Accumulator) -> _Accumulator { a * b }

    @inlinable @inline(__always) public static func _sum(_ a: Self, _ b: Self) -> Self { a + b }
    @inlinable @inline(__always) public static func _product(_ a: Self, _ b: Self) -> Self { a * b }
    @inlinable @inline(__always) public static func _minimum(_ a: Self, _ b: Self) -> Self { _ieeeMinimum(a, b) }
    @inlinable @inline(__always) public static func _maximum(_ a: Self, _ b: Self) -> Self { _ieeeMaximum(a, b) }

    @inlinable @inline(__always)
    public static func _divided(_ a: Self, by n: Int) -> Self { a / Self(n) }
    @inlinable @inline(__always)
    public static func _divided(_ a: _Accumulator, by n: Int) -> _Accumulator { a / _Accumulator(repeating: Self(n)) }
}

// IEEE 754-2019 minimum/maximum lane by lane, from concrete vector compares (the selects below
// compile to the hardware's MINPS/MAXPS plus fix-ups):
//   minimum: r = a < b ? a : b (a NaN b, or b NaN, or equal lanes give b); then, where a == b or
//   either is NaN, OR in a's bits: equal lanes (including -0 == +0) get the sign of a zero if
//   either has it and are otherwise unchanged, and OR with a NaN's bits is a NaN.
//   maximum: r = a > b ? a : b (b NaN gives b); where a == b, AND in a's bits (+0 wins over -0);
//   where a is NaN, OR in a's bits (a NaN).

/// IEEE 754-2019 `minimum` of sixteen lanes.
@inlinable @inline(always)
internal func _ieeeMinimumLanes(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    let ab = unsafeBitCast(a, to: SIMD16<UInt32>.self), bb = unsafeBitCast(b, to: SIMD16<UInt32>.self)
    let less = unsafeBitCast(a .< b, to: SIMD16<UInt32>.self)
    let fix = unsafeBitCast((a .== b) .| (a .!= a) .| (b .!= b), to: SIMD16<UInt32>.self)
    return unsafeBitCast(_bitSelect(less, ab, bb) | (fix & ab), to: SIMD16<Float>.self)
}

/// IEEE 754-2019 `maximum` of sixteen lanes.
@inlinable @inline(always)
internal func _ieeeMaximumLanes(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    let ab = unsafeBitCast(a, to: SIMD16<UInt32>.self), bb = unsafeBitCast(b, to: SIMD16<UInt32>.self)
    let greater = unsafeBitCast(a .> b, to: SIMD16<UInt32>.self)
    let equal = unsafeBitCast(a .== b, to: SIMD16<UInt32>.self)
    let aIsNaN = unsafeBitCast(a .!= a, to: SIMD16<UInt32>.self)
    return unsafeBitCast((_bitSelect(greater, ab, bb) & (~equal | ab)) | (aIsNaN & ab), to: SIMD16<Float>.self)
}

/// IEEE 754-2019 `minimum` of eight double lanes.
@inlinable @inline(always)
internal func _ieeeMinimumLanes(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> {
    let ab = unsafeBitCast(a, to: SIMD8<UInt64>.self), bb = unsafeBitCast(b, to: SIMD8<UInt64>.self)
    let less = unsafeBitCast(a .< b, to: SIMD8<UInt64>.self)
    let fix = unsafeBitCast((a .== b) .| (a .!= a) .| (b .!= b), to: SIMD8<UInt64>.self)
    return unsafeBitCast(_bitSelect(less, ab, bb) | (fix & ab), to: SIMD8<Double>.self)
}

/// IEEE 754-2019 `maximum` of eight double lanes.
@inlinable @inline(always)
internal func _ieeeMaximumLanes(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> {
    let ab = unsafeBitCast(a, to: SIMD8<UInt64>.self), bb = unsafeBitCast(b, to: SIMD8<UInt64>.self)
    let greater = unsafeBitCast(a .> b, to: SIMD8<UInt64>.self)
    let equal = unsafeBitCast(a .== b, to: SIMD8<UInt64>.self)
    let aIsNaN = unsafeBitCast(a .!= a, to: SIMD8<UInt64>.self)
    return unsafeBitCast((_bitSelect(greater, ab, bb) & (~equal | ab)) | (aIsNaN & ab), to: SIMD8<Double>.self)
}

extension Float: ReductionElement {
    public typealias _Lanes = SIMD16<Float>
    public typealias _Accumulator = SIMD16<Float>
    public typealias _ScalarAccumulator = Float
    @inlinable public static var dataType: DataType { .float32 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { _ieeeMinimumLanes(a, b) }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { _ieeeMaximumLanes(a, b) }
}

extension Double: ReductionElement {
    public typealias _Lanes = SIMD8<Double>
    public typealias _Accumulator = SIMD8<Double>
    public typealias _ScalarAccumulator = Double
    @inlinable public static var dataType: DataType { .float64 }

    @inlinable @inline(__always)
    public static func _minimum(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> { _ieeeMinimumLanes(a, b) }
    @inlinable @inline(__always)
    public static func _maximum(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> { _ieeeMaximumLanes(a, b) }
}
