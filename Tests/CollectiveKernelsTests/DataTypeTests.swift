import Testing
@testable import CollectiveKernels

@Suite("Datatype names")
struct DataTypeNameTests {
    @Test("nccl-tests names and aliases parse", arguments: [
        ("int8", DataType.int8), ("uint8", .uint8), ("int32", .int32), ("uint32", .uint32),
        ("int64", .int64), ("uint64", .uint64), ("half", .float16), ("float", .float32),
        ("double", .float64), ("bfloat16", .bfloat16), ("float16", .float16), ("float32", .float32),
        ("float64", .float64),
    ])
    func parses(name: String, expected: DataType) {
        #expect(DataType(name: name) == expected)
    }

    @Test("unknown names do not parse")
    func unknown() {
        #expect(DataType(name: "int16") == nil)
        #expect(DataType(name: "") == nil)
    }
}
