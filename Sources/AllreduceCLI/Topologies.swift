import ArgumentParser

struct Topologies: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topologies", abstract: "List or show cluster presets.")

    func run() throws {
        throw CLIError("'topologies' is not built yet")
    }
}
