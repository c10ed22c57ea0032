import XCTest
@testable import Analysis

final class ReweighingTests: XCTestCase {
    /// SimBA's example: balanced classes, the bias in 70 % of class 1 and 30 %
    /// of class 0. P(y=1, b=1) = 0.35, so w(1,1) = 0.5 · 0.5 / 0.35 = 5/7 and
    /// w(1,0) = 0.5 · 0.5 / 0.15 = 5/3; symmetrically for class 0.
    func testSimbaSeventyThirtyExample() throws {
        let labels = Array(repeating: 1, count: 100) + Array(repeating: 0, count: 100)
        let groups = (0..<100).map { $0 < 70 ? "bias" : "none" } + (0..<100).map { $0 < 30 ? "bias" : "none" }
        let reweighing = try Reweighing(trainingLabels: labels, trainingGroups: groups)
        XCTAssertEqual(reweighing.weight(label: 1, group: "bias")!, 5.0 / 7, accuracy: 1e-15)
        XCTAssertEqual(reweighing.weight(label: 0, group: "none")!, 5.0 / 7, accuracy: 1e-15)
        XCTAssertEqual(reweighing.weight(label: 1, group: "none")!, 5.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(reweighing.weight(label: 0, group: "bias")!, 5.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(reweighing.weight(label: 1, group: "bias")!, 0.7142857, accuracy: 1e-7)
        XCTAssertEqual(reweighing.weight(label: 1, group: "none")!, 1.6666667, accuracy: 1e-7)

        // The weighted data are independent: weighted P(y=1 | b) = 0.5 in both groups.
        let weights = try reweighing.sampleWeights(labels: labels, groups: groups)
        for group in ["bias", "none"] {
            let members = groups.indices.filter { groups[$0] == group }
            let positive = members.filter { labels[$0] == 1 }.reduce(0.0) { $0 + weights[$1] }
            let total = members.reduce(0.0) { $0 + weights[$1] }
            XCTAssertEqual(positive / total, 0.5, accuracy: 1e-12)
        }
        // Total weight is preserved: Σ w = n.
        XCTAssertEqual(weights.reduce(0, +), 200, accuracy: 1e-9)
    }

    func testCombinedGroupsAndUnseenCells() throws {
        let labels = [1, 1, 0, 0, 1, 0]
        let groups = try SampleGroups.combining([["1", "1", "0", "0", "0", "1"], ["A", "A", "A", "B", "B", "B"]]).keys
        let reweighing = try Reweighing(trainingLabels: labels, trainingGroups: groups)
        // n = 6, n(y=1) = 3, n(b="1|A") = 2, n(y=1, b="1|A") = 2: w = 3 · 2 / (6 · 2) = 0.5.
        XCTAssertEqual(reweighing.weight(label: 1, group: "1|A")!, 0.5, accuracy: 1e-15)
        XCTAssertNil(reweighing.weight(label: 0, group: "1|A"))
        XCTAssertThrowsError(try reweighing.sampleWeights(labels: [0], groups: ["1|A"]))
    }
}
