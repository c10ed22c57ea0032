import Foundation

/// A small chart drawn as inline SVG: line series (training curves, sweep
/// curves) or points with error bars (metrics with confidence intervals).
public struct SVGChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Optional (low, high) per point, drawn as error bars.
        public var intervals: [(low: Double, high: Double)]?
        public var dashed = false
        /// Whether the chart's lines join this series' points (false: the
        /// points alone, e.g. values whose trend would mean nothing).
        public var joined = true

        public init(name: String, points: [(x: Double, y: Double)], intervals: [(low: Double, high: Double)]? = nil,
                    dashed: Bool = false, joined: Bool = true) {
            self.name = name
            self.points = points
            self.intervals = intervals
            self.dashed = dashed
            self.joined = joined
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Category names for the x positions 0, 1, 2… (grouped metrics); nil for numeric x.
    public var categories: [String]?
    public var width = 520
    public var height = 300
    /// Connect points with lines (false: points and error bars only).
    public var lines = true

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String, series: [Series], categories: [String]? = nil,
                lines: Bool = true) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.categories = categories
        self.lines = lines
    }

    /// Nice axis bounds covering every point and interval.
    func bounds() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let xs = series.flatMap { $0.points.map(\.x) }
        var ys = series.flatMap { $0.points.map(\.y) }
        ys += series.flatMap { ($0.intervals ?? []).flatMap { [$0.low, $0.high] } }
        let finiteX = xs.filter(\.isFinite), finiteY = ys.filter(\.isFinite)
        var xRange = (finiteX.min() ?? 0)...(finiteX.max() ?? 1)
        var yRange = (finiteY.min() ?? 0)...(finiteY.max() ?? 1)
        if categories != nil { xRange = -0.5...(Double(max(categories!.count, 1)) - 0.5) }
        if xRange.lowerBound == xRange.upperBound { xRange = (xRange.lowerBound - 1)...(xRange.upperBound + 1) }
        if yRange.lowerBound == yRange.upperBound { yRange = (yRange.lowerBound - 1)...(yRange.upperBound + 1) }
        let pad = (yRange.upperBound - yRange.lowerBound) * 0.05
        return (xRange, (yRange.lowerBound - pad)...(yRange.upperBound + pad))
    }

    public var svg: String {
        let left = 58.0, right = 12.0, top = 24.0, bottom = 42.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        let (xRange, yRange) = bounds()
        func px(_ x: Double) -> Double {
            left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth
        }
        func py(_ y: Double) -> Double {
            top + (yRange.upperBound - y) / (yRange.upperBound - yRange.lowerBound) * plotHeight
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var parts: [String] = []
        parts.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"\(escape(title))\">")
        parts.append("<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#999\"/>")
        for tick in ticks(yRange) {
            parts.append("<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(py(tick)))\" y2=\"\(f(py(tick)))\" stroke=\"#eee\"/>")
            parts.append("<text x=\"\(f(left - 4))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">\(label(tick))</text>")
        }
        if let categories {
            for (index, name) in categories.enumerated() {
                parts.append("<text x=\"\(f(px(Double(index))))\" y=\"\(f(top + plotHeight + 14))\" text-anchor=\"middle\">\(escape(name))</text>")
            }
        } else {
            for tick in ticks(xRange) {
                parts.append("<text x=\"\(f(px(tick)))\" y=\"\(f(top + plotHeight + 14))\" text-anchor=\"middle\">\(label(tick))</text>")
            }
        }
        parts.append("<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(Double(height) - 6))\" text-anchor=\"middle\">\(escape(xLabel))</text>")
        parts.append("<text transform=\"translate(12 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>")
        let offsetStep = categories != nil && series.count > 1 ? 0.6 / Double(series.count) : 0
        for (index, entry) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let offset = offsetStep * (Double(index) - Double(series.count - 1) / 2)
            let points = entry.points.filter { $0.x.isFinite && $0.y.isFinite }
            if lines && entry.joined && points.count > 1 {
                let path = points.map { "\(f(px($0.x + offset))),\(f(py($0.y)))" }.joined(separator: " ")
                parts.append("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(entry.dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(path)\"/>")
            }
            for (pointIndex, point) in entry.points.enumerated() where point.x.isFinite && point.y.isFinite {
                let x = px(point.x + offset)
                if let interval = entry.intervals?[pointIndex], interval.low.isFinite, interval.high.isFinite {
                    parts.append("<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(py(interval.low)))\" y2=\"\(f(py(interval.high)))\" stroke=\"\(color)\"/>")
                }
                parts.append("<circle cx=\"\(f(x))\" cy=\"\(f(py(point.y)))\" r=\"\(lines && points.count > 30 ? 1.5 : 3)\" fill=\"\(color)\"><title>\(escape(entry.name)): \(label(point.y))</title></circle>")
            }
            parts.append("<text x=\"\(f(left + 8))\" y=\"\(f(top + 14 + 14 * Double(index)))\" fill=\"\(color)\">\(escape(entry.name))</text>")
        }
        parts.append("</svg>")
        return parts.joined()
    }

    /// About five round tick values inside `range`.
    func ticks(_ range: ClosedRange<Double>) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [] }
        let raw = span / 5
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? magnitude * 10
        var tick = (range.lowerBound / step).rounded(.up) * step
        var result: [Double] = []
        while tick <= range.upperBound + step * 1e-9 {
            result.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return result
    }

    func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: abs(value) < 0.01 ? "%.2e" : "%.3g", value)
    }
}
