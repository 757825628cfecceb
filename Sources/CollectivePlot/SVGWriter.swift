/// Builds an SVG document element by element: the few shapes a line plot needs, with numbers
/// written at fixed precision and text escaped, so that the same calls give the same bytes.
public struct SVGWriter: Sendable {
    var out: String
    var depth = 1

    public init(width: Int, height: Int) {
        out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"Helvetica, Arial, sans-serif\">\n"
    }

    mutating func emit(_ line: String) {
        out += String(repeating: "  ", count: depth) + line + "\n"
    }

    /// Opens a group (or any container element) with attributes, sorted by name.
    public mutating func open(_ element: String, _ attributes: [String: String] = [:]) {
        emit("<\(element)\(Self.attributes(attributes))>")
        depth += 1
    }

    public mutating func close(_ element: String) {
        depth -= 1
        emit("</\(element)>")
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String) {
        emit("<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"\(fill)\"/>")
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double, dashed: Bool = false) {
        let dash = dashed ? " stroke-dasharray=\"7 4\"" : ""
        emit("<line x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" y2=\"\(Self.number(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\"\(dash)/>")
    }

    /// `points`: `x,y x,y ...`, already formatted.
    public mutating func polyline(_ points: String, stroke: String, width: Double, dashed: Bool = false) {
        let dash = dashed ? " stroke-dasharray=\"7 4\"" : ""
        emit("<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\" stroke-linejoin=\"round\"\(dash)/>")
    }

    public mutating func circle(x: Double, y: Double, r: Double, fill: String) {
        emit("<circle cx=\"\(Self.number(x))\" cy=\"\(Self.number(y))\" r=\"\(Self.number(r))\" fill=\"\(fill)\"/>")
    }

    public mutating func text(_ content: String, x: Double, y: Double, anchor: String, size: Double, weight: String? = nil,
                              cls: String, transform: String? = nil) {
        var a = "x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" text-anchor=\"\(anchor)\" font-size=\"\(Self.number(size))\" class=\"\(cls)\""
        if let weight { a += " font-weight=\"\(weight)\"" }
        if let transform { a += " transform=\"\(transform)\"" }
        emit("<text \(a)>\(Self.escape(content))</text>")
    }

    /// The document, closed.
    public mutating func finish() -> String {
        while depth > 1 { close("g") }
        return out + "</svg>\n"
    }

    /// ` a="1" b="2"`, sorted by name, values escaped.
    static func attributes(_ a: [String: String]) -> String {
        a.keys.sorted().map { " \($0)=\"\(escape(a[$0]!))\"" }.joined()
    }

    /// Text safe inside an element or a quoted attribute.
    public static func escape(_ s: String) -> String {
        var r = ""
        for c in s {
            switch c {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            case "'": r += "&apos;"
            default: r.append(c)
            }
        }
        return r
    }

    /// `x` rounded to `decimals` places, without trailing zeros: `12.5`, `3`, `-0.25`.
    public static func number(_ x: Double, decimals: Int = 2) -> String {
        guard x.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e15 else { return "\(Int(x.rounded()))" }
        let n = Int(scaled)
        let whole = n / Int(scale), frac = n % Int(scale)
        var s = (x < 0 && n != 0 ? "-" : "") + "\(whole)"
        if frac != 0 {
            var f = String(frac)
            f = String(repeating: "0", count: decimals - f.count) + f
            while f.hasSuffix("0") { f.removeLast() }
            s += "." + f
        }
        return s
    }
}
