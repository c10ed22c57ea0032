import Analysis
import Foundation
import Network
import Training
import XCTest
@testable import Experiment

/// Replicates, cross-scores and verdicts of a summary, on the hand-counted fixture.
final class ReplicateSummaryTests: XCTestCase {
    /// A perfectly calibrated model's scores: right on every subject.
    static let perfect = Fixture.rows.map { $0.0 == 1 ? 0.8 : 0.2 }
    /// The fixture's scores with two 'none' positives found too (another seed's model).
    static let second: [Double] = {
        var scores = Fixture.rows.map(\.2)
        scores[5] = 0.7
        scores[6] = 0.8
        return scores
    }()

    static func arm(_ name: String, _ scores: [Double]?, replicate: Replicate = .first,
                    other: [Double]? = nil) throws -> ArmSummary {
        let run = TrainedRun(path: "r.h5", config: TrainingConfig(), datasetPath: "d.h5", input: Grid3(2, 2, 2),
                             checkpoint: "/checkpoints/epoch_000001", epoch: 1, parameters: [])
        func stored(_ scores: [Double]?, _ dataset: String) throws -> StoredEvaluation {
            StoredEvaluation(try Fixture.evaluation(scores: scores), run: run, dataset: dataset, settings: Fixture.settings)
        }
        var summary = ArmSummary(name: name, runFile: "run-\(name)\(replicate.suffix).h5", dataset: "d.h5", epochsRun: 1,
                                 bestEpoch: 1, stopReason: "budget", evaluation: try stored(scores, "d.h5"),
                                 encoding: nil, saliency: nil, crossSite: nil,
                                 history: TrainingHistory(epochs: [1], trainLoss: [0.7], validationLoss: [0.6],
                                                          trainAccuracy: [0.5], validationAccuracy: [0.6],
                                                          stopReason: "budget", bestEpoch: 1, strategy: "central",
                                                          worldSize: 1))
        summary.replicate = replicate
        summary.otherCohortEvaluation = try other.map { try stored($0, "other.h5") }
        return summary
    }

    static let lenient = LearningFloors(auroc: 0.5, balancedAccuracy: 0.5)

    func testPooledComparisonIsTheMeanOfTheReplicates() throws {
        let arms = [try Self.arm("biased", nil), try Self.arm("twin", Self.perfect),
                    try Self.arm("biased", Self.second, replicate: Replicate(training: 2)),
                    try Self.arm("twin", Self.perfect, replicate: Replicate(training: 2))]
        let summary = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test", arms: arms,
                                            settings: Fixture.settings, floors: Self.lenient)
        XCTAssertEqual(summary.replicates, 2)
        XCTAssertEqual(summary.arm("biased")?.replicate, .first)
        XCTAssertEqual(summary.replicates(of: "biased").count, 2)
        let tpr = summary.comparisons.first { $0.metric == "ΔTPR" }!
        XCTAssertEqual(tpr.replicates, [Replicate(training: 1), Replicate(training: 2)])
        let first = Fixture.rates(group: 1).tpr - Fixture.rates(group: 0).tpr
        let second = Fixture.rates(group: 1, scores: Self.second).tpr - Fixture.rates(group: 0, scores: Self.second).tpr
        XCTAssertEqual(tpr.differenceByReplicate[0].estimate!, first, accuracy: 1e-12)
        XCTAssertEqual(tpr.differenceByReplicate[1].estimate!, second, accuracy: 1e-12)
        XCTAssertEqual(tpr.difference.estimate!, (first + second) / 2, accuracy: 1e-12)
        // The first replicate alone is what a one-replicate experiment reports, to the bit.
        let alone = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test", arms: Array(arms[0...1]),
                                          settings: Fixture.settings, floors: Self.lenient)
        let aloneTPR = alone.comparisons.first { $0.metric == "ΔTPR" }!
        XCTAssertEqual(aloneTPR.difference, tpr.differenceByReplicate[0])
        XCTAssertEqual(aloneTPR.difference, aloneTPR.differenceByReplicate[0])
        // Each arm's own disparity pools likewise.
        let twin = summary.disparities.first { $0.arm == "twin" && $0.metric == "ΔTPR" }!
        XCTAssertEqual(twin.disparity.pooled.estimate!, 0, accuracy: 1e-12)
        XCTAssertEqual(twin.disparity.byReplicate.count, 2)
        // summary.json round-trips; the report shows the spread and the CSV every replicate.
        XCTAssertEqual(try JSONDecoder.summaryDecoder.decode(ExperimentSummary.self, from: try summary.json), summary)
        let report = ExperimentReport(summary: summary)
        XCTAssertTrue(report.html.contains("Replicate spread"))
        XCTAssertTrue(report.html.contains(ExperimentReport.format(tpr.differenceByReplicate[1])))
        XCTAssertTrue(report.csv.contains("biased-r2,by_group,morph,"))
        XCTAssertTrue(report.csv.contains("biased-r2,vs_twin_replicate,morph − none,"))
    }

    /// Biased model: the fixture's scores on biased images, the perfect
    /// model's on twin images (its lead vanishes without the bias); twin
    /// model perfect on both: all of the disparity is learned, none is in the images.
    func testDecompositionSeparatesLearnedFromInput() throws {
        let arms = [try Self.arm("biased", nil, other: Self.perfect),
                    try Self.arm("twin", Self.perfect, other: Self.perfect)]
        let summary = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test", arms: arms,
                                            settings: Fixture.settings, floors: Self.lenient)
        let fpr = summary.decomposition.first { $0.metric == "ΔFPR" }!
        let biased = Fixture.rates(group: 1).fpr - Fixture.rates(group: 0).fpr
        XCTAssertEqual(fpr.biasedModelOnBiasedImages.pooled.estimate!, biased, accuracy: 1e-12)
        XCTAssertEqual(fpr.biasedModelOnTwinImages.pooled.estimate!, 0, accuracy: 1e-12)
        XCTAssertEqual(fpr.total.pooled.estimate!, biased, accuracy: 1e-12)
        XCTAssertEqual(fpr.learned.pooled.estimate!, biased, accuracy: 1e-12)
        XCTAssertEqual(fpr.input.pooled.estimate!, 0, accuracy: 1e-12)
        // The total is the comparison's ΔΔ, to the bit (same resamples, same arithmetic).
        let comparison = summary.comparisons.first { $0.metric == "ΔFPR" }!
        XCTAssertEqual(fpr.total.pooled, comparison.difference)
        let input = summary.verdicts.first { $0.claim == .inputAlone && $0.metric == "ΔFPR" }!
        XCTAssertEqual(input.holds, false)
        let html = ExperimentReport(summary: summary).html
        XCTAssertTrue(html.contains("Where does the disparity come from?"))
        XCTAssertTrue(html.contains(ExperimentReport.format(fpr.learned.pooled)))
    }

    /// An arm below the floors gets no fairness verdict: "did not learn", never compared.
    func testArmBelowTheFloorsIsNotJudged() throws {
        let guessing = Fixture.rows.map { _ in 0.6 }
        let arms = [try Self.arm("biased", nil), try Self.arm("twin", guessing)]
        // Constant scores: AUROC 0.5, balanced accuracy 0.5 — below floors of 0.55.
        let summary = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test", arms: arms,
                                            settings: Fixture.settings, floors: LearningFloors(auroc: 0.55, balancedAccuracy: 0.55))
        let learned = summary.verdicts.filter { $0.claim == .learned }
        XCTAssertEqual(learned.map(\.arm), ["biased", "twin"])
        XCTAssertEqual(learned.map(\.holds), [true, false])
        XCTAssertEqual(learned[1].outcome, "did not learn")
        for verdict in summary.verdicts where verdict.claim != .learned {
            XCTAssertNil(verdict.holds, verdict.text)
            XCTAssertEqual(verdict.outcome, "not judged")
        }
        XCTAssertTrue(ResultText.headline(summary).contains("twin did not learn the disease"))
        // The default floors (AUROC 0.8, balanced accuracy 0.75) are above what the fixture's biased model reaches.
        let strict = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test", arms: arms,
                                           settings: Fixture.settings)
        XCTAssertEqual(strict.verdicts.first { $0.claim == .learned }?.holds, false)
    }

    /// A mitigation counts only if ΔΔ lies beyond 0 on the shrinking side.
    func testMitigationVerdictFollowsItsInterval() throws {
        let arms = [try Self.arm("biased", nil), try Self.arm("reweighed", Self.perfect), try Self.arm("group-models", nil)]
        let summary = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test", arms: arms,
                                            settings: Fixture.settings, floors: Self.lenient)
        for verdict in summary.verdicts where verdict.claim == .mitigation {
            let comparison = summary.comparisons.first { $0.arm == verdict.arm && $0.metric == verdict.metric }!
            let before = comparison.againstDisparity.estimate!
            let beyond = before > 0 ? comparison.difference.upper! < 0 : comparison.difference.lower! > 0
            XCTAssertEqual(verdict.holds, beyond, verdict.text)
            if verdict.arm == "group-models" { XCTAssertEqual(verdict.holds, false, "the same model cannot shrink its own gap") }
        }
    }

    /// With a twin, each mitigation is also compared with it: the residual
    /// claim holds when ΔΔ against the twin excludes 0, and the comparison
    /// with the biased arm keeps its mitigation verdict.
    func testMitigationIsComparedWithTheTwinForWhatItLeft() throws {
        let arms = [try Self.arm("biased", nil), try Self.arm("twin", Self.perfect),
                    try Self.arm("reweighed", nil), try Self.arm("unlearning", Self.perfect)]
        let summary = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test", arms: arms,
                                            settings: Fixture.settings, floors: Self.lenient)
        let residual = summary.verdicts.filter { $0.claim == .residual }
        XCTAssertEqual(Set(residual.map(\.arm)), ["reweighed", "unlearning"])
        XCTAssertTrue(residual.allSatisfy { $0.against == "twin" })
        for verdict in residual {
            let comparison = summary.comparisons.first { $0.arm == verdict.arm && $0.against == "twin" && $0.metric == verdict.metric }!
            XCTAssertEqual(verdict.holds, comparison.difference.excludesZero, verdict.text)
            // The same scores as the twin leave nothing: ΔΔ is exactly 0.
            if verdict.arm == "unlearning" { XCTAssertEqual(comparison.difference.estimate, 0); XCTAssertEqual(verdict.holds, false) }
        }
        // The biased model's scores under another name leave what the bias caused, wherever that was shown.
        for verdict in residual where verdict.arm == "reweighed" {
            let shortcut = summary.verdicts.first { $0.claim == .shortcut && $0.metric == verdict.metric && $0.group == verdict.group }!
            XCTAssertEqual(verdict.holds, shortcut.holds, verdict.text)
        }
        XCTAssertEqual(summary.verdicts.filter { $0.claim == .mitigation }.count, residual.count)
    }

    func testRunFileNamesGiveArmAndReplicate() {
        XCTAssertEqual(ArmRunFile(path: "out/run-biased.h5"), ArmRunFile(name: "biased", runFile: "out/run-biased.h5"))
        XCTAssertEqual(ArmRunFile(path: "run-twin-r2.h5").replicate, Replicate(cohort: 1, training: 2))
        XCTAssertEqual(ArmRunFile(path: "run-group-models-c2-r3.h5").name, "group-models")
        XCTAssertEqual(ArmRunFile(path: "run-group-models-c2-r3.h5").replicate, Replicate(cohort: 2, training: 3))
        XCTAssertEqual(ArmRunFile(path: "run-twin-c3.h5").replicate, Replicate(cohort: 3, training: 1))
        XCTAssertEqual(ArmRunFile(path: "my-run.h5").name, "my-run")
        XCTAssertEqual(ArmRunFile(path: "run-r2.h5").name, "r2")
        for replicate in Replicate.all(cohorts: 2, trainings: 3) {
            XCTAssertEqual(ArmRunFile(path: "run-twin\(replicate.suffix).h5").replicate, replicate)
        }
        XCTAssertEqual(Replicate(cohort: 2, training: 3).trainingSeed(7), 9)
        XCTAssertEqual(Replicate(cohort: 2, training: 3).cohortSeed(1), 2)
    }
}
