import Foundation
import Testing

@Suite("allreduce topologies")
struct TopologiesCLITests {
    static let presets = [
        "dgx1-v100", "dgx-a100", "hgx-a800", "dgx-h100", "dgx-h100-roce", "hgx-h800", "hgx-h800-roce", "hgx-h20", "hgx-h200",
        "dgx-b200", "gb200", "gb200-nvl72", "l40s-pcie", "rtx4090-pcie", "nd-a100-v4", "nd-h100-v5", "nd-h200-v5", "switch",
    ]

    @Test("lists every preset")
    func list() throws {
        let r = try CLI.run(["topologies"])
        #expect(r.status == 0)
        let names = r.stdout.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }
        #expect(names == Self.presets)
    }

    @Test("show prints valid JSON with the schema's fields", arguments: presets)
    func show(name: String) throws {
        let r = try CLI.run(["topologies", "show", name])
        #expect(r.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["name"] as? String == name)
        let node = try #require(json["node"] as? [String: Any])
        #expect(node["gpus"] != nil)
    }

    @Test("show of an unknown preset is a one-line error listing presets")
    func unknown() throws {
        expectOneLineError(try CLI.run(["topologies", "show", "dgx-9000"]), contains: ["dgx-9000", "dgx-h100"])
    }
}
