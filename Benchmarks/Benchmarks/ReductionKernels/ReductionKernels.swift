// ordo-one/benchmark targets for the reduction kernels: in place, out of place and fused 4-way
// sums and maxima over every element type, at an L2-resident size (256 KiB per buffer) and a
// memory-bound one (64 MiB per buffer). Throughput is calls per second; one call moves 3 x size
// bytes (in place, out of place: two reads, one write), 5 x size (fused 4-way) or 2 x size
// (memcpy), so GB/s = calls/s x bytes moved / 1e9.
import Benchmark
import CollectiveKernels

/// Buffers for one benchmark: a destination and four sources filled with ordinary values of
/// the type (no NaN, no subnormals), as byte patterns every type reads as normal numbers.
final class KernelBuffers: @unchecked Sendable {
    let bytes: Int
    let destination: UnsafeMutableRawPointer
    let sources: [UnsafeMutableRawPointer]

    init(bytes: Int) {
        self.bytes = bytes
        destination = .allocate(byteCount: bytes, alignment: 4096)
        destination.initializeMemory(as: UInt8.self, repeating: 0x3C, count: bytes)
        sources = (0..<4).map { _ in
            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
            p.initializeMemory(as: UInt8.self, repeating: 0x38, count: bytes)
            return p
        }
    }

    deinit {
        destination.deallocate()
        for s in sources { s.deallocate() }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 2,
        maxDuration: .milliseconds(500),
        maxIterations: 10_000
    )

    let sizes = [("256K", 256 << 10), ("64M", 64 << 20)]
    for (label, bytes) in sizes {
        let buffers = KernelBuffers(bytes: bytes)
        for dataType in DataType.allCases {
            let count = bytes / dataType.sizeInBytes
            for op in [ReductionOp.sum, .max] {
                let reducer = Reducer(dataType: dataType, op: op)
                Benchmark("\(dataType.name) \(op) in-place \(label)") { benchmark in
                    for _ in benchmark.scaledIterations {
                        reducer.reduceInPlace(into: buffers.destination, from: buffers.sources[0], count: count)
                    }
                    blackHole(buffers.destination.load(as: UInt8.self))
                }
            }
            let sum = Reducer(dataType: dataType, op: .sum)
            Benchmark("\(dataType.name) sum out-of-place \(label)") { benchmark in
                for _ in benchmark.scaledIterations {
                    sum.reduce(into: buffers.destination, buffers.sources[0], buffers.sources[1], count: count)
                }
                blackHole(buffers.destination.load(as: UInt8.self))
            }
            Benchmark("\(dataType.name) sum fused-4 \(label)") { benchmark in
                let pointers = buffers.sources.map { UnsafeRawPointer($0) }
                pointers.withUnsafeBufferPointer { sp in
                    for _ in benchmark.scaledIterations {
                        sum.reduceFused(into: buffers.destination, sources: sp, count: count)
                    }
                }
                blackHole(buffers.destination.load(as: UInt8.self))
            }
        }
        Benchmark("memcpy \(label)") { benchmark in
            for _ in benchmark.scaledIterations {
                buffers.destination.copyMemory(from: buffers.sources[0], byteCount: bytes)
            }
            blackHole(buffers.destination.load(as: UInt8.self))
        }
    }
}
