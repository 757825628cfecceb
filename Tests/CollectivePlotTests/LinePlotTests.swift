import CollectivePlot
import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Collects the elements of an SVG document: name, attributes and text, in document order.
final class SVGElements: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
        /// `class` attributes of the enclosing elements, innermost last.
        var enclosing: [String]
    }
    var elements: [Element] = []
    var stack: [Int] = []

    static func parse(_ svg: String) throws -> SVGElements {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = SVGElements()
        parser.delegate = collector
        guard parser.parse() else { throw parser.parserError ?? CocoaError(.fileReadCorruptFile) }
        return collector
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
                attributes attributeDict: [String: String] = [:]) {
        let enclosing = stack.compactMap { elements[$0].attributes["class"] }
        elements.append(Element(name: elementName, attributes: attributeDict, enclosing: enclosing))
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let i = stack.last { elements[i].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        stack.removeLast()
    }

    func all(_ name: String, in cls: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (cls == nil || $0.enclosing.contains(cls!)) }
    }
}

/// `x,y x,y` as pairs.
func coordinates(_ points: String) -> [(x: Double, y: Double)] {
    points.split(separator: " ").map { pair in
        let xy = pair.split(separator: ",").map { Double($0)! }
        return (xy[0], xy[1])
    }
}

@Suite("SVG line plots")
struct LinePlotTests {
    static let sizes: [Double] = (3...30).filter { $0 % 3 == 0 }.map { Double(1 << $0) }

    static func plot() -> LinePlot {
        var p = LinePlot(title: "allreduce on dgx-h100 x 4", yLabel: "bus bandwidth (GB/s)")
        p.series = [
            .init(name: "ring", origin: .predicted, points: sizes.enumerated().map { ($1, Double($0) * 5) }),
            .init(name: "tree <&>", origin: .predicted, points: sizes.enumerated().map { ($1, Double($0) * 3.5 + 1) }),
            .init(name: "ring", origin: .measured, points: sizes.prefix(6).enumerated().map { ($1, Double($0) * 4.4) }),
        ]
        return p
    }

    @Test("the document parses as XML, with one group, line and legend entry per series")
    func structure() throws {
        let p = Self.plot()
        let doc = try SVGElements.parse(p.svg())
        let root = try #require(doc.elements.first)
        #expect(root.name == "svg")
        #expect(root.attributes["width"] == "\(p.widthPixels)" && root.attributes["height"] == "\(p.heightPixels)")
        let groups = doc.all("g").filter { $0.attributes["class"] == "series" }
        #expect(groups.map { $0.attributes["data-name"]! } == ["ring", "tree <&>", "ring"])
        #expect(groups.map { $0.attributes["data-origin"]! } == ["predicted", "predicted", "measured"])
        let lines = doc.all("polyline", in: "series")
        #expect(lines.count == 3)
        #expect(lines.map { coordinates($0.attributes["points"]!).count } == [10, 10, 6])
        // Predicted dashed, measured solid with a dot per point.
        #expect(lines.map { $0.attributes["stroke-dasharray"] != nil } == [true, true, false])
        #expect(doc.all("circle", in: "series").count == 6)
        // The same name keeps its colour across origins.
        #expect(lines[0].attributes["stroke"] == lines[2].attributes["stroke"])
        #expect(lines[0].attributes["stroke"] != lines[1].attributes["stroke"])
        let legend = doc.all("text", in: "legend").map(\.text)
        #expect(legend == ["ring (predicted)", "tree <&> (predicted)", "ring (measured)"])
        #expect(doc.all("line", in: "legend").map { $0.attributes["stroke-dasharray"] != nil } == [true, true, false])
    }

    @Test("axis labels carry units; x ticks are powers of two in bytes")
    func axes() throws {
        let doc = try SVGElements.parse(Self.plot().svg())
        let labels = doc.all("text").filter { $0.attributes["class"] == "axis-label" }.map(\.text)
        #expect(labels.contains("bus bandwidth (GB/s)"))
        #expect(labels.contains { $0.contains("bytes") && $0.contains("log 2") })
        let xTicks = doc.all("text", in: "x-axis").filter { $0.attributes["class"] == "tick" }.map(\.text)
        #expect(xTicks.first == "8 B")
        #expect(xTicks.contains("1 KiB") || xTicks.contains("4 KiB"))
        #expect(xTicks.last == "1 GiB")
        #expect(xTicks.count <= 12)
    }

    @Test("x is log 2 of the size: doubling the size moves by the same distance")
    func logX() throws {
        let doc = try SVGElements.parse(Self.plot().svg())
        let pts = coordinates(try #require(doc.all("polyline", in: "series").first).attributes["points"]!)
        let steps = zip(pts.dropFirst(), pts).map { $0.x - $1.x }
        #expect(steps.allSatisfy { $0 > 0 })
        #expect(steps.max()! - steps.min()! <= 0.02)
    }

    @Test("y is linear from 0: the highest value is lowest on the page, 0 on the x axis")
    func linearY() throws {
        let p = Self.plot()
        let ticks = p.yTicks
        #expect(ticks.first == 0)
        #expect(ticks.last! >= 45)
        #expect(p.pixelY(0, ticks: ticks) == p.plotArea.bottom)
        #expect(p.pixelY(ticks.last!, ticks: ticks) == p.plotArea.top)
        let doc = try SVGElements.parse(p.svg())
        let ring = coordinates(try #require(doc.all("polyline", in: "series").first).attributes["points"]!)
        #expect(zip(ring.dropFirst(), ring).allSatisfy { $0.y < $1.y })
        #expect(abs(ring[0].y - p.plotArea.bottom) < 0.01)
    }

    @Test("a log 10 y axis has a tick per decade around the data")
    func logY() {
        var p = LinePlot(title: "t", yLabel: "time (us)", yScale: .log10)
        p.series = [.init(name: "a", origin: .predicted, points: [(bytes: 8.0, value: 12.5), (bytes: 1048576.0, value: 3400.0)])]
        #expect(p.yTicks == [10, 100, 1000, 10000])
        let t = p.yTicks
        #expect(abs(p.pixelY(100, ticks: t) - (p.plotArea.bottom - (p.plotArea.bottom - p.plotArea.top) / 3)) < 1e-9)
    }

    @Test("the same plot gives the same bytes")
    func deterministic() {
        #expect(Self.plot().svg() == Self.plot().svg())
    }

    @Test("labels and numbers")
    func formatting() {
        #expect(LinePlot.formatBytes(3) == "8 B")
        #expect(LinePlot.formatBytes(10) == "1 KiB")
        #expect(LinePlot.formatBytes(25) == "32 MiB")
        #expect(LinePlot.formatBytes(33) == "8 GiB")
        #expect(SVGWriter.number(12.499) == "12.5")
        #expect(SVGWriter.number(3) == "3")
        #expect(SVGWriter.number(-0.004) == "0")
        #expect(SVGWriter.number(-0.25) == "-0.25")
        #expect(SVGWriter.escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;")
        #expect(LinePlot.formatValue(2.5) == "2.5")
        #expect(LinePlot.formatValue(40) == "40")
    }
}
