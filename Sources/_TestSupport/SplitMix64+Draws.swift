import CollectiveCore

// The tests' seeded random numbers are CollectiveCore's SplitMix64, the generator of every
// seeded draw of the package (the same seed gives the same stream everywhere); these are the
// draws the tests make with it.
extension SplitMix64 {
    /// Uniform in 0..<n (0 when n <= 1); the modulo bias is immaterial for tests.
    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    /// True with probability `percent` / 100.
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// One element of a non-empty list.
    public mutating func pick<T>(_ list: [T]) -> T { list[below(list.count)] }
}
