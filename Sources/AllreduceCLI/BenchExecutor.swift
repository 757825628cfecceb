import ArgumentParser

struct BenchExecutor: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-executor", abstract: "Measure the in-process executor beside memcpy.")

    func run() throws {
        throw CLIError("'bench-executor' is not built yet")
    }
}
