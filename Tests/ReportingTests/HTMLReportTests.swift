@testable import Reporting
import Foundation
import XCTest

final class HTMLReportTests: XCTestCase {
    func testReportIsSelfContainedAndEscaped() throws {
        var report = HTMLReport(title: "Bias <experiment> & twin")
        report.heading("Subgroup metrics")
        report.table(["group", "TPR"], [["bias", "0.912"], ["no bias <b>", "0.700"]], caption: "test split", numeric: [1])
        report.chart(SVGChart(title: "validation loss", xLabel: "epoch", yLabel: "loss",
                              series: [.init(name: "biased", points: [(1, 0.69), (2, 0.5), (3, 0.41)]),
                                       .init(name: "twin", points: [(1, 0.7), (2, 0.55), (3, 0.47)], dashed: true)]))
        report.image(png: [0x89, 0x50, 0x4E, 0x47], caption: "slices")
        let html = report.html
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<title>Bias &lt;experiment&gt; &amp; twin</title>"))
        XCTAssertTrue(html.contains("<td class=\"num\">0.912</td>"))
        XCTAssertTrue(html.contains("no bias &lt;b&gt;"))
        XCTAssertTrue(html.contains("<polyline"))
        XCTAssertTrue(html.contains("stroke-dasharray"))
        XCTAssertTrue(html.contains("src=\"data:image/png;base64,iVBORw==\""))
        // Nothing is fetched from elsewhere: no external scripts, styles or images.
        XCTAssertFalse(html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"))
        XCTAssertFalse(html.contains("<script src"))
        XCTAssertFalse(html.contains("<link"))
    }

    func testChartPlacesPointsWithinThePlotAndDrawsIntervals() {
        let chart = SVGChart(title: "TPR by group", xLabel: "group", yLabel: "TPR",
                             series: [.init(name: "biased", points: [(0, 0.9), (1, 0.6)],
                                            intervals: [(0.85, 0.95), (0.5, 0.7)])],
                             categories: ["bias", "no bias"], lines: false)
        let svg = chart.svg
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 2)
        XCTAssertEqual(svg.components(separatedBy: "<line").count - 1, 2 + chart.ticks(chart.bounds().y).count)
        XCTAssertTrue(svg.contains(">bias<") && svg.contains(">no bias<"))
        XCTAssertFalse(svg.contains("<polyline"))
        // Every circle lies inside the plot rectangle.
        let pattern = try! NSRegularExpression(pattern: "cx=\"([0-9.]+)\" cy=\"([0-9.]+)\"")
        for match in pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)) {
            let x = Double(svg[Range(match.range(at: 1), in: svg)!])!, y = Double(svg[Range(match.range(at: 2), in: svg)!])!
            XCTAssertTrue((58...508).contains(x) && (24...258).contains(y), "(\(x), \(y))")
        }
    }

    func testTicksAreRound() {
        let chart = SVGChart(title: "", xLabel: "", yLabel: "", series: [])
        let unit = chart.ticks(0...1)
        XCTAssertEqual(unit.count, 6)
        for (tick, expected) in zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1]) { XCTAssertEqual(tick, expected, accuracy: 1e-12) }
        XCTAssertEqual(chart.ticks(0...47), [0, 10, 20, 30, 40])
        XCTAssertEqual(chart.label(0.5), "0.5")
        XCTAssertEqual(chart.label(12), "12")
    }
}
