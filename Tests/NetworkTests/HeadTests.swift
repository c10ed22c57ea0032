import Randomness
import XCTest
@testable import Network

final class DenseTests: XCTestCase {
    let batch = 3, inputs = 7, outputs = 2
    lazy var x = randomValues(batch * inputs, seed: 51)
    lazy var kernel = randomValues(inputs * outputs, seed: 52)
    lazy var bias = randomValues(outputs, seed: 53)

    func dense(_ x: [Float], _ kernel: [Float], _ bias: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: batch * outputs)
        withPointers(&out) { denseForward(out: $0, x: x, kernel: kernel, bias: bias, batch: batch, inputs: inputs, outputs: outputs) }
        return out
    }

    func testForwardMatchesNaive() {
        var expected = [Float]()
        for n in 0..<batch {
            for k in 0..<outputs {
                expected.append(Float((0..<inputs).reduce(Double(bias[k])) { $0 + Double(x[n * inputs + $1]) * Double(kernel[$1 * outputs + k]) }))
            }
        }
        assertClose(dense(x, kernel, bias), expected, tolerance: 1e-6, "dense forward")
    }

    func testBackwardMatchesFiniteDifferences() {
        let projection = randomValues(batch * outputs, seed: 54)
        var dx = [Float](repeating: 0, count: x.count), dKernel = [Float](repeating: 0, count: kernel.count)
        var dBias = [Float](repeating: 0, count: outputs)
        withPointers(&dx) { d in withPointers(&dKernel) { dk in withPointers(&dBias) { db in
            denseBackward(dx: d, dKernel: dk, dBias: db, dOut: projection, x: x, kernel: kernel,
                          batch: batch, inputs: inputs, outputs: outputs)
        }}}
        checkGradient(values: x, analytic: dx, "dense dx") { project(self.dense($0, self.kernel, self.bias), projection) }
        checkGradient(values: kernel, analytic: dKernel, "dense dKernel") { project(self.dense(self.x, $0, self.bias), projection) }
        checkGradient(values: bias, analytic: dBias, "dense dBias") { project(self.dense(self.x, self.kernel, $0), projection) }
    }
}

final class LossTests: XCTestCase {
    let labels = [1, 0, 2], weights: [Float] = [0.5, 2, 1.25]
    let batch = 3, classes = 3

    func loss(_ logits: [Float]) -> (loss: Float, gradient: [Float]) {
        var d = [Float](repeating: 0, count: logits.count), p = d
        var value: Float = 0
        withPointers(&d) { dp in withPointers(&p) { pp in
            value = softmaxCrossEntropy(dLogits: dp, probabilities: pp, logits: logits, labels: labels,
                                        weights: weights, batch: batch, classes: classes)
        }}
        return (value, d)
    }

    func testWeightedMeanOverBatchLikeKeras() {
        let logits: [Float] = [0.1, 2, -1, 3, 0, 0.5, -2, 1, 4]
        var expected = 0.0
        for n in 0..<batch {
            let row = (0..<classes).map { Double(logits[n * classes + $0]) }
            let total = row.map { exp($0) }.reduce(0, +)
            expected += Double(weights[n]) * -log(exp(row[labels[n]]) / total)
        }
        XCTAssertEqual(Double(loss(logits).loss), expected / 3, accuracy: 1e-6)
    }

    func testGradientMatchesFiniteDifferences() {
        let logits = randomValues(9, seed: 61, scale: 3)
        checkGradient(values: logits, analytic: loss(logits).gradient, step: 1e-3, "softmax cross-entropy") {
            Double(self.loss($0).loss)
        }
    }
}

final class DropoutTests: XCTestCase {
    func testFixedMaskForwardAndBackward() {
        let x = randomValues(20, seed: 71), projection = randomValues(20, seed: 72)
        let mask = (0..<20).map { $0 % 3 == 0 ? Float(0) : 1.25 }
        func forward(_ v: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: 20)
            withPointers(&out) { dropoutForward(out: $0, x: v, mask: mask, count: 20) }
            return out
        }
        XCTAssertEqual(forward(x), zip(x, mask).map { $0 * $1 })
        var dx = [Float](repeating: 0, count: 20)
        withPointers(&dx) { dropoutBackward(dx: $0, dOut: projection, mask: mask, count: 20) }
        checkGradient(values: x, analytic: dx, "dropout backward") { project(forward($0), projection) }
    }

    func testMaskIsSeededAndKeepsAboutOneMinusRate() {
        func draw(seed: UInt64) -> [Float] {
            var generator = SeededGenerator(seed: seed)
            var mask = [Float](repeating: 0, count: 10_000)
            withPointers(&mask) { dropoutDrawMask(mask: $0, count: 10_000, rate: 0.2, generator: &generator) }
            return mask
        }
        let mask = draw(seed: 5)
        XCTAssertEqual(mask, draw(seed: 5))
        XCTAssertNotEqual(mask, draw(seed: 6))
        XCTAssertEqual(Set(mask), [0, 1.25])
        let kept = Double(mask.filter { $0 > 0 }.count) / 10_000
        XCTAssertEqual(kept, 0.8, accuracy: 0.02)
    }
}

final class RandomGeneratorTests: XCTestCase {
    func testSavedStateReplaysTheStream() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<5 { _ = generator.next() }
        var restored = try SeededGenerator(state: generator.state)
        XCTAssertEqual((0..<10).map { _ in generator.next() }, (0..<10).map { _ in restored.next() })
        XCTAssertThrowsError(try SeededGenerator(state: [0, 0, 0, 0]))
    }

    func testUnitFloatsStayInRange() {
        var generator = SeededGenerator(seed: 1)
        let values = (0..<10_000).map { _ in generator.unitFloat() }
        XCTAssertTrue(values.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(Double(values.reduce(0, +)) / 10_000, 0.5, accuracy: 0.02)
    }
}
