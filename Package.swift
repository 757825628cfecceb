// swift-tools-version: 6.1
//
// swift-allreduce: Allreduce schedules, SIMD reduction kernels, a timing simulator over
// modelled GPU fabrics, and an Open MPI runner that executes the same schedules.
//
// Dependency arrows (each module only sees the ones to its right):
//
//   AllreduceCLI -> CollectiveSim -> CollectiveFabric -> CollectiveCore -> CollectiveKernels
//                                    (and Yams, for YAML topology files)     -> CCollectiveKernels
//                                                  (C: AVX2/F16C loops chosen at run time)
//                                                               CollectiveCore -> CCollectiveCore
//                                                  (C: a prefetch hint for the matcher and the engine)
//                -> CollectiveMPI -> CMPI (trait MPI: system library over Open MPI's mpi.h)
//                                 -> CollectiveFabric (the measured cluster calibration writes)
//                -> CollectivePlot (SVG plots; no dependencies)
//
// No unsafe build settings here: tuning flags (for example `-target-cpu`) come from Scripts/.
import PackageDescription

let package = Package(
    name: "swift-allreduce",
    products: [
        .executable(name: "allreduce", targets: ["AllreduceCLI"]),
        .library(name: "CollectiveKernels", targets: ["CollectiveKernels"]),
        .library(name: "CollectiveCore", targets: ["CollectiveCore"]),
        .library(name: "CollectiveFabric", targets: ["CollectiveFabric"]),
        .library(name: "CollectiveSim", targets: ["CollectiveSim"]),
        .library(name: "CollectivePlot", targets: ["CollectivePlot"]),
    ],
    traits: [
        .trait(
            name: "MPI",
            description: "Build the Open MPI runner (`allreduce mpi`) and the Open MPI side of `allreduce bench-kernels`. Needs libopenmpi-dev."
        ),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C loops compiled per function for AVX2 + F16C (clang's target attribute), which
        // CollectiveKernels calls when the CPU has them. No dependencies, no build flags.
        .target(name: "CCollectiveKernels"),
        .target(name: "CollectiveKernels", dependencies: ["CCollectiveKernels"]),
        .target(name: "CCollectiveCore"),
        .target(name: "CollectiveCore", dependencies: ["CollectiveKernels", "CCollectiveCore"]),
        .target(name: "CollectiveFabric", dependencies: ["CollectiveCore", "CollectiveKernels", .product(name: "Yams", package: "Yams")]),
        // Header-only C helper of the event engine: a software prefetch hint. No dependencies.
        .target(name: "CollectiveSim", dependencies: ["CollectiveCore", "CollectiveFabric", "CollectiveKernels", "CCollectiveCore"]),
        // SVG line plots of results against size: used by `sweep` (simulated) and `mpi` (measured),
        // so it belongs to neither of their modules; it depends on nothing.
        .target(name: "CollectivePlot"),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        .target(
            name: "CollectiveMPI",
            dependencies: [
                "CollectiveCore",
                // The measured cluster (MeasuredCluster) that calibration fills in.
                "CollectiveFabric",
                "CollectiveKernels",
                .target(name: "CMPI", condition: .when(traits: ["MPI"])),
            ]
        ),
        .executableTarget(
            name: "AllreduceCLI",
            dependencies: [
                "CollectiveKernels",
                "CollectiveCore",
                "CollectiveFabric",
                "CollectiveSim",
                // Without the trait only its MPI-free parts build: the CLI validates `mpi`'s
                // options with them either way.
                "CollectiveMPI",
                "CollectivePlot",
                .target(name: "CMPI", condition: .when(traits: ["MPI"])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What several test targets share (as swift-collections' _CollectionsTestSupport): the
        // trace checks, the seeded draws and the mailbox transport. A regular target, not a
        // product: only the test targets use it.
        .target(name: "_TestSupport", dependencies: ["CollectiveCore"]),
        .testTarget(name: "CollectiveKernelsTests", dependencies: ["CollectiveKernels", "CollectiveCore", "_TestSupport"]),
        .testTarget(name: "CollectiveCoreTests", dependencies: ["CollectiveCore", "CollectiveKernels", "_TestSupport"]),
        .testTarget(name: "CollectiveFabricTests", dependencies: ["CollectiveFabric", "CollectiveCore"]),
        .testTarget(name: "CollectiveSimTests", dependencies: ["CollectiveSim", "CollectiveFabric", "CollectiveCore", "_TestSupport"]),
        .testTarget(name: "CollectivePlotTests", dependencies: ["CollectivePlot"]),
        .testTarget(name: "AllreduceCLITests", dependencies: ["AllreduceCLI", "_TestSupport"]),
        // The MPI-free parts of CollectiveMPI; the runner itself is tested under mpirun by Scripts/test-mpi.
        .testTarget(name: "CollectiveMPITests", dependencies: ["CollectiveMPI", "CollectiveCore", "CollectiveKernels", "_TestSupport"]),
    ]
)
