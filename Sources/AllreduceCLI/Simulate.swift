import ArgumentParser

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate", abstract: "Time an allreduce on a modelled cluster.")

    func run() throws {
        throw CLIError("'simulate' is not built yet")
    }
}
