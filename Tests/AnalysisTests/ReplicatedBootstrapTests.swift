import Randomness
import XCTest
@testable import Analysis

final class ReplicatedBootstrapTests: XCTestCase {
    /// One unit on one cohort draws nothing at the replicate levels, so it
    /// is the ordinary stratified bootstrap, to the bit.
    func testOneUnitIsTheOrdinaryBootstrap() throws {
        let cohort = try DisparityTests.Cohort()
        let settings = BootstrapSettings(resamples: 400, seed: 9)
        let paired = try PairedDisparities(models: [cohort.biased, cohort.twin], groups: cohort.groups, biasGroup: "bias",
                                           referenceGroup: "nobias", metrics: [.truePositiveRate, .falsePositiveRate],
                                           contrasts: [[1, -1]])
        let ordinary = try Bootstrap.percentileIntervals(sampleCount: paired.sampleCount, strata: paired.strata,
                                                         settings: settings) { paired.statistics(multiplicity: $0) }
        let replicated = try Bootstrap.replicatedIntervals(
            cohorts: [BootstrapCohort(sampleCount: paired.sampleCount, strata: paired.strata)], unitCohorts: [0],
            settings: settings) { _, multiplicity in paired.statistics(multiplicity: multiplicity) }
        XCTAssertEqual(ordinary, replicated)
    }

    /// The paired contrast (1, −1) is CounterfactualDisparity's ΔΔ, to the bit.
    func testPairedContrastIsTheCounterfactualDifference() throws {
        let cohort = try DisparityTests.Cohort()
        let settings = BootstrapSettings(resamples: 300, seed: 3)
        let reference = try CounterfactualDisparity.estimate(biased: cohort.biased, twin: cohort.twin, groups: cohort.groups,
                                                             biasGroup: "bias", referenceGroup: "nobias", settings: settings)
        let paired = try PairedDisparities(models: [cohort.biased, cohort.twin], groups: cohort.groups, biasGroup: "bias",
                                           referenceGroup: "nobias", metrics: [.truePositiveRate, .falsePositiveRate],
                                           contrasts: [[1, -1]])
        let intervals = try Bootstrap.replicatedIntervals(
            cohorts: [BootstrapCohort(sampleCount: paired.sampleCount, strata: paired.strata)], unitCohorts: [0],
            settings: settings) { _, multiplicity in paired.statistics(multiplicity: multiplicity) }
        for (position, disparity) in reference.enumerated() {
            XCTAssertEqual(intervals[3 * position], disparity.biasedModelDifference)
            XCTAssertEqual(intervals[3 * position + 1], disparity.twinModelDifference)
            XCTAssertEqual(intervals[3 * position + 2], disparity.differenceOfDifferences)
        }
        // Each model's Δ is the plain subset difference.
        XCTAssertEqual(intervals[0].estimate!, try cohort.difference(cohort.biased, .truePositiveRate), accuracy: 1e-12)
        XCTAssertEqual(intervals[4].estimate!, try cohort.difference(cohort.twin, .falsePositiveRate), accuracy: 1e-12)
    }

    /// Mismatched models are refused with a message, not trapped on.
    func testPairedModelsMustShareSubjects() throws {
        let cohort = try DisparityTests.Cohort()
        let other = try ScoredSamples(labels: cohort.biased.labels.map { 1 - $0 }, scores: cohort.biased.scores)
        XCTAssertThrowsError(try PairedDisparities(models: [cohort.biased, other], groups: cohort.groups, biasGroup: "bias",
                                                   referenceGroup: "nobias", metrics: [.truePositiveRate]))
        XCTAssertThrowsError(try PairedDisparities(models: [cohort.biased], groups: cohort.groups, biasGroup: "bias",
                                                   referenceGroup: "nobias", metrics: [.truePositiveRate], contrasts: [[1, -1]]))
    }

    /// Units whose statistic does not depend on the subjects: the pooled
    /// interval is the spread of the mean of three draws from {0, 1, 2}
    /// (with 2000 resamples its 2.5% and 97.5% points are the extremes 0
    /// and 2, each with probability 1/27), and the estimate their mean.
    func testReplicateLevelAloneGivesTheSpreadOfMeans() throws {
        let cohort = BootstrapCohort(sampleCount: 4, strata: [[0, 1, 2, 3]])
        let intervals = try Bootstrap.replicatedIntervals(
            cohorts: [cohort], unitCohorts: [0, 0, 0], settings: BootstrapSettings(resamples: 2000, seed: 5)
        ) { unit, _ in [Double(unit)] }
        XCTAssertEqual(intervals[0].estimate, 1)
        XCTAssertEqual(intervals[0].lower, 0)
        XCTAssertEqual(intervals[0].upper, 2)
        XCTAssertEqual(intervals[0].resamplesUsed, 2000)
    }

    /// Against a plain re-implementation that lists drawn cohorts, subjects
    /// and units explicitly and averages subject means: two cohorts, one
    /// with two training replicates, the statistic a weighted mean.
    func testNestedResamplingMatchesExplicitDraws() throws {
        let values: [[Double]] = [[1, 2, 3, 4, 5], [2, 4, 8]]
        let offsets: [Double] = [0, 0.5, -1]   // units 0 and 1 on cohort 0, unit 2 on cohort 1
        let unitCohorts = [0, 0, 1]
        let cohorts = values.map { BootstrapCohort(sampleCount: $0.count, strata: [Array($0.indices)]) }
        let settings = BootstrapSettings(resamples: 500, confidenceLevel: 0.9, seed: 11)
        func statistic(_ unit: Int, _ multiplicity: [Double]) -> Double {
            let v = values[unitCohorts[unit]]
            return zip(v, multiplicity).reduce(0) { $0 + $1.0 * $1.1 } / multiplicity.reduce(0, +) + offsets[unit]
        }
        let intervals = try Bootstrap.replicatedIntervals(cohorts: cohorts, unitCohorts: unitCohorts, settings: settings) {
            [statistic($0, $1)]
        }
        // The reference: explicit index lists from the same generator, in the documented order.
        var generator = SeededGenerator(seed: settings.seed)
        var means: [Double] = []
        for _ in 0..<settings.resamples {
            var sum = 0.0, count = 0.0
            for _ in 0..<2 {
                let cohort = generator.nextIndex(below: 2)
                let v = values[cohort]
                let drawn = v.indices.map { _ in v[generator.nextIndex(below: v.count)] }
                let subjectMean = drawn.reduce(0, +) / Double(drawn.count)
                let units = unitCohorts.indices.filter { unitCohorts[$0] == cohort }
                for _ in units {
                    let unit = units.count == 1 ? units[0] : units[generator.nextIndex(below: units.count)]
                    sum += subjectMean + offsets[unit]
                    count += 1
                }
            }
            means.append(sum / count)
        }
        means.sort()
        let estimate = (offsets.indices.map { values[unitCohorts[$0]].reduce(0, +) / Double(values[unitCohorts[$0]].count) + offsets[$0] })
            .reduce(0, +) / 3
        XCTAssertEqual(intervals[0].estimate!, estimate, accuracy: 1e-12)
        XCTAssertEqual(intervals[0].lower!, Bootstrap.percentile(sorted: means, fraction: 0.05)!, accuracy: 1e-12)
        XCTAssertEqual(intervals[0].upper!, Bootstrap.percentile(sorted: means, fraction: 0.95)!, accuracy: 1e-12)
    }

    func testBadDesignsAreRefused() {
        let cohort = BootstrapCohort(sampleCount: 2, strata: [[0, 1]])
        XCTAssertThrowsError(try Bootstrap.replicatedIntervals(cohorts: [], unitCohorts: [], settings: BootstrapSettings()) { _, _ in [] })
        XCTAssertThrowsError(try Bootstrap.replicatedIntervals(cohorts: [cohort, cohort], unitCohorts: [0],
                                                               settings: BootstrapSettings()) { _, _ in [] })
        XCTAssertThrowsError(try Bootstrap.replicatedIntervals(cohorts: [cohort], unitCohorts: [0, 3],
                                                               settings: BootstrapSettings()) { _, _ in [] })
    }
}
