import Randomness
import XCTest
@testable import Network

/// Seeded values in [-1, 1) for test inputs.
func randomValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in generator.symmetric(limit: scale) }
}

/// Runs body with mutable pointers to copies of the arrays, returning the copies.
func withPointers(_ a: inout [Float], _ body: (UnsafeMutablePointer<Float>) -> Void) {
    a.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "count " + message, file: file, line: line)
    var worst: Float = 0, worstIndex = 0
    for i in 0..<min(actual.count, expected.count) {
        let error = abs(actual[i] - expected[i]) / max(1, abs(expected[i]))
        if !(error <= worst) { worst = error; worstIndex = i }
    }
    XCTAssertLessThanOrEqual(worst, tolerance,
                             "\(message): worst at \(worstIndex): \(actual[worstIndex]) vs \(expected[worstIndex])",
                             file: file, line: line)
}

/// Central-difference gradient check of a scalar function of `values`.
/// `loss` must be computed in Double from the float32 layer outputs;
/// `analytic` is the gradient to check. Compares with a tolerance relative
/// to the largest gradient, which is what float32 finite differences allow.
///
/// Whole networks have max-pool windows whose two best cells sometimes lie
/// closer than any usable step: the loss then has a kink inside the step,
/// and the central difference averages two slopes. One of the two half
/// steps is still smooth, so with `allowingKinks` a coordinate passes when
/// the central, the left or the right difference agrees. A wrong gradient
/// disagrees with all three and is still caught.
func checkGradient(
    values: [Float], analytic: [Float], step: Float = 1e-2, tolerance: Double = 1e-2,
    allowingKinks: Bool = false, _ message: String,
    file: StaticString = #filePath, line: UInt = #line,
    loss: ([Float]) -> Double
) {
    XCTAssertEqual(values.count, analytic.count, message, file: file, line: line)
    let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-6)
    let center = allowingKinks ? loss(values) : 0
    var worst = 0.0, worstIndex = 0, worstNumeric = 0.0
    for i in values.indices {
        var plus = values, minus = values
        plus[i] += step; minus[i] -= step
        let (up, down) = (loss(plus), loss(minus))
        var estimates = [(up - down) / (Double(plus[i]) - Double(minus[i]))]
        if allowingKinks {
            estimates.append((up - center) / (Double(plus[i]) - Double(values[i])))
            estimates.append((center - down) / (Double(values[i]) - Double(minus[i])))
        }
        let numeric = estimates.min { abs($0 - Double(analytic[i])) < abs($1 - Double(analytic[i])) }!
        let error = abs(numeric - Double(analytic[i])) / scale
        if error > worst { worst = error; worstIndex = i; worstNumeric = numeric }
    }
    XCTAssertLessThanOrEqual(worst, tolerance,
        "\(message): index \(worstIndex) analytic \(analytic[worstIndex]) numeric \(worstNumeric) (scale \(scale))",
        file: file, line: line)
    XCTAssertGreaterThan(scale, 1e-5, "\(message): gradient is all zero, the check would prove nothing",
                         file: file, line: line)
}

/// Σ projection[i] · output[i] in Double: turns a layer output into a scalar
/// whose gradient with respect to the output is `projection`.
func project(_ output: [Float], _ projection: [Float]) -> Double {
    zip(output, projection).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}
