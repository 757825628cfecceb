// swift-tools-version: 6.1
//
// Benchmarks of swift-allreduce's reduction kernels with ordo-one/benchmark, kept in a nested
// package so that the main package does not depend on the benchmark package.
//
//   cd Benchmarks && swift package benchmark                         # run everything
//   cd Benchmarks && swift package benchmark --filter "float sum"    # a subset
//
// For a tuned build pass the flags the same way Scripts/bench-kernels does, for example
//   swift package benchmark -Xswiftc -target-cpu -Xswiftc native
// (no unsafe build settings in any Package.swift). The side-by-side comparison with Open MPI and memcpy
// lives in `allreduce bench-kernels` (Scripts/bench-kernels).
import PackageDescription

let package = Package(
    name: "swift-allreduce-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-allreduce", path: ".."),
        // The malloc interposer only; Linux with Swift 6.3 would otherwise also pull in the
        // runtime interposer.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ReductionKernels",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CollectiveKernels", package: "swift-allreduce"),
            ],
            path: "Benchmarks/ReductionKernels",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
