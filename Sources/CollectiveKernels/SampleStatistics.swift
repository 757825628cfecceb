/// Statistics of measured samples, shared by the benchmarks, the calibration and the what-if
/// sweeps (one home for the median).
public enum SampleStatistics {
    /// The median: the middle value, or the mean of the middle two for an even count; nan for none.
    public static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
