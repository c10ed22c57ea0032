import XCTest
@testable import Network

final class AdamTests: XCTestCase {
    func layout() -> ParameterLayout {
        var layout = ParameterLayout()
        layout.append("weight", role: .denseKernel, shape: [1])
        layout.append("statistic", role: .batchNormMovingMean, shape: [1], trainable: false)
        return layout
    }

    func testTwoStepsMatchHandComputedKerasAdam() {
        // By hand, Keras formula, lr 0.1, β 0.9/0.999, ε 1e-7:
        // t=1, g=0.5:   m=0.05, v=2.5e-4, αₜ=0.1·√0.001/0.1=0.0316228, p=1−αₜ·m/(√v+ε)=0.90000063
        // t=2, g=−0.25: m=0.02, v=3.1225e-4, αₜ=0.1·√0.001999/0.19=0.0235317, p=0.87336708
        let adam = Adam(layout: layout(), learningRate: 0.1)
        let parameters = Tensor(shape: [2], values: [1, -2])
        adam.update(parameters: parameters, gradients: Tensor(shape: [2], values: [0.5, 7]))
        XCTAssertEqual(parameters[0], 0.90000063, accuracy: 1e-6)
        adam.update(parameters: parameters, gradients: Tensor(shape: [2], values: [-0.25, 7]))
        XCTAssertEqual(parameters[0], 0.87336708, accuracy: 1e-6)
        XCTAssertEqual(adam.firstMoment[0], 0.02, accuracy: 1e-7)
        XCTAssertEqual(adam.secondMoment[0], 3.1225e-4, accuracy: 1e-8)
        XCTAssertEqual(adam.step, 2)
        XCTAssertEqual(parameters[1], -2, "non-trainable slices are left alone")
    }

    func testLoadValidatesSizesAndRestoresState() throws {
        let adam = Adam(layout: layout())
        XCTAssertThrowsError(try adam.load(firstMoment: [1, 2, 3], secondMoment: [1, 2], step: 1))
        XCTAssertThrowsError(try adam.load(firstMoment: [1, 2], secondMoment: [1], step: 1))
        XCTAssertEqual(adam.firstMoment.array, [0, 0], "a rejected load changes nothing")
        try adam.load(firstMoment: [0.1, 0], secondMoment: [0.2, 0], step: 9)
        XCTAssertEqual(adam.step, 9)
        XCTAssertEqual(adam.secondMoment.array, [0.2, 0])
    }
}
