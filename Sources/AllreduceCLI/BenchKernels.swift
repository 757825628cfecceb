import ArgumentParser

struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-kernels", abstract: "Measure the reduction kernels beside Open MPI and memcpy.")

    func run() throws {
        throw CLIError("'bench-kernels' is not built yet")
    }
}
