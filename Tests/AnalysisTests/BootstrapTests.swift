import Randomness
import XCTest
@testable import Analysis

final class BootstrapTests: XCTestCase {
    func testPercentileInterpolatesLikeNumpy() {
        // np.percentile([1, 2, 3, 4, 10], [2.5, 97.5]) == [1.1, 9.4]
        let sorted = [1.0, 2, 3, 4, 10]
        XCTAssertEqual(Bootstrap.percentile(sorted: sorted, fraction: 0.025)!, 1.1, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.percentile(sorted: sorted, fraction: 0.975)!, 9.4, accuracy: 1e-12)
        XCTAssertNil(Bootstrap.percentile(sorted: [], fraction: 0.5))
    }

    /// Positives found with probability 0.8. Over 20 independent test sets a
    /// 95 % interval should cover 0.8 about 19 times; 16 or more is required
    /// (fewer happens with probability 0.016 for a calibrated interval, and the
    /// data are fixed by the seed). Widths must match the normal-theory
    /// 2 · 1.96 · √(0.8 · 0.2 / 300) ≈ 0.091.
    func testIntervalCoversTrueValueOfLargeSamples() throws {
        var data = TestData(seed: 5)
        var covered = 0
        for dataset in 0..<20 {
            let labels = (0..<600).map { $0 % 2 }
            let scores = labels.map { data.score(label: $0, correctProbability: $0 == 1 ? 0.8 : 0.9) }
            let samples = try ScoredSamples(labels: labels, scores: scores)
            let interval = try Bootstrap.percentileInterval(
                sampleCount: samples.count, settings: BootstrapSettings(resamples: 200, seed: UInt64(dataset))
            ) { multiplicity in
                BinaryMetrics(samples, multiplicity: multiplicity, includeRanking: false).truePositiveRate
            }
            if interval.contains(0.8) { covered += 1 }
            XCTAssertTrue(interval.contains(interval.estimate!))
            XCTAssertEqual(interval.upper! - interval.lower!, 0.091, accuracy: 0.02)
            XCTAssertEqual(interval.resamplesUsed, 200)
        }
        XCTAssertGreaterThanOrEqual(covered, 16)
    }

    func testSameSeedGivesSameIntervalAndOtherSeedDoesNot() throws {
        var data = TestData(seed: 6)
        let labels = (0..<300).map { _ in data.bernoulli(0.5) }
        let samples = try ScoredSamples(labels: labels, scores: labels.map { data.score(label: $0, correctProbability: 0.75) })
        func interval(seed: UInt64) throws -> ConfidenceInterval {
            try Bootstrap.percentileInterval(sampleCount: samples.count,
                                             settings: BootstrapSettings(resamples: 200, seed: seed)) {
                BinaryMetrics(samples, multiplicity: $0, includeRanking: true).areaUnderROC
            }
        }
        XCTAssertEqual(try interval(seed: 1), try interval(seed: 1))
        XCTAssertNotEqual(try interval(seed: 1).lower, try interval(seed: 2).lower)
    }

    /// One positive among ten: a resample misses it with probability
    /// (9/10)^10 ≈ 0.35, and those resamples have no TPR and must be skipped.
    func testResamplesWithUndefinedMetricAreSkippedAndCounted() throws {
        let labels = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let samples = try ScoredSamples(labels: labels, scores: Array(repeating: 0.9, count: 10))
        let interval = try Bootstrap.percentileInterval(sampleCount: 10,
                                                        settings: BootstrapSettings(resamples: 2000)) {
            BinaryMetrics(samples, multiplicity: $0, includeRanking: false).truePositiveRate
        }
        XCTAssertEqual(Double(interval.resamplesUsed) / 2000, 1 - 0.348_678_440_1, accuracy: 0.04)
        XCTAssertEqual(interval.lower, 1)
        XCTAssertEqual(interval.upper, 1)

        let never = try Bootstrap.percentileInterval(sampleCount: 10) { _ in nil }
        XCTAssertEqual(never.resamplesUsed, 0)
        XCTAssertNil(never.lower)
        XCTAssertFalse(never.contains(0))
    }

    func testStrataKeepTheirSizes() {
        var generator = SeededGenerator(seed: 3)
        let strata = [[0, 1, 2], [5, 6]]
        _ = Bootstrap.percentileIntervals(sampleCount: 8, strata: strata, resamples: 50, confidenceLevel: 0.9,
                                          using: &generator) { multiplicity in
            XCTAssertEqual(multiplicity[0...2].reduce(0, +), 3)
            XCTAssertEqual(multiplicity[5...6].reduce(0, +), 2)
            XCTAssertEqual(multiplicity[3] + multiplicity[4] + multiplicity[7], 0)
            return [0]
        }
    }

    func testInvalidSettingsAreRejected() {
        XCTAssertThrowsError(try Bootstrap.percentileInterval(sampleCount: 3, settings: BootstrapSettings(resamples: 0)) { _ in 1 })
        XCTAssertThrowsError(try Bootstrap.percentileInterval(sampleCount: 3, settings: BootstrapSettings(confidenceLevel: 1)) { _ in 1 })
    }
}
