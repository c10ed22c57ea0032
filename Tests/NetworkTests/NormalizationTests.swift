import XCTest
@testable import Network

final class BatchNormTests: XCTestCase {
    // 19 channels: a full SIMD lane group and a partial one; 70 rows: more
    // than one float partial-sum block before the flush to Double.
    let rows = 70, channels = 19
    lazy var x = randomValues(rows * channels, seed: 11, scale: 2).map { $0 + 0.7 }
    lazy var gamma = randomValues(channels, seed: 12).map { $0 + 1.5 }
    lazy var beta = randomValues(channels, seed: 13)

    struct Statistics { var mean, variance, inverseStd: [Float] }

    func statistics(_ x: [Float]) -> Statistics {
        var s = Statistics(mean: .init(repeating: 0, count: channels), variance: .init(repeating: 0, count: channels),
                           inverseStd: .init(repeating: 0, count: channels))
        var sums = [Double](repeating: 0, count: 2 * channels)
        withPointers(&s.mean) { m in withPointers(&s.variance) { v in withPointers(&s.inverseStd) { i in
            sums.withUnsafeMutableBufferPointer { d in
                batchNormStatistics(mean: m, variance: v, inverseStd: i, x: x, rows: rows, channels: channels,
                                    epsilon: BatchNormSettings.epsilon, sums: d.baseAddress!)
            }
        }}}
        return s
    }

    func normalize(_ x: [Float], _ gamma: [Float], _ beta: [Float], _ s: Statistics) -> [Float] {
        var scale = [Float](repeating: 0, count: channels), shift = scale
        var out = [Float](repeating: 0, count: x.count)
        withPointers(&scale) { sc in withPointers(&shift) { sh in
            batchNormScaleShift(scale: sc, shift: sh, gamma: gamma, beta: beta, mean: s.mean,
                                inverseStd: s.inverseStd, channels: channels)
            withPointers(&out) { batchNormForward(out: $0, x: x, scale: sc, shift: sh, rows: rows, channels: channels) }
        }}
        return out
    }

    func trainForward(_ x: [Float], _ gamma: [Float], _ beta: [Float]) -> [Float] {
        normalize(x, gamma, beta, statistics(x))
    }

    func testTrainForwardMatchesNaiveWithBiasedVariance() {
        assertClose(trainForward(x, gamma, beta),
                    referenceBatchNorm(x, rows: rows, channels: channels, gamma: gamma, beta: beta),
                    tolerance: 1e-5, "batch norm train forward")
    }

    func backward(training: Bool, projection: [Float], statistics s: Statistics) -> (dx: [Float], dGamma: [Float], dBeta: [Float]) {
        var dx = [Float](repeating: 0, count: x.count)
        var dGamma = [Float](repeating: 0, count: channels), dBeta = dGamma
        var sums = [Double](repeating: 0, count: 2 * channels)
        var coefficients = [Float](repeating: 0, count: 3 * channels)
        withPointers(&dx) { d in withPointers(&dGamma) { dg in withPointers(&dBeta) { db in
            withPointers(&coefficients) { co in sums.withUnsafeMutableBufferPointer { su in
                batchNormBackward(dx: d, dGamma: dg, dBeta: db, dy: projection, x: x, mean: s.mean,
                                  inverseStd: s.inverseStd, gamma: gamma, rows: rows, channels: channels,
                                  training: training, sums: su.baseAddress!, coefficients: co)
            }}
        }}}
        return (dx, dGamma, dBeta)
    }

    func testTrainBackwardMatchesFiniteDifferences() {
        let projection = randomValues(x.count, seed: 14)
        let g = backward(training: true, projection: projection, statistics: statistics(x))
        checkGradient(values: x, analytic: g.dx, step: 1e-2, "bn dx") {
            project(self.trainForward($0, self.gamma, self.beta), projection)
        }
        checkGradient(values: gamma, analytic: g.dGamma, "bn dGamma") {
            project(self.trainForward(self.x, $0, self.beta), projection)
        }
        checkGradient(values: beta, analytic: g.dBeta, "bn dBeta") {
            project(self.trainForward(self.x, self.gamma, $0), projection)
        }
    }

    func testEvalBackwardTreatsStatisticsAsConstants() {
        let projection = randomValues(x.count, seed: 15)
        let variance = randomValues(channels, seed: 16).map { 1 + $0 * 0.5 }
        let fixed = Statistics(mean: randomValues(channels, seed: 17), variance: variance,
                               inverseStd: variance.map { 1 / ($0 + BatchNormSettings.epsilon).squareRoot() })
        let g = backward(training: false, projection: projection, statistics: fixed)
        checkGradient(values: x, analytic: g.dx, "bn eval dx") {
            project(self.normalize($0, self.gamma, self.beta, fixed), projection)
        }
    }

    func testMovingStatisticsFollowKerasMomentum() {
        var movingMean: [Float] = [1, 2], movingVariance: [Float] = [3, 4]
        withPointers(&movingMean) { m in withPointers(&movingVariance) { v in
            batchNormUpdateMovingStatistics(movingMean: m, movingVariance: v, batchMean: [11, -8],
                                            batchVariance: [13, 0], channels: 2, momentum: 0.99)
        }}
        assertClose(movingMean, [0.99 * 1 + 0.01 * 11, 0.99 * 2 - 0.01 * 8], tolerance: 1e-6, "moving mean")
        assertClose(movingVariance, [0.99 * 3 + 0.01 * 13, 0.99 * 4], tolerance: 1e-6, "moving variance")
    }
}

final class ActivationTests: XCTestCase {
    func testForwardValues() {
        let x: [Float] = [-2, -0.5, 0, 0.5, 3]
        var out = [Float](repeating: 0, count: 5)
        withPointers(&out) { activationForward(out: $0, x: x, count: 5, activation: .sigmoid) }
        assertClose(out, x.map { Float(1 / (1 + exp(-Double($0)))) }, tolerance: 1e-6, "sigmoid")
        withPointers(&out) { activationForward(out: $0, x: x, count: 5, activation: .relu) }
        XCTAssertEqual(out, [0, 0, 0, 0.5, 3])
    }

    func testVectorExponentialIsWithinTwoUlp() {
        var worst: Float = 0
        for i in 0..<20_000 {
            let x = -87 + 175 * Float(i) / 20_000
            let exact = Float(exp(Double(x)))
            let approximate = exponential(Lanes(repeating: x))[0]
            worst = max(worst, abs(approximate - exact) / exact.ulp)
        }
        XCTAssertLessThanOrEqual(worst, 2)
        XCTAssertEqual(Activation.sigmoid.apply(-200), 0, accuracy: 1e-30)
        XCTAssertEqual(Activation.sigmoid.apply(200), 1)
    }

    func testBackwardMatchesFiniteDifferences() {
        // Keep relu inputs away from its kink at 0.
        let x = randomValues(40, seed: 21, scale: 3).map { abs($0) < 0.05 ? $0 + 0.2 : $0 }
        let projection = randomValues(40, seed: 22)
        for activation in Activation.allCases {
            func forward(_ v: [Float]) -> [Float] {
                var out = [Float](repeating: 0, count: v.count)
                withPointers(&out) { activationForward(out: $0, x: v, count: v.count, activation: activation) }
                return out
            }
            var dx = [Float](repeating: 0, count: 40)
            withPointers(&dx) { activationBackward(dx: $0, dOut: projection, out: forward(x), count: 40, activation: activation) }
            checkGradient(values: x, analytic: dx, step: 1e-3, "\(activation) backward") { project(forward($0), projection) }
        }
    }
}
