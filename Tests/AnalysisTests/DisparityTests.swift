import XCTest
@testable import Analysis

final class DisparityTests: XCTestCase {
    /// 1200 test subjects, half in the bias group. The biased model finds
    /// positives with probability 0.9 in the bias group and 0.6 outside it;
    /// its no-bias twin finds exactly 3 in 4 of them in each group (counted,
    /// not drawn, so the twin's true disparity is 0 in this very sample).
    struct Cohort {
        let groups: SampleGroups
        let biased: ScoredSamples
        let twin: ScoredSamples

        init(seed: UInt64 = 21) throws {
            var data = TestData(seed: seed)
            let count = 1200
            let keys = (0..<count).map { $0 % 2 == 0 ? "bias" : "nobias" }
            let labels = (0..<count).map { _ in data.bernoulli(0.5) }
            let biasedScores = zip(labels, keys).map { label, key in
                data.score(label: label, correctProbability: key == "bias" ? 0.9 : 0.6)
            }
            var seen: [String: Int] = [:]
            let twinScores = zip(labels, keys).map { label, key -> Double in
                seen["\(key)\(label)", default: 0] += 1
                let correct = seen["\(key)\(label)"]! % 4 != 0
                return data.score(label: label, correctProbability: correct ? 1 : 0)
            }
            groups = SampleGroups(keys)
            biased = try ScoredSamples(labels: labels, scores: biasedScores)
            twin = try ScoredSamples(labels: labels, scores: twinScores)
        }

        /// Metric difference computed the plain way, from subsets.
        func difference(_ samples: ScoredSamples, _ metric: BinaryMetric) throws -> Double {
            let inBias = BinaryMetrics(try samples.subset(try groups.members(of: "bias")))
            let outside = BinaryMetrics(try samples.subset(try groups.members(of: "nobias")))
            return inBias.value(of: metric)! - outside.value(of: metric)!
        }
    }

    func testGroupDisparityEstimateAndInterval() throws {
        let cohort = try Cohort()
        let disparities = try GroupDisparity.estimate(samples: cohort.biased, groups: cohort.groups,
                                                      group: "bias", referenceGroup: "nobias",
                                                      settings: BootstrapSettings(resamples: 200))
        XCTAssertEqual(disparities.map(\.metric), [.truePositiveRate, .falsePositiveRate])
        let tpr = disparities[0].difference
        XCTAssertEqual(tpr.estimate!, try cohort.difference(cohort.biased, .truePositiveRate), accuracy: 1e-12)
        XCTAssertTrue(tpr.contains(0.3), "true ΔTPR is 0.9 − 0.6: \(tpr)")
        XCTAssertTrue(tpr.excludesZero)
        // FPR: 0.1 in the bias group, 0.4 outside.
        XCTAssertTrue(disparities[1].difference.contains(-0.3), "\(disparities[1].difference)")
    }

    func testDifferenceOfDifferencesAgainstTwin() throws {
        let cohort = try Cohort()
        let result = try CounterfactualDisparity.estimate(
            biased: cohort.biased, twin: cohort.twin, groups: cohort.groups,
            biasGroup: "bias", referenceGroup: "nobias", metrics: [.truePositiveRate],
            settings: BootstrapSettings(resamples: 200))[0]
        let biasedDelta = try cohort.difference(cohort.biased, .truePositiveRate)
        let twinDelta = try cohort.difference(cohort.twin, .truePositiveRate)
        XCTAssertEqual(result.biasedModelDifference.estimate!, biasedDelta, accuracy: 1e-12)
        XCTAssertEqual(result.twinModelDifference.estimate!, twinDelta, accuracy: 1e-12)
        XCTAssertEqual(result.differenceOfDifferences.estimate!, biasedDelta - twinDelta, accuracy: 1e-12)
        XCTAssertTrue(result.twinModelDifference.contains(0), "the twin has no bias: \(result.twinModelDifference)")
        XCTAssertTrue(result.differenceOfDifferences.contains(0.3), "\(result.differenceOfDifferences)")
        XCTAssertTrue(result.differenceOfDifferences.excludesZero)
    }

    /// With the twin identical to the biased model, ΔΔ is exactly zero in
    /// every resample only if both models are resampled with the same
    /// subjects; an unpaired bootstrap would give a wide interval.
    func testPairedResamplingKeepsSubjectsTogether() throws {
        let cohort = try Cohort()
        let result = try CounterfactualDisparity.estimate(
            biased: cohort.biased, twin: cohort.biased, groups: cohort.groups,
            biasGroup: "bias", referenceGroup: "nobias", settings: BootstrapSettings(resamples: 200))
        for disparity in result {
            XCTAssertEqual(disparity.differenceOfDifferences.lower, 0)
            XCTAssertEqual(disparity.differenceOfDifferences.upper, 0)
            XCTAssertEqual(disparity.differenceOfDifferences.resamplesUsed, 200)
            XCTAssertGreaterThan(disparity.biasedModelDifference.upper! - disparity.biasedModelDifference.lower!, 0.02)
        }
    }

    func testMismatchedSubjectsAndUnknownGroupsAreRejected() throws {
        let cohort = try Cohort()
        let flipped = try ScoredSamples(labels: cohort.biased.labels.map { 1 - $0 }, scores: cohort.biased.scores)
        XCTAssertThrowsError(try CounterfactualDisparity.estimate(
            biased: cohort.biased, twin: flipped, groups: cohort.groups, biasGroup: "bias", referenceGroup: "nobias"))
        XCTAssertThrowsError(try GroupDisparity.estimate(
            samples: cohort.biased, groups: cohort.groups, group: "bias", referenceGroup: "siteC"))
        XCTAssertThrowsError(try GroupDisparity.estimate(
            samples: cohort.biased, groups: cohort.groups, group: "bias", referenceGroup: "bias"))
    }
}
