import XCTest
@testable import Network

/// Precise batch norm: calibrated moving statistics are the average batch
/// statistics, so eval mode on the calibration batch reproduces train mode.
final class CalibrationTests: XCTestCase {
    let config = SimbaCNNConfiguration(input: Grid3(7, 6, 5), widths: [2, 3], dropoutRate: 0)
    lazy var first = randomValues(2 * config.input.voxels, seed: 5, scale: 2)
    lazy var second = randomValues(2 * config.input.voxels, seed: 6, scale: 3)

    func calibrated(on batches: [[Float]]) throws -> SimbaCNN {
        let model = try SimbaCNN(configuration: config, maxBatch: 2, seed: 9)
        model.beginBatchNormCalibration()
        for batch in batches { model.forward(batch, batch: 2, mode: .calibrate) }
        model.finishBatchNormCalibration(sums: model.batchNormCalibrationSums)
        return model
    }

    func testEvalAfterCalibratingOnOneBatchMatchesTrainMode() throws {
        let model = try calibrated(on: [first])
        let evalLogits = model.forward(first, batch: 2, mode: .eval)
        let reference = try SimbaCNN(configuration: config, maxBatch: 2, seed: 9)
        let trainLogits = reference.forward(first, batch: 2, mode: .train)
        for (a, b) in zip(evalLogits, trainLogits) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    func testMovingStatisticsAreTheAverageOfTheBatches() throws {
        let both = try calibrated(on: [first, second])
        let one = try calibrated(on: [first]), two = try calibrated(on: [second])
        for name in ["block1.bn.moving_mean", "block1.bn.moving_variance", "block2.bn.moving_mean", "block2.bn.moving_variance"] {
            for i in both.layout[name].range {
                XCTAssertEqual(both.parameters[i], (one.parameters[i] + two.parameters[i]) / 2, accuracy: 1e-5, name)
            }
        }
        // Block 1's batch mean, read independently from one momentum step from zero.
        let momentum = try SimbaCNN(configuration: config, maxBatch: 2, seed: 9)
        let mean = momentum.layout["block1.bn.moving_mean"].range
        for i in mean { momentum.parameters[i] = 0 }
        momentum.forward(first, batch: 2, mode: .train)
        for i in mean {
            XCTAssertEqual(one.parameters[i], momentum.parameters[i] / (1 - BatchNormSettings.momentum), accuracy: 1e-3)
        }
    }

    func testCalibrationChangesOnlyMovingStatisticsAndNotTheDropoutStream() throws {
        let model = try calibrated(on: [first, second])
        let untouched = try SimbaCNN(configuration: config, maxBatch: 2, seed: 9)
        let moving = Set(model.layout.slices.filter { $0.name.contains("moving") }.flatMap { Array($0.range) })
        for i in 0..<model.parameters.count where !moving.contains(i) {
            XCTAssertEqual(model.parameters[i], untouched.parameters[i])
        }
        XCTAssertEqual(model.generator.state, untouched.generator.state)
        // No batches: nothing changes.
        let empty = try calibrated(on: [])
        XCTAssertEqual(empty.parameters.array, untouched.parameters.array)
    }
}
