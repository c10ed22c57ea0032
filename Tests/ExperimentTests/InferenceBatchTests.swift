import Network
import Training
import XCTest
@testable import Experiment

/// Inference builds its model for as many samples as fit the memory
/// training needed: small models keep their batch, a 1 mm model does not
/// grow from training's 2 samples to evaluation's 8.
final class InferenceBatchTests: XCTestCase {
    func run(input: Grid3, training: TrainingConfig) -> TrainedRun {
        TrainedRun(path: "r.h5", config: training, datasetPath: "d.h5", input: input,
                   checkpoint: "/checkpoints/epoch_000001", epoch: 1, parameters: [])
    }

    func testASmallModelKeepsTheBatchAskedFor() {
        let quickstart = run(input: Grid3(21, 29, 23), training: TrainingConfig.preset(.quickstart))
        XCTAssertEqual(quickstart.inferenceBatch(upTo: 8), 8)
        XCTAssertEqual(quickstart.inferenceBatch(upTo: 10), 10)
        XCTAssertEqual(quickstart.inferenceBatch(upTo: 0), 1)
    }

    func testAOneMillimetreModelInfersNoMoreThanItTrained() throws {
        let training = TrainingConfig.preset(.simbaJAMIA)
        XCTAssertEqual(training.batch, 2)
        let jamia = run(input: Grid3(173, 211, 155), training: training)
        XCTAssertEqual(jamia.inferenceBatch(upTo: 8), 2)
        XCTAssertEqual(jamia.inferenceBatch(upTo: 1), 1)
        // Against the estimate itself: 2 fit the training budget, 3 do not.
        let shapes = SimbaCNNShapes(training.model(input: jamia.input))
        let budget = try XCTUnwrap(shapes.trainingBytes(batch: 2))
        XCTAssertGreaterThan(budget, TrainedRun.smallModelBytes)
        XCTAssertGreaterThan(try XCTUnwrap(shapes.trainingBytes(batch: 3)), budget)
    }
}
