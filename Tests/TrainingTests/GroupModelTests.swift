import Foundation
import Storage
@testable import Training
import XCTest

/// Bias-group models: local training with the bias groups as sites,
/// started from another run's best model, each group's batch norm
/// calibrated on its own data.
extension LocalStrategyTests {
    func groupModels(from start: String) -> TrainingConfig {
        var config = config(.local)
        config.partition = .biasGroup
        config.initializeFrom = start
        config.batchNormCalibration = true
        return config
    }

    /// Group 0 (here exactly site 0's samples) fine-tuned from a pretrained
    /// model ends bitwise where central training of that model on group 0's
    /// samples alone ends; the cross-site columns are the test samples'
    /// groups; starting from the pretrained model is what made it so.
    func testAGroupModelIsCentralFineTuningOnThatGroupAlone() throws {
        let all = path("all.h5"), groupZero = path("group0.h5")
        let inGroup = { (i: Int) in MiniCohort.site(i) != 0 }
        try MiniCohort.write(all, biased: inGroup)
        try MiniCohort.write(groupZero, keep: { !inGroup($0) }, biased: inGroup)
        let pretrained = path("pretrained.h5")
        var pretraining = config(.central)
        pretraining.epochs = 2
        try train(pretraining, data: all, output: pretrained)

        let groups = path("groups.h5"), reference = path("reference.h5"), fresh = path("fresh.h5")
        let outcome = try train(groupModels(from: pretrained), data: all, output: groups)
        var central = config(.central)
        central.initializeFrom = pretrained
        central.batchNormCalibration = true
        try train(central, data: groupZero, output: reference)
        XCTAssertEqual(try row(groups, "site_parameters", site: 0), try read(reference, "checkpoints/latest/parameters"))
        XCTAssertEqual(try row(groups, "site_best_parameters", site: 0), try read(reference, "checkpoints/best/parameters"))

        let matrix = try XCTUnwrap(outcome.crossSite)
        XCTAssertEqual(matrix.sites, 2, "two bias groups, although the dataset has three sites")
        XCTAssertEqual(matrix.partition, .biasGroup)
        let testIndices = (0..<MiniCohort.count).filter { MiniCohort.split($0) == 2 }
        XCTAssertEqual(try read(groups, "evaluation/cross_site/sample_site", as: Int.self), testIndices.map { inGroup($0) ? 1 : 0 })

        // Without the pretrained start the same fine-tuning ends elsewhere.
        central.initializeFrom = nil
        try train(central, data: groupZero, output: fresh)
        XCTAssertNotEqual(try read(fresh, "checkpoints/best/parameters", as: Float.self),
                          try read(reference, "checkpoints/best/parameters", as: Float.self))
    }

    /// A start from a different network, or from a local run (no single
    /// model), is refused in one line naming the key.
    func testAStartThatDoesNotFitIsRefused() throws {
        let data = path("data.h5")
        try MiniCohort.write(data, biased: { $0 % 2 == 0 })
        var narrow = config(.central)
        narrow.widths = [4, 4]
        narrow.epochs = 1
        let other = path("other.h5"), local = path("local.h5")
        try train(narrow, data: data, output: other)
        var perSite = config(.local)
        perSite.epochs = 1
        try train(perSite, data: data, output: local)
        for (start, expected) in [(other, "widths [4, 4]"), (local, "strategy local"), (path("missing.h5"), "does not exist")] {
            XCTAssertThrowsError(try train(groupModels(from: start), data: data, output: path("refused.h5"))) { error in
                let message = String(describing: error)
                XCTAssertTrue(message.hasPrefix("training.initialize_from: "), message)
                XCTAssertTrue(message.contains(expected), message)
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
    }
}
