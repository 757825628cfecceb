import ArgumentParser

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sweep", abstract: "Time allreduces over a range of sizes, like nccl-tests.")

    func run() throws {
        throw CLIError("'sweep' is not built yet")
    }
}
