import ArgumentParser
import CollectiveCore

extension Collective: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

/// `--collective`: what `simulate`, `sweep`, `verify` and `mpi` run.
struct CollectiveOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("""
        What runs: allreduce, reduce-scatter or all-gather (ring, nccl-ring and rabenseifner build all three; nccl-pat, NCCL's PAT, the last two). Sizes are the \
        full buffer, as nccl-tests counts them: a reduce-scatter's input, an all-gather's output; busbw = algbw x (n-1)/n for \
        both (2(n-1)/n for allreduce).
        """, valueName: "name"))
    var collective: Collective = .allreduce
}
