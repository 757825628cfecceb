import Testing
import CollectiveFabric

@Suite("Byte sizes")
struct ByteCountTests {
    @Test("1024-based suffixes", arguments: [("8", 8), ("1K", 1024), ("64k", 65536), ("1M", 1 << 20), ("8G", 8 << 30), ("2KiB", 2048)])
    func parses(text: String, bytes: Int) throws {
        #expect(try ByteCount.parse(text).get() == bytes)
    }

    @Test("garbage and overflow are errors", arguments: ["", "x", "1Q", "-5", "99999999999T"])
    func rejects(text: String) {
        #expect(throws: ByteCountError.self) { try ByteCount.parse(text).get() }
    }
}
