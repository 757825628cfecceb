extension Collective {
    /// nccl-tests' algorithm bandwidth (doc/PERFORMANCE.md): the buffer's bytes over the time, in
    /// GB/s of 1e9 bytes; 0 for a time that is not positive.
    public static func algorithmBandwidthGBps(bytes: Int, seconds: Double) -> Double {
        seconds > 0 ? Double(bytes) / seconds / 1e9 : 0
    }

    /// nccl-tests' bus bandwidth: the algorithm bandwidth times ``busBandwidthFactor(ranks:)``.
    public func busBandwidthGBps(bytes: Int, seconds: Double, ranks: Int) -> Double {
        Self.algorithmBandwidthGBps(bytes: bytes, seconds: seconds) * busBandwidthFactor(ranks: ranks)
    }
}
