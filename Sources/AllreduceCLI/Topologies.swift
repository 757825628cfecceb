import ArgumentParser
import CollectiveFabric

struct Topologies: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topologies",
        abstract: "List cluster presets, or print one in the topology file format.",
        discussion: """
            `allreduce topologies` lists the presets; `allreduce topologies show NAME` prints one as
            JSON (or YAML with --format yaml), a starting point for a topology file
            (--topology path/to/file.json or file.yaml).
            """,
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the presets.")

        /// Testing only: fail a check on purpose (`trap`) or read unmapped memory (`segv`), to
        /// prove that a true bug prints one line (``CrashReport``).
        @Option(name: .customLong("test-crash"), help: .hidden)
        var testCrash: String?

        func run() throws {
            switch testCrash {
            case "trap": let list: [Int] = []; _ = list[Int(CommandLine.arguments.count)]
            case "segv": print(UnsafePointer<Int>(bitPattern: 8 * CommandLine.arguments.count)!.pointee)
            default: break
            }
            let width = Topology.presetNames.map(\.count).max() ?? 0
            for name in Topology.presetNames {
                guard let t = Topology.preset(name) else { continue }
                let summary = name == "switch"
                    ? "p ranks on one non-blocking switch: --ranks P --link-bandwidth 100GB/s --link-latency 1us"
                    : t.summary
                print(name + String(repeating: " ", count: width - name.count) + "  " + summary)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a preset as a topology file.")

        @Argument(help: "Preset name.")
        var name: String

        @Option(name: .long, help: "File format: json or yaml.")
        var format: String = "json"

        func validate() throws {
            guard Topology.FileFormat(rawValue: format.lowercased()) != nil else {
                throw ValidationError("--format: must be json or yaml, got '\(format)'")
            }
        }

        func run() throws {
            guard let t = Topology.preset(name) else {
                throw ValidationError("unknown preset '\(name)' (presets: \(Topology.presetNames.joined(separator: ", ")))")
            }
            print(t.fileText(format: Topology.FileFormat(rawValue: format.lowercased()) ?? .json), terminator: "")
        }
    }
}
