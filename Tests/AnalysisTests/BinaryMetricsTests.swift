import XCTest
@testable import Analysis

final class BinaryMetricsTests: XCTestCase {
    // Worked by hand. Predictions (score > 0.5): 1 1 0 1 0 0 0 0
    // (the two 0.5 scores go to class 0). TP = 2 (#0, #1), FN = 2 (#2, #6),
    // FP = 1 (#3), TN = 3 (#4, #5, #7).
    let labels = [1, 1, 1, 0, 0, 0, 1, 0]
    let scores = [0.9, 0.6, 0.4, 0.7, 0.2, 0.5, 0.5, 0.1]

    func testConfusionMetricsOnHandWorkedExample() throws {
        let metrics = BinaryMetrics(try ScoredSamples(labels: labels, scores: scores))
        XCTAssertEqual(metrics.truePositives, 2)
        XCTAssertEqual(metrics.falseNegatives, 2)
        XCTAssertEqual(metrics.falsePositives, 1)
        XCTAssertEqual(metrics.trueNegatives, 3)
        XCTAssertEqual(metrics.accuracy!, 5.0 / 8, accuracy: 1e-15)
        XCTAssertEqual(metrics.truePositiveRate!, 0.5, accuracy: 1e-15)
        XCTAssertEqual(metrics.trueNegativeRate!, 0.75, accuracy: 1e-15)
        XCTAssertEqual(metrics.falsePositiveRate!, 0.25, accuracy: 1e-15)
        XCTAssertEqual(metrics.precision!, 2.0 / 3, accuracy: 1e-15)
        // Positives ranked 0.9, 0.6, 0.5, 0.4 against negatives 0.7, 0.5, 0.2, 0.1:
        // pairs won 4 + 3 + (2 + ½ tie) + 2 = 11.5 of 16.
        XCTAssertEqual(metrics.areaUnderROC!, 11.5 / 16, accuracy: 1e-15)
        // Thresholds 0.9 (R ¼, P 1), 0.7 (R ¼), 0.6 (R ½, P ⅔), 0.5 (R ¾, P ⅗), 0.4 (R 1, P ⅔):
        // AP = ¼·1 + ¼·⅔ + ¼·⅗ + ¼·⅔ = 0.7333…; sklearn 1.9.1 agrees (0.7333333333333333).
        XCTAssertEqual(metrics.averagePrecision!, 0.7333333333333333, accuracy: 1e-12)
    }

    func testWeightsActAsRepetitions() throws {
        let weights = [2.0, 1, 3, 1, 0, 2, 1, 1]
        let weighted = BinaryMetrics(try ScoredSamples(labels: labels, scores: scores, weights: weights))
        let repeatedIndices = weights.enumerated().flatMap { Array(repeating: $0.offset, count: Int($0.element)) }
        let repeated = BinaryMetrics(try ScoredSamples(labels: labels, scores: scores).subset(repeatedIndices))
        for metric in BinaryMetric.allCases {
            XCTAssertEqual(weighted.value(of: metric)!, repeated.value(of: metric)!, accuracy: 1e-12, "\(metric)")
        }
    }

    func testScoreOfExactlyOneHalfIsClassZero() {
        XCTAssertEqual(ScoredSamples.predictedLabel(score: 0.5), 0)
        XCTAssertEqual(ScoredSamples.predictedLabel(score: 0.5.nextUp), 1)
    }

    func testAveragePrecisionAndAUROCMatchSklearnWithTies() throws {
        // Reference: sklearn 1.9.1 average_precision_score / roc_auc_score on these arrays.
        let labels = [0, 1, 1, 0, 1, 0, 1, 1, 0, 0]
        let scores = [0.9, 0.9, 0.8, 0.8, 0.8, 0.4, 0.4, 0.1, 0.1, 0.3]
        let weights = [1, 2, 0.5, 1, 1, 3, 1, 1, 0.5, 2]
        let plain = BinaryMetrics(try ScoredSamples(labels: labels, scores: scores))
        XCTAssertEqual(plain.averagePrecision!, 0.5542857142857143, accuracy: 1e-12)
        XCTAssertEqual(plain.areaUnderROC!, 0.58, accuracy: 1e-12)
        let weighted = BinaryMetrics(try ScoredSamples(labels: labels, scores: scores, weights: weights))
        XCTAssertEqual(weighted.averagePrecision!, 0.5790254402694595, accuracy: 1e-12)
        XCTAssertEqual(weighted.areaUnderROC!, 0.6606060606060606, accuracy: 1e-12)
    }

    func testAUROCEqualsNaivePairCount() throws {
        var data = TestData(seed: 11)
        for _ in 0..<5 {
            let count = 150
            let labels = (0..<count).map { _ in data.bernoulli(0.4) }
            let scores = labels.map { data.score(label: $0, correctProbability: 0.7) }
            let weights = (0..<count).map { _ in 0.5 + data.uniform() }
            var won = 0.0, pairs = 0.0
            for i in 0..<count where labels[i] == 1 {
                for j in 0..<count where labels[j] == 0 {
                    let pair = weights[i] * weights[j]
                    pairs += pair
                    if scores[i] > scores[j] { won += pair } else if scores[i] == scores[j] { won += pair / 2 }
                }
            }
            let metrics = BinaryMetrics(try ScoredSamples(labels: labels, scores: scores, weights: weights))
            XCTAssertEqual(metrics.areaUnderROC!, won / pairs, accuracy: 1e-12)
        }
    }

    func testUndefinedMetricsAreNil() throws {
        let onlyPositives = BinaryMetrics(try ScoredSamples(labels: [1, 1], scores: [0.2, 0.9]))
        XCTAssertEqual(onlyPositives.truePositiveRate, 0.5)
        XCTAssertNil(onlyPositives.trueNegativeRate)
        XCTAssertNil(onlyPositives.falsePositiveRate)
        XCTAssertNil(onlyPositives.areaUnderROC)
        XCTAssertEqual(onlyPositives.averagePrecision, 1)

        let onlyNegatives = BinaryMetrics(try ScoredSamples(labels: [0, 0], scores: [0.2, 0.3]))
        XCTAssertNil(onlyNegatives.truePositiveRate)
        XCTAssertNil(onlyNegatives.precision, "nothing predicted positive")
        XCTAssertNil(onlyNegatives.averagePrecision)
        XCTAssertEqual(onlyNegatives.trueNegativeRate, 1)

        let empty = BinaryMetrics(try ScoredSamples(labels: [], scores: []))
        for metric in BinaryMetric.allCases { XCTAssertNil(empty.value(of: metric), "\(metric)") }
    }

    func testInvalidInputIsRejected() {
        XCTAssertThrowsError(try ScoredSamples(labels: [0, 2], scores: [0.1, 0.2]))
        XCTAssertThrowsError(try ScoredSamples(labels: [0, 1], scores: [0.1]))
        XCTAssertThrowsError(try ScoredSamples(labels: [0, 1], scores: [0.1, .nan]))
        XCTAssertThrowsError(try ScoredSamples(labels: [0, 1], scores: [0.1, 0.2], weights: [1, -1]))
    }

    func testCurvesEndAtTheFullRatesAndAgreeWithMetrics() throws {
        let samples = try ScoredSamples(labels: labels, scores: scores)
        let roc = try XCTUnwrap(ROCCurve(samples))
        XCTAssertEqual(roc.points.first, ROCCurve.Point(threshold: .infinity, falsePositiveRate: 0, truePositiveRate: 0))
        XCTAssertEqual(roc.points.last?.falsePositiveRate, 1)
        XCTAssertEqual(roc.points.last?.truePositiveRate, 1)
        XCTAssertEqual(roc.points.count, 1 + Set(scores).count)
        XCTAssertEqual(roc.area, 11.5 / 16, accuracy: 1e-15)
        // At threshold 0.6 (samples with score ≥ 0.6 called positive): TP 2 of 4, FP 1 of 4.
        let atSixTenths = try XCTUnwrap(roc.points.first { $0.threshold == 0.6 })
        XCTAssertEqual(atSixTenths.truePositiveRate, 0.5)
        XCTAssertEqual(atSixTenths.falsePositiveRate, 0.25)

        let pr = try XCTUnwrap(PrecisionRecallCurve(samples))
        XCTAssertEqual(pr.points.map(\.recall), [0.25, 0.25, 0.5, 0.75, 1, 1, 1])
        XCTAssertEqual(pr.points[3].precision, 3.0 / 5, accuracy: 1e-15)
        XCTAssertEqual(pr.averagePrecision, 0.7333333333333333, accuracy: 1e-12)
        XCTAssertNil(ROCCurve(try ScoredSamples(labels: [1, 1], scores: [0.1, 0.2])))
    }
}
