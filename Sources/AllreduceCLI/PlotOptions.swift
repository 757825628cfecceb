import ArgumentParser
import CollectivePlot
import Foundation

extension SizePlotQuantity: ExpressibleByArgument {}

/// `--plot FILE.svg` and `--plot-y`, shared by `sweep` and `mpi`.
struct PlotOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Also draw the results as an SVG plot against size: one line per algorithm, log-2 size axis.", valueName: "file.svg"))
    var plot: String?

    @Option(name: .customLong("plot-y"), help: "What the plot's y axis shows: busbw (GB/s, linear) or time (us, log 10).")
    var plotY: SizePlotQuantity = .busbw

    func validate() throws {
        if let plot, plot.isEmpty { throw ValidationError("--plot: empty file name") }
    }

    /// Writes `plot` (an SVG document) to `--plot`'s file.
    func write(_ plot: LinePlot) throws {
        guard let path = self.plot else { return }
        try writeTextFile(plot.svg(), to: path, option: "--plot")
    }
}

/// Writes `text` to `path`, replacing it; a failure is one line naming the option.
func writeTextFile(_ text: String, to path: String, option: String) throws {
    do {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        throw CLIError("\(option): cannot write '\(path)': \((error as NSError).localizedDescription)")
    }
}
