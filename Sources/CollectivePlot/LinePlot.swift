#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line plot of a quantity against message size, written as SVG: a log-2 x axis of bytes,
/// a linear (bandwidth) or log-10 (time) y axis, one line per series, a legend, and axis labels
/// with units. Measured series are solid lines with a dot per point, predicted ones dashed, so
/// the two read apart in one picture.
///
/// The writer is deterministic (the same plot gives the same bytes) and depends on nothing: the
/// simulator's sweeps and the MPI runner's measurements draw through the same code.
public struct LinePlot: Sendable {
    /// How a series was obtained, which decides its line style.
    public enum Origin: String, Sendable, Hashable {
        /// Timed on a machine: a solid line with a dot at each point.
        case measured
        /// Computed by a model: a dashed line.
        case predicted
    }

    /// How the y axis maps values.
    public enum Scale: Sendable, Hashable {
        /// From 0 to a rounded maximum (bandwidths).
        case linear
        /// Powers of ten (times that span several decades).
        case log10
    }

    /// One line: a name for the legend and its points (x in bytes, y in the y axis' unit).
    public struct Series: Sendable {
        public var name: String
        public var origin: Origin
        public var points: [(bytes: Double, value: Double)]

        public init(name: String, origin: Origin, points: [(bytes: Double, value: Double)]) {
            self.name = name
            self.origin = origin
            self.points = points
        }
    }

    public var title: String
    /// The y axis' label, with its unit: `bus bandwidth (GB/s)`.
    public var yLabel: String
    public var yScale: Scale
    public var series: [Series]
    /// The x axis' label (the unit is in each tick label).
    public var xLabel = "message size per rank (bytes, log 2 scale)"
    public var widthPixels = 900
    public var heightPixels = 560

    public init(title: String, yLabel: String, yScale: Scale = .linear, series: [Series] = []) {
        self.title = title
        self.yLabel = yLabel
        self.yScale = yScale
        self.series = series
    }

    /// Line colours, one per distinct series name (a measured and a predicted series of the same
    /// name share a colour and differ in style). Colour-blind safe (Okabe and Ito's palette).
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    /// The plot area, in pixels from the top left corner.
    public var plotArea: (left: Double, top: Double, right: Double, bottom: Double) {
        (84, 48, Double(widthPixels) - 220, Double(heightPixels) - 64)
    }

    /// The x range, log 2 of bytes, over every point with a positive size.
    public var xRangeLog2: (low: Double, high: Double) {
        let xs = series.flatMap { $0.points.map(\.bytes) }.filter { $0 > 0 }.map { log2($0) }
        guard let lo = xs.min(), let hi = xs.max() else { return (0, 1) }
        return lo == hi ? (lo - 1, hi + 1) : (lo.rounded(.down), hi.rounded(.up))
    }

    /// The y axis' ticks (values), lowest first; the first and last bound the axis.
    public var yTicks: [Double] {
        let ys = series.flatMap { $0.points.map(\.value) }.filter { $0.isFinite && (yScale == .linear ? $0 >= 0 : $0 > 0) }
        switch yScale {
        case .linear:
            let top = ys.max() ?? 1
            let step = Self.niceStep(top > 0 ? top / 5 : 0.2)
            let n = Swift.max(1, Int((top / step).rounded(.up)))
            return (0...n).map { Double($0) * step }
        case .log10:
            guard let lo = ys.min(), let hi = ys.max() else { return [1, 10] }
            let a = Int(log10(lo).rounded(.down)), b = Swift.max(a + 1, Int(log10(hi).rounded(.up)))
            return (a...b).map { pow10($0) }
        }
    }

    /// The smallest of 1, 2, 5 x 10^k at or above `x` (> 0).
    static func niceStep(_ x: Double) -> Double {
        let k = Int(log10(x).rounded(.down))
        let base = pow10(k)
        for m in [1.0, 2, 5, 10] where m * base >= x * (1 - 1e-12) { return m * base }
        return 10 * base
    }

    /// Pixel x of a size in bytes.
    public func pixelX(bytes: Double) -> Double {
        let (lo, hi) = xRangeLog2
        let a = plotArea
        return a.left + (log2(Swift.max(bytes, 1e-300)) - lo) / (hi - lo) * (a.right - a.left)
    }

    /// Pixel y of a value, given the y ticks (``yTicks``).
    public func pixelY(_ value: Double, ticks: [Double]) -> Double {
        let a = plotArea
        let lo = ticks.first ?? 0, hi = ticks.last ?? 1
        let f: Double
        switch yScale {
        case .linear: f = hi > lo ? (value - lo) / (hi - lo) : 0
        case .log10: f = (log10(Swift.max(value, lo)) - log10(lo)) / (log10(hi) - log10(lo))
        }
        return a.bottom - f * (a.bottom - a.top)
    }

    /// The whole picture as an SVG document.
    public func svg() -> String {
        let a = plotArea
        let ticks = yTicks
        var w = SVGWriter(width: widthPixels, height: heightPixels)
        w.rect(x: 0, y: 0, width: Double(widthPixels), height: Double(heightPixels), fill: "#ffffff")
        w.text(title, x: (a.left + a.right) / 2, y: 28, anchor: "middle", size: 17, weight: "bold", cls: "title")

        // Grid and y ticks.
        w.open("g", ["class": "y-axis"])
        for t in ticks {
            let y = pixelY(t, ticks: ticks)
            w.line(x1: a.left, y1: y, x2: a.right, y2: y, stroke: "#e4e4e4", width: 1)
            w.text(Self.formatValue(t), x: a.left - 8, y: y + 4, anchor: "end", size: 12, cls: "tick")
        }
        w.text(yLabel, x: 22, y: (a.top + a.bottom) / 2, anchor: "middle", size: 14, cls: "axis-label",
               transform: "rotate(-90 22 \(SVGWriter.number((a.top + a.bottom) / 2)))")
        w.close("g")

        // x ticks at powers of two, at most about ten labels.
        let (lo, hi) = xRangeLog2
        let span = Int(hi - lo)
        let every = Swift.max(1, (span + 9) / 10)
        w.open("g", ["class": "x-axis"])
        var k = Int(lo)
        while k <= Int(hi) {
            let x = pixelX(bytes: pow2(k))
            w.line(x1: x, y1: a.top, x2: x, y2: a.bottom, stroke: "#f0f0f0", width: 1)
            w.line(x1: x, y1: a.bottom, x2: x, y2: a.bottom + 5, stroke: "#333333", width: 1)
            w.text(Self.formatBytes(k), x: x, y: a.bottom + 20, anchor: "middle", size: 12, cls: "tick")
            k += every
        }
        w.text(xLabel, x: (a.left + a.right) / 2, y: a.bottom + 46, anchor: "middle", size: 14, cls: "axis-label")
        w.close("g")
        w.line(x1: a.left, y1: a.bottom, x2: a.right, y2: a.bottom, stroke: "#333333", width: 1.5)
        w.line(x1: a.left, y1: a.top, x2: a.left, y2: a.bottom, stroke: "#333333", width: 1.5)

        // Lines.
        let colours = colourByName
        for s in series {
            let colour = colours[s.name] ?? "#000000"
            let pts = s.points.filter { $0.bytes > 0 && $0.value.isFinite && (yScale == .linear || $0.value > 0) }
            w.open("g", ["class": "series", "data-name": s.name, "data-origin": s.origin.rawValue])
            let coordinates = pts.map { "\(SVGWriter.number(pixelX(bytes: $0.bytes))),\(SVGWriter.number(pixelY($0.value, ticks: ticks)))" }
            w.polyline(coordinates.joined(separator: " "), stroke: colour, width: 2.2, dashed: s.origin == .predicted)
            if s.origin == .measured {
                for p in pts { w.circle(x: pixelX(bytes: p.bytes), y: pixelY(p.value, ticks: ticks), r: 3.2, fill: colour) }
            }
            w.close("g")
        }

        // Legend: one entry per series, the line drawn as in the plot.
        w.open("g", ["class": "legend"])
        let lx = a.right + 18
        for (i, s) in series.enumerated() {
            let y = a.top + 10 + Double(i) * 22
            let colour = colours[s.name] ?? "#000000"
            w.line(x1: lx, y1: y, x2: lx + 30, y2: y, stroke: colour, width: 2.2, dashed: s.origin == .predicted)
            if s.origin == .measured { w.circle(x: lx + 15, y: y, r: 3.2, fill: colour) }
            w.text("\(s.name) (\(s.origin.rawValue))", x: lx + 38, y: y + 4, anchor: "start", size: 12, cls: "legend-entry")
        }
        w.close("g")
        return w.finish()
    }

    /// The colour of each series name, in order of first appearance.
    var colourByName: [String: String] {
        var out: [String: String] = [:]
        for s in series where out[s.name] == nil { out[s.name] = Self.palette[out.count % Self.palette.count] }
        return out
    }

    /// `8 B`, `64 KiB`, `1 GiB` for 2^k bytes (k >= 0); `2^-3 B` below one byte.
    public static func formatBytes(_ log2Bytes: Int) -> String {
        guard log2Bytes >= 0 else { return "2^\(log2Bytes) B" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        let u = Swift.min(log2Bytes / 10, units.count - 1)
        return "\(Int(pow2(log2Bytes - 10 * u))) \(units[u])"
    }

    /// A tick value: integers plainly, others with up to three significant decimals.
    public static func formatValue(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return "\(Int(v))" }
        return SVGWriter.number(v, decimals: v < 0.01 ? 6 : 3)
    }
}

@inline(__always) func pow2(_ k: Int) -> Double { k >= 0 ? Double(sign: .plus, exponent: k, significand: 1) : 1 / Double(sign: .plus, exponent: -k, significand: 1) }

func pow10(_ k: Int) -> Double {
    var r = 1.0
    if k >= 0 { for _ in 0..<k { r *= 10 } } else { for _ in 0..<(-k) { r /= 10 } }
    return r
}

/// What a plot against size shows on its y axis.
public enum SizePlotQuantity: String, CaseIterable, Sendable, Hashable {
    /// nccl-tests' bus bandwidth, GB/s, on a linear axis.
    case busbw
    /// Time of one allreduce, microseconds, on a log-10 axis (times span decades).
    case time

    public var axisLabel: String {
        switch self {
        case .busbw: "bus bandwidth (GB/s)"
        case .time: "time per allreduce (us)"
        }
    }

    public var scale: LinePlot.Scale { self == .busbw ? .linear : .log10 }
}

/// One point of a line against size: bytes per rank, time and bus bandwidth.
public struct SizePoint: Sendable, Hashable {
    public var bytes: Int
    public var timeSeconds: Double
    public var busbwGBps: Double

    public init(bytes: Int, timeSeconds: Double, busbwGBps: Double) {
        self.bytes = bytes
        self.timeSeconds = timeSeconds
        self.busbwGBps = busbwGBps
    }
}

extension LinePlot {
    /// A plot of `quantity` against size: one series per line, in the order given.
    public init(title: String, quantity: SizePlotQuantity, lines: [(name: String, origin: Origin, points: [SizePoint])]) {
        self.init(title: title, yLabel: quantity.axisLabel, yScale: quantity.scale)
        series = lines.map { line in
            Series(name: line.name, origin: line.origin, points: line.points.map {
                (Double($0.bytes), quantity == .busbw ? $0.busbwGBps : $0.timeSeconds * 1e6)
            })
        }
    }
}
