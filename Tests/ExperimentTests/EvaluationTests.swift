import Analysis
import Foundation
import Network
import Storage
import Synthesis
import Training
import XCTest
@testable import Experiment

/// A small test set with known counts: 'morph' samples are predicted
/// positive far more often than 'none' samples.
enum Fixture {
    // label, group, score
    static let rows: [(Int, Int, Double)] = [
        (1, 1, 0.9), (1, 1, 0.8), (1, 1, 0.7), (1, 1, 0.6), (1, 0, 0.9), (1, 0, 0.3), (1, 0, 0.2), (1, 0, 0.6),
        (0, 1, 0.7), (0, 1, 0.6), (0, 1, 0.2), (0, 1, 0.1), (0, 0, 0.1), (0, 0, 0.2), (0, 0, 0.3), (0, 0, 0.7),
    ]

    static func predictions(scores: [Double]? = nil) -> Predictions {
        Predictions(indices: rows.indices.map { $0 * 3 }, labels: rows.map(\.0), groups: rows.map(\.1),
                    sites: rows.indices.map { $0 % 2 }, scores: scores ?? rows.map(\.2))
    }

    static let names = GroupNames(biasNames: ["morph"])
    static let settings = BootstrapSettings(resamples: 300, seed: 4)

    static func evaluation(scores: [Double]? = nil) throws -> Evaluation {
        try Evaluation(predictions: predictions(scores: scores), groupNames: names, siteNames: ["a", "b"], settings: settings)
    }

    /// TPR and FPR counted by hand for one group (nil: all samples).
    static func rates(group: Int?, scores: [Double]? = nil) -> (tpr: Double, fpr: Double) {
        let s = scores ?? rows.map(\.2)
        var tp = 0.0, fn = 0.0, fp = 0.0, tn = 0.0
        for (i, row) in rows.enumerated() where group == nil || row.1 == group {
            let positive = s[i] > 0.5
            switch (row.0, positive) {
            case (1, true): tp += 1
            case (1, false): fn += 1
            case (0, true): fp += 1
            default: tn += 1
            }
        }
        return (tp / (tp + fn), fp / (fp + tn))
    }
}

final class EvaluationTests: XCTestCase {
    func testGroupNames() {
        let names = GroupNames(biasNames: ["morph", "contrast"])
        XCTAssertEqual((0..<4).map(names.name(of:)), ["none", "morph", "contrast", "morph+contrast"])
    }

    func testSubgroupRatesAndDisparitiesMatchHandCounts() throws {
        let evaluation = try Fixture.evaluation()
        let table = MetricTable(evaluation.byGroup)
        XCTAssertEqual(table.keys, ["all", "morph", "none"])
        for (key, group) in [("all", nil), ("morph", 1), ("none", 0)] as [(String, Int?)] {
            let expected = Fixture.rates(group: group)
            XCTAssertEqual(table.cell(key, "TPR")!.estimate!, expected.tpr, accuracy: 1e-12, key)
            XCTAssertEqual(table.cell(key, "FPR")!.estimate!, expected.fpr, accuracy: 1e-12, key)
        }
        XCTAssertEqual(table.samples, [16, 8, 8])
        XCTAssertEqual(table.positives, [8, 4, 4])
        let morph = Fixture.rates(group: 1), none = Fixture.rates(group: 0)
        let tpr = evaluation.disparities.first { $0.metric == .truePositiveRate }!
        XCTAssertEqual(tpr.difference.estimate!, morph.tpr - none.tpr, accuracy: 1e-12)
        let fpr = evaluation.disparities.first { $0.metric == .falsePositiveRate }!
        XCTAssertEqual(fpr.difference.estimate!, morph.fpr - none.fpr, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(tpr.difference.lower!, tpr.difference.estimate!)
        XCTAssertEqual(MetricTable(evaluation.bySite!).keys, ["all", "a", "b"])
    }

    func testStoredEvaluationRoundTripsThroughARunFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("simba-eval-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try H5File.create(path).close()
        let run = TrainedRun(path: path, config: TrainingConfig(), datasetPath: "d.h5", input: Grid3(2, 2, 2),
                             checkpoint: "/checkpoints/epoch_000003", epoch: 3, parameters: [])
        let stored = StoredEvaluation(try Fixture.evaluation(), run: run, dataset: "d.h5", settings: Fixture.settings)
        try stored.write(to: path)
        try stored.write(to: path)  // replacing works too
        XCTAssertEqual(try StoredEvaluation.read(from: path), stored)
        XCTAssertEqual(stored.disparities.keys, ["morph − none"])
        XCTAssertEqual(stored.disparities.metrics, ["ΔTPR", "ΔFPR"])
        XCTAssertEqual(stored.disparities.samples, [16])
        let csv = stored.byGroup.csvLines(table: "by_group")
        XCTAssertEqual(csv.count, 3 * Evaluation.metrics.count)
        XCTAssertTrue(csv.contains { $0.hasPrefix("by_group,morph,8,4,TPR,\(Fixture.rates(group: 1).tpr),") }, csv.joined(separator: "\n"))
    }

    func testComparisonIsTheDifferenceOfTheArmsDisparities() throws {
        // The twin scores every group alike: its disparity is that of a fair model.
        let fair = Fixture.rows.map { $0.0 == 1 ? 0.8 : 0.2 }
        let run = TrainedRun(path: "r.h5", config: TrainingConfig(), datasetPath: "d.h5", input: Grid3(2, 2, 2),
                             checkpoint: "/checkpoints/epoch_000001", epoch: 1, parameters: [])
        func arm(_ name: String, _ scores: [Double]?) throws -> ArmSummary {
            ArmSummary(name: name, runFile: "r.h5", dataset: "d.h5", epochsRun: 1, bestEpoch: 1, stopReason: "budget",
                       evaluation: StoredEvaluation(try Fixture.evaluation(scores: scores), run: run, dataset: "d.h5",
                                                    settings: Fixture.settings),
                       encoding: nil, saliency: nil, crossSite: nil,
                       history: TrainingHistory(epochs: [1], trainLoss: [0.7], validationLoss: [0.6], trainAccuracy: [0.5],
                                                validationAccuracy: [0.6], stopReason: "budget", bestEpoch: 1,
                                                strategy: "central", worldSize: 1))
        }
        let summary = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test",
                                            arms: [try arm("biased", nil), try arm("twin", fair)], settings: Fixture.settings)
        let tpr = summary.comparisons.first { $0.metric == "ΔTPR" }!
        let morph = Fixture.rates(group: 1), none = Fixture.rates(group: 0)
        XCTAssertEqual(tpr.armDisparity.estimate!, morph.tpr - none.tpr, accuracy: 1e-12)
        XCTAssertEqual(tpr.againstDisparity.estimate!, 0, accuracy: 1e-12)
        XCTAssertEqual(tpr.difference.estimate!, morph.tpr - none.tpr, accuracy: 1e-12)
        let fpr = summary.comparisons.first { $0.metric == "ΔFPR" }!
        XCTAssertEqual(fpr.difference.estimate!, morph.fpr - none.fpr, accuracy: 1e-12)

        // summary.json round-trips, and the report and CSV carry the numbers.
        let decoded = try JSONDecoder.summaryDecoder.decode(ExperimentSummary.self, from: try summary.json)
        XCTAssertEqual(decoded, summary)
        let report = ExperimentReport(summary: summary)
        let html = report.html
        XCTAssertTrue(html.contains(ExperimentReport.format(tpr.difference)), "ΔΔTPR missing from the report")
        XCTAssertTrue(html.contains(ExperimentReport.format(summary.arms[0].evaluation.byGroup.cell("morph", "TPR")!)))
        XCTAssertTrue(report.csv.contains("biased,by_group,morph,8,4,TPR,"))
    }
}

extension JSONDecoder {
    static var summaryDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

final class AnalysisConfigTests: XCTestCase {
    func testPresetsTrainTheArmsTheirExperimentNeeds() {
        XCTAssertEqual(AnalysisConfig.preset(.quickstart).arms, ["biased", "twin", "reweighed"])
        XCTAssertEqual(AnalysisConfig.preset(.tiny).arms, ["biased", "twin"])
        XCTAssertEqual(AnalysisConfig.preset(.multisite).arms, ["central", "federated", "travelling"])
        for preset in CohortPreset.allCases { XCTAssertNoThrow(try AnalysisConfig.preset(preset).validate()) }
    }

    func testArmsAreChecked() {
        var config = AnalysisConfig()
        config.arms = ["twin"]
        XCTAssertThrowsError(try config.validate())
        config.arms = ["biased", "sideways"]
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("'sideways' is not an arm")) }
        config.arms = ["group-models", "biased"]
        XCTAssertThrowsError(try config.validate()) {
            XCTAssertTrue("\($0)".contains("group-models fine-tunes the biased arm's model, so biased must come before it"), "\($0)")
        }
        config.arms = ["biased", "twin", "group-models"]
        XCTAssertNoThrow(try config.validate())
    }
}
