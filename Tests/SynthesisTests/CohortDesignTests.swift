@testable import Synthesis
import XCTest

final class CohortDesignTests: XCTestCase {
    func testDesignIsAPureFunctionOfTheConfig() throws {
        let config = CohortPreset.tiny.config
        XCTAssertEqual(try CohortDesign(config).samples, try CohortDesign(config).samples)
        var other = config
        other.seed = 2
        XCTAssertNotEqual(try CohortDesign(other).samples, try CohortDesign(config).samples)
    }

    func testCountsFollowThePrevalencesWithinRounding() throws {
        var config = CohortPreset.simbaJAMIA.config
        config.cohort.size = 2000
        let design = try CohortDesign(config)
        let samples = design.samples
        XCTAssertEqual(samples.count, 2000)
        XCTAssertEqual(samples.map(\.index), Array(0..<2000))
        let disease = samples.filter { $0.label == 1 }
        XCTAssertEqual(disease.count, 1000)
        XCTAssertEqual(disease.filter { $0.biasFlags[0] }.count, 700)
        XCTAssertEqual(samples.filter { $0.label == 0 && $0.biasFlags[0] }.count, 300)
        let splitCounts = Split.allCases.map { split in samples.filter { $0.split == split }.count }
        XCTAssertEqual(splitCounts, [1000, 500, 500])
        // Within every class × group cell the split shares hold within one sample.
        for label in 0...1 {
            for group in 0...1 {
                let cell = samples.filter { $0.label == label && $0.group == group }
                for split in Split.allCases {
                    let share = [0.5, 0.25, 0.25][split.rawValue] * Double(cell.count)
                    XCTAssertEqual(Double(cell.filter { $0.split == split }.count), share, accuracy: 1)
                }
            }
        }
        // Bias coefficients only where the bias is.
        XCTAssertTrue(samples.allSatisfy { $0.biasFlags[0] == ($0.biasCoefficients[0] != 0) })
    }

    func testCoefficientDistributionsMatchAcrossGroupsAndSplits() throws {
        let samples = try CohortDesign(CohortPreset.simbaJAMIA.config).samples
        for label in 0...1 {
            let biased = samples.filter { $0.label == label && $0.biasFlags[0] }
            let unbiased = samples.filter { $0.label == label && !$0.biasFlags[0] }
            XCTAssertLessThan(ksStatistic(biased.map(\.diseaseCoefficient), unbiased.map(\.diseaseCoefficient)), 0.05)
            XCTAssertLessThan(ksStatistic(biased.map { $0.subjectCoefficients[0] },
                                          unbiased.map { $0.subjectCoefficients[0] }), 0.05)
            let mean = samples.filter { $0.label == label }.map(\.diseaseCoefficient).reduce(0, +) / 1000
            XCTAssertEqual(mean, label == 1 ? 1 : -1, accuracy: 0.02)
        }
        // Subject coefficients match across classes and across splits.
        XCTAssertLessThan(ksStatistic(samples.filter { $0.label == 1 }.map { $0.subjectCoefficients[3] },
                                      samples.filter { $0.label == 0 }.map { $0.subjectCoefficients[3] }), 0.05)
        let train = samples.filter { $0.split == .train && $0.label == 1 }.map(\.diseaseCoefficient)
        let test = samples.filter { $0.split == .test && $0.label == 1 }.map(\.diseaseCoefficient)
        XCTAssertLessThan(ksStatistic(train, test), 0.06)
        let bias = samples.filter { $0.biasFlags[0] }.map { $0.biasCoefficients[0] }
        XCTAssertEqual(bias.reduce(0, +) / Double(bias.count), 2, accuracy: 0.02)
        XCTAssertTrue(samples.allSatisfy { $0.subjectCoefficients.allSatisfy { abs($0) <= 3.5 } })
    }

    func testMultiBiasGroupsFollowIndependentPrevalences() throws {
        let samples = try CohortDesign(CohortPreset.multibias.config).samples
        let disease = samples.filter { $0.label == 1 }
        // 0.7 × 0.7, 0.7 × 0.3, 0.3 × 0.7, 0.3 × 0.3 of 2000.
        let expected = [3: 980, 1: 420, 2: 420, 0: 180]
        for (group, count) in expected {
            XCTAssertEqual(disease.filter { $0.group == group }.count, count, accuracy: 1)
        }
    }

    func testSitesPrevalencesAndHeldOutSite() throws {
        let config = CohortPreset.multisite.config
        let samples = try CohortDesign(config).samples
        for (index, site) in config.sites.enumerated() {
            let members = samples.filter { $0.site == index }
            XCTAssertEqual(Double(members.count), 200, accuracy: 1)
            let share = Double(members.filter { $0.label == 1 }.count) / Double(members.count)
            XCTAssertEqual(share, site.diseasePrevalence ?? 0.5, accuracy: 0.01)
            if site.heldOut {
                XCTAssertTrue(members.allSatisfy { $0.split == .test })
            }
        }
        let site2Disease = samples.filter { $0.site == 1 && $0.label == 1 }
        XCTAssertEqual(Double(site2Disease.filter { $0.biasFlags[0] }.count) / Double(site2Disease.count), 0.9, accuracy: 0.02)
    }

    func testTooFewSamplesForTheStrataIsRefused() {
        var config = CohortPreset.tiny.config
        config.cohort.size = 12
        XCTAssertThrowsError(try CohortDesign(config)) { error in
            XCTAssertTrue("\(error)".contains("too few for the strata"), "\(error)")
        }
    }

    func testApportionSumsExactly() {
        XCTAssertEqual(apportion(10, weights: [1, 1, 1]), [4, 3, 3])
        XCTAssertEqual(apportion(7, weights: [0.5, 0.25, 0.25]), [3, 2, 2])
        XCTAssertEqual(apportion(5, weights: [0, 1]), [0, 5])
        for total in 0..<50 {
            XCTAssertEqual(apportion(total, weights: [0.3, 0.2, 0.5, 0.01]).reduce(0, +), total)
        }
    }
}

/// Two-sample Kolmogorov–Smirnov statistic (largest gap between the ECDFs).
func ksStatistic(_ a: [Double], _ b: [Double]) -> Double {
    let sortedA = a.sorted(), sortedB = b.sorted()
    var i = 0, j = 0, gap = 0.0
    while i < sortedA.count && j < sortedB.count {
        if sortedA[i] <= sortedB[j] { i += 1 } else { j += 1 }
        gap = max(gap, abs(Double(i) / Double(sortedA.count) - Double(j) / Double(sortedB.count)))
    }
    return gap
}
