import XCTest
@testable import Analysis

final class SubgroupTableTests: XCTestCase {
    func testRowsMatchMetricsOfEachSubset() throws {
        var data = TestData(seed: 31)
        let count = 400
        let bias = (0..<count).map { _ in data.bernoulli(0.3) == 1 ? "1" : "0" }
        let site = (0..<count).map { _ in data.bernoulli(0.5) == 1 ? "A" : "B" }
        let labels = (0..<count).map { _ in data.bernoulli(0.5) }
        let samples = try ScoredSamples(labels: labels, scores: labels.map { data.score(label: $0, correctProbability: 0.8) })
        let groups = try SampleGroups.combining([bias, site])
        let table = try SubgroupTable(samples: samples, groups: groups, settings: BootstrapSettings(resamples: 100))

        XCTAssertEqual(table.rows.map(\.key), ["all", "0|A", "0|B", "1|A", "1|B"])
        XCTAssertEqual(table.rows.dropFirst().map(\.sampleCount).reduce(0, +), count)
        for row in table.rows {
            let members = row.key == SubgroupTable.overallKey ? Array(0..<count) : try groups.members(of: row.key)
            let direct = BinaryMetrics(try samples.subset(members))
            XCTAssertEqual(row.sampleCount, members.count)
            XCTAssertEqual(Double(row.positiveCount), direct.positives)
            for metric in BinaryMetric.allCases {
                let interval = try XCTUnwrap(row.metrics[metric])
                XCTAssertEqual(interval.estimate!, direct.value(of: metric)!, accuracy: 1e-12, "\(row.key) \(metric)")
                XCTAssertLessThanOrEqual(interval.lower!, interval.upper!)
            }
        }
        let overall = try XCTUnwrap(table.row("all")?.metrics[.accuracy])
        let smallGroup = try XCTUnwrap(table.row("1|B")?.metrics[.accuracy])
        XCTAssertLessThan(overall.upper! - overall.lower!, smallGroup.upper! - smallGroup.lower!,
                          "more samples, narrower interval")

        let disparities = try table.disparities(group: "1|A", referenceGroup: "0|A")
        XCTAssertEqual(disparities.count, 2)
        XCTAssertEqual(disparities[0].group, "1|A")
    }

    func testReservedKeyIsRejected() throws {
        let samples = try ScoredSamples(labels: [0, 1], scores: [0.2, 0.8])
        XCTAssertThrowsError(try SubgroupTable(samples: samples, groups: SampleGroups(["all", "x"])))
        XCTAssertThrowsError(try SubgroupTable(samples: samples, groups: SampleGroups(["x"])))
    }
}
