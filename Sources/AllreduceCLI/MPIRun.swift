import ArgumentParser

struct MPIRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mpi", abstract: "Run schedules across processes under mpirun.")

    func run() throws {
        throw CLIError("'mpi' is not built yet")
    }
}
