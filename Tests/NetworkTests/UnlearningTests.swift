import Randomness
import XCTest
@testable import Network

/// The pieces of adversarial unlearning: the confusion loss, the adversary
/// head and the encoder's backward from a loss on its output.
final class ConfusionLossTests: XCTestCase {
    let batch = 3, classes = 3

    func confusion(_ logits: [Float], scale: Float = 0.7, weights: [Float]? = nil) -> (loss: Float, gradient: [Float]) {
        var d = [Float](repeating: 0, count: logits.count), p = d
        var value: Float = 0
        withPointers(&d) { dp in withPointers(&p) { pp in
            value = weights.withOptionalPointer { w in
                confusionLoss(dLogits: dp, probabilities: pp, logits: logits, batch: batch, classes: classes, scale: scale, weights: w)
            }
        }}
        return (value, d)
    }

    /// Row weights (unlearning_reweigh): each row's term times its weight;
    /// weights of one are bitwise the unweighted loss.
    func testWeightedRowsMatchANaiveSumAndFiniteDifferences() {
        let logits = randomValues(9, seed: 93, scale: 3), weights: [Float] = [0.4, 1.7, 1]
        var expected = 0.0
        for n in 0..<batch {
            let row = (0..<classes).map { Double(logits[n * classes + $0]) }
            let logTotal = log(row.map { exp($0) }.reduce(0, +))
            expected += Double(weights[n]) * row.map { logTotal - $0 }.reduce(0, +)
        }
        XCTAssertEqual(Double(confusion(logits, weights: weights).loss), 0.7 * expected / Double(batch * classes), accuracy: 1e-6)
        checkGradient(values: logits, analytic: confusion(logits, weights: weights).gradient, step: 1e-3, "weighted confusion loss") {
            Double(self.confusion($0, weights: weights).loss)
        }
        let ones = confusion(logits, weights: [1, 1, 1]), unweighted = confusion(logits)
        XCTAssertEqual(ones.loss.bitPattern, unweighted.loss.bitPattern)
        XCTAssertEqual(ones.gradient.map(\.bitPattern), unweighted.gradient.map(\.bitPattern))
    }

    func testValueIsTheMeanNegativeLogProbabilityOverEveryClass() {
        let logits: [Float] = [0.1, 2, -1, 3, 0, 0.5, -2, 1, 4]
        var expected = 0.0
        for n in 0..<batch {
            let row = (0..<classes).map { Double(logits[n * classes + $0]) }
            let logTotal = log(row.map { exp($0) }.reduce(0, +))
            expected += row.map { logTotal - $0 }.reduce(0, +)
        }
        XCTAssertEqual(Double(confusion(logits).loss), 0.7 * expected / Double(batch * classes), accuracy: 1e-6)
    }

    func testGradientMatchesFiniteDifferences() {
        let logits = randomValues(9, seed: 91, scale: 3)
        checkGradient(values: logits, analytic: confusion(logits).gradient, step: 1e-3, "confusion loss") {
            Double(self.confusion($0).loss)
        }
    }

    func testAUniformOutputIsTheMinimum() {
        let (loss, gradient) = confusion([Float](repeating: 0.3, count: 9), scale: 1)
        XCTAssertEqual(Double(loss), log(3), accuracy: 1e-6)
        XCTAssertTrue(gradient.allSatisfy { abs($0) < 1e-7 })
    }
}

final class AdversaryHeadTests: XCTestCase {
    let features = 5, classes = 3, batch = 2
    lazy var x = randomValues(batch * features, seed: 92)
    let labels = [2, 0], weights: [Float] = [0.6, 1.3]

    func head() throws -> AdversaryHead { try AdversaryHead(features: features, classes: classes, maxBatch: batch, seed: 4) }

    func testCrossEntropyGradientsMatchFiniteDifferences() throws {
        let head = try head()
        head.forward(x, batch: batch)
        head.backward(labels: labels, weights: weights)
        let parameters = head.parameters.array, analytic = head.gradients.array
        let analyticInput = Array(head.inputGradient.array[0..<x.count])
        func loss(_ values: [Float], _ input: [Float]) -> Double {
            try! head.load(parameters: values)
            head.forward(input, batch: batch)
            return Double(head.backward(labels: labels, weights: weights))
        }
        checkGradient(values: parameters, analytic: analytic, step: 1e-3, "adversary parameters") { loss($0, self.x) }
        checkGradient(values: x, analytic: analyticInput, step: 1e-3, "adversary input") { loss(parameters, $0) }
    }

    func testConfusionGradientReachesTheInput() throws {
        let head = try head()
        head.forward(x, batch: batch)
        head.backwardConfusion(scale: 1.5)
        let analyticInput = Array(head.inputGradient.array[0..<x.count])
        checkGradient(values: x, analytic: analyticInput, step: 1e-3, "confusion input") {
            head.forward($0, batch: self.batch)
            return Double(head.backwardConfusion(scale: 1.5))
        }
    }

    func testKerasDenseInitialisationAndRefusals() throws {
        let head = try head()
        let limit = (6 / Float(features + classes)).squareRoot()
        let kernel = head.parameters.array[0..<(features * classes)], bias = head.parameters.array[(features * classes)...]
        XCTAssertTrue(kernel.allSatisfy { abs($0) <= limit } && kernel.contains { $0 != 0 })
        XCTAssertTrue(bias.allSatisfy { $0 == 0 })
        XCTAssertThrowsError(try AdversaryHead(features: 4, classes: 1, maxBatch: 2, seed: 1))
        XCTAssertThrowsError(try head.load(parameters: [1, 2]))
    }
}

final class EncoderBackwardTests: XCTestCase {
    let small = SimbaCNNConfiguration(input: Grid3(7, 6, 5), widths: [2, 3])
    lazy var samples = randomValues(2 * small.input.voxels, seed: 93, scale: 2)

    /// A loss on the encoder output alone (a projection of the dropped-out
    /// features, train mode, fixed dropout mask) reaches every block's
    /// parameters and leaves the dense head's gradient zero.
    func testGradientOfALossOnTheEncoderOutputMatchesFiniteDifferences() throws {
        let model = try SimbaCNN(configuration: small, maxBatch: 2, seed: 12)
        let features = model.shapes.features
        let projection = randomValues(2 * features, seed: 94)
        let start = model.generator
        let parameters = model.parameters.array
        func loss(_ values: [Float]) -> Double {
            try! model.load(parameters: values)
            model.generator = start
            model.forward(samples, batch: 2, mode: .train)
            return project(Array(UnsafeBufferPointer(start: model.encoderOutput, count: 2 * features)), projection)
        }
        _ = loss(parameters)
        model.backward(encoderOutputGradient: projection)
        let analytic = model.gradients.array
        checkGradient(values: parameters, analytic: analytic, step: 1e-3, tolerance: 2e-2, allowingKinks: true,
                      "encoder parameters") { loss($0) }
        for name in ["dense.kernel", "dense.bias"] {
            XCTAssertTrue(analytic[model.layout[name].range].allSatisfy { $0 == 0 }, "\(name) gets no gradient")
        }
    }
}
