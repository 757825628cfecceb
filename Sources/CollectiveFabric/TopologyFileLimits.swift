import CYaml
import Yams

extension Topology.Limits {
    /// The largest topology file read (1 MiB; a preset's file is under 1 KiB).
    public static let maxFileBytes = 1 << 20
    /// The deepest nesting of objects and arrays (mappings and sequences) in a file; a topology
    /// file nests four levels.
    public static let maxNestingDepth = 32
    /// The most values (every scalar, object and array, YAML aliases counted each time they are
    /// used) a file may hold.
    public static let maxFileValues = 200_000
}

/// A JSON reader for topology files: the JSON grammar (RFC 8259) into ``JSONValue``, with the
/// line and column of the first error, a bound on nesting (``Topology/Limits/maxNestingDepth``),
/// and duplicate keys refused (JSONDecoder keeps the first silently).
struct _JSONParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0
    var values = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Line and column (1-based, columns in bytes) of offset `at`.
    func position(_ at: Int) -> (line: Int, column: Int) {
        var line = 1, start = 0
        for k in 0..<Swift.min(at, bytes.count) where bytes[k] == UInt8(ascii: "\n") { line += 1; start = k + 1 }
        return (line, at - start + 1)
    }

    struct Failure: Error { var offset: Int; var message: String }

    func fail(_ message: String, at: Int? = nil) -> Failure { Failure(offset: at ?? i, message: message) }

    mutating func document() throws(Failure) -> JSONValue {
        skipSpace()
        let v = try value()
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected text after the end of the document") }
        return v
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    func describe(_ at: Int) -> String {
        guard at < bytes.count else { return "the end of the file" }
        let b = bytes[at]
        return b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    mutating func value() throws(Failure) -> JSONValue {
        values += 1
        guard values <= Topology.Limits.maxFileValues else { throw fail("more than \(Topology.Limits.maxFileValues) values") }
        guard i < bytes.count else { throw fail("expected a value, found the end of the file") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try container(object: true)
        case UInt8(ascii: "["): return try container(object: false)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("expected a value, found \(describe(i))")
        }
    }

    mutating func literal(_ word: String) throws(Failure) {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw fail("expected a value, found \(describe(i))") }
        i += w.count
    }

    mutating func container(object: Bool) throws(Failure) -> JSONValue {
        depth += 1
        guard depth <= Topology.Limits.maxNestingDepth else { throw fail("nested deeper than \(Topology.Limits.maxNestingDepth) levels") }
        defer { depth -= 1 }
        let close = UInt8(ascii: object ? "}" : "]")
        i += 1
        var members: [String: JSONValue] = [:]
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count && bytes[i] == close {
            i += 1
            return object ? .object(members) : .array(items)
        }
        while true {
            skipSpace()
            if object {
                let keyAt = i
                guard i < bytes.count && bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key in double quotes, found \(describe(i))") }
                let key = try string()
                guard members[key] == nil else { throw fail("duplicate key \"\(key)\"", at: keyAt) }
                skipSpace()
                guard i < bytes.count && bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after the key, found \(describe(i))") }
                i += 1
                skipSpace()
                members[key] = try value()
            } else {
                items.append(try value())
            }
            skipSpace()
            guard i < bytes.count else { throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))', found the end of the file") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == close { i += 1; break }
            throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(describe(i))")
        }
        return object ? .object(members) : .array(items)
    }

    mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("incomplete \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    mutating func string() throws(Failure) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string", at: start) }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in a string (escape it)") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("unterminated string", at: start) }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00, i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("invalid surrogate pair in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape (a lone surrogate)") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: i - 2)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func number() throws(Failure) -> Double {
        let start = i
        func digits() -> Int {
            let s = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") else { throw fail("expected a digit after '-'") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { _ = digits() }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("expected a digit after '.'") }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw fail("number \(text) is out of range", at: start) }
        return d
    }
}

extension _YAML {
    /// Checks a YAML text against the nesting and value bounds before Yams composes it (Yams
    /// composes recursively, so a deep document would overflow the stack, and aliases are shared
    /// nodes, so a few bytes can stand for billions of values). Reads libyaml's event stream
    /// (`CYaml`, the libyaml Yams builds), which needs no recursion: depth is the open mappings and
    /// sequences; each alias counts as many values as its anchor's node expands to. Returns nil
    /// when the text is within bounds or is not valid YAML (Yams reports that, with its position).
    static func boundsViolation(_ text: String) -> (line: Int, message: String)? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> (line: Int, message: String)? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            var values = 0
            var open: [(anchor: String?, valuesAtStart: Int)] = []
            var anchorValues: [String: Int] = [:]
            func anchorName(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    values += 1
                    if let a = anchorName(event.data.scalar.anchor) { anchorValues[a] = 1 }
                case YAML_ALIAS_EVENT:
                    values += anchorName(event.data.alias.anchor).flatMap { anchorValues[$0] } ?? 1
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    values += 1
                    depth += 1
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT
                        ? anchorName(event.data.sequence_start.anchor) : anchorName(event.data.mapping_start.anchor)
                    open.append((anchor, values - 1))
                    if depth > Topology.Limits.maxNestingDepth {
                        return (line, "nested deeper than \(Topology.Limits.maxNestingDepth) levels")
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                    if let top = open.popLast(), let anchor = top.anchor { anchorValues[anchor] = values - top.valuesAtStart }
                default:
                    break
                }
                if values > Topology.Limits.maxFileValues {
                    return (line, "more than \(Topology.Limits.maxFileValues) values (aliases count each time they are used)")
                }
            }
        }
    }
}
