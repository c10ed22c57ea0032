@testable import Experiment
import Synthesis
import Training
import XCTest

/// A sweep over the sites' size keeps the cohort and varies the training:
/// the tiny-sites preset's design.
final class SiteSamplesSweepTests: XCTestCase {
    func testEachValueTrainsTheSameCohortInSitesOfThatSize() throws {
        let preset = ExperimentConfig.preset(.tinySites)
        let sweep = try XCTUnwrap(preset.sweep)
        XCTAssertEqual(sweep.factor, .siteSamples)
        XCTAssertEqual(sweep.values, ["1", "2", "5"])
        var training = preset.training
        training.sites = 7
        training.siteSamples = 0
        let experiments = try sweep.experiments(base: preset.cohort, training: training)
        XCTAssertEqual(experiments.map(\.name), ["01-site_samples-1", "02-site_samples-2", "03-site_samples-5"])
        XCTAssertEqual(experiments.map(\.training.siteSamples), [1, 2, 5])
        XCTAssertEqual(experiments.map(\.training.sites), [0, 0, 0], "site_samples replaces round-robin sites")
        for experiment in experiments {
            XCTAssertEqual(experiment.cohort, preset.cohort)
            var expected = training
            expected.sites = 0
            expected.siteSamples = experiment.training.siteSamples
            XCTAssertEqual(experiment.training, expected, "only the sites' size changes")
        }
        XCTAssertEqual(preset.cohort, CohortPreset.quickstart.config, "the quickstart's cohort")
        XCTAssertEqual(preset.analysis.arms, [ArmName.central, ArmName.federated, ArmName.travelling])
    }

    func testValuesMustBeWholeSizesAndTheStrategyMustAllowThem() {
        var sweep = SweepConfig()
        sweep.factor = .siteSamples
        for value in ["0", "1.5", "two"] {
            sweep.values = [value]
            XCTAssertThrowsError(try sweep.experiments(base: CohortPreset.quickstart.config, training: TrainingConfig())) { error in
                XCTAssertTrue(String(describing: error).contains("sweep.values: site_samples values must be whole numbers of 1 or more, got '\(value)'"), "\(error)")
            }
        }
        sweep.values = ["2"]
        var local = TrainingConfig()
        local.strategy = .local
        XCTAssertThrowsError(try sweep.experiments(base: CohortPreset.quickstart.config, training: local)) { error in
            XCTAssertTrue(String(describing: error).contains("local models"), "\(error)")
        }
    }

    /// The sweep table compares each site strategy with pooled training and gives every arm's accuracy.
    func testTheTableComparesTheStrategiesWithCentral() {
        XCTAssertTrue(SweepTable.comparisons.contains { $0 == (ArmName.federated, ArmName.central) })
        XCTAssertTrue(SweepTable.comparisons.contains { $0 == (ArmName.travelling, ArmName.central) })
        XCTAssertFalse(SweepTable.comparisons.contains { $0.0 == ArmName.central })
    }
}
