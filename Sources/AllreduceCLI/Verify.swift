import ArgumentParser

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Run schedules in-process on real data and check the results.")

    func run() throws {
        throw CLIError("'verify' is not built yet")
    }
}
