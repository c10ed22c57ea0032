import Randomness
import XCTest
@testable import Analysis

final class HolmCorrectionTests: XCTestCase {
    /// By hand: p = (0.01, 0.04, 0.03, 0.005), m = 4. Sorted: 0.005·4 = 0.02,
    /// 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max(0.06, 0.04) = 0.06.
    func testHandComputedExample() {
        let adjusted = HolmCorrection.adjust([0.01, 0.04, 0.03, 0.005])
        for (value, expected) in zip(adjusted, [0.03, 0.06, 0.06, 0.02]) {
            XCTAssertEqual(value!, expected, accuracy: 1e-15)
        }
        // Capped at 1; monotone in the sorted order (0.6 alone would give 0.6).
        XCTAssertEqual(HolmCorrection.adjust([0.5, 0.6]), [1, 1])
        // One test: no correction.
        XCTAssertEqual(HolmCorrection.adjust([0.02]), [0.02])
        XCTAssertEqual(HolmCorrection.adjust([]), [])
    }

    /// A layer without a test (nil or NaN) is left out of the family and stays nil.
    func testUntestedEntriesAreNotPartOfTheFamily() {
        let adjusted = HolmCorrection.adjust([0.01, nil, 0.04, .nan, 0.03, 0.005])
        XCTAssertNil(adjusted[1])
        XCTAssertNil(adjusted[3])
        for (value, expected) in zip([adjusted[0], adjusted[2], adjusted[4], adjusted[5]], [0.03, 0.06, 0.06, 0.02]) {
            XCTAssertEqual(value!, expected, accuracy: 1e-15)
        }
    }

    /// Against the procedure itself: at level α, walk the sorted p-values and
    /// reject while p₍ₖ₎ ≤ α / (m − k + 1); a hypothesis is rejected exactly
    /// when its adjusted value is ≤ α. Also against the closed form written
    /// as a double loop.
    func testAgreesWithANaiveStepDownProcedure() {
        var generator = SeededGenerator(seed: 16)
        for trial in 0..<300 {
            let m = 1 + trial % 9
            // Some small, some large, some tied.
            var p = (0..<m).map { _ in pow(Double.random(in: 0..<1, using: &generator), 3) }
            if m > 2 && trial % 4 == 0 { p[1] = p[0] }
            let adjusted = HolmCorrection.adjust(p).map { $0! }
            let order = p.indices.sorted { (p[$0], $0) < (p[$1], $1) }
            for alpha in [0.001, 0.01, 0.05, 0.1, 0.25, 0.5] {
                var rejected = Set<Int>()
                for (k, index) in order.enumerated() {
                    guard p[index] <= alpha / Double(m - k) else { break }
                    rejected.insert(index)
                }
                // Ties may fall on either side of α by rounding only; skip exact boundaries.
                for index in p.indices where abs(adjusted[index] - alpha) > 1e-12 {
                    XCTAssertEqual(rejected.contains(index), adjusted[index] <= alpha, "trial \(trial), α \(alpha), p \(p)")
                }
            }
            for (position, index) in order.enumerated() {
                var largest = 0.0
                for j in 0...position { largest = max(largest, min(1, Double(m - j) * p[order[j]])) }
                XCTAssertEqual(adjusted[index], largest, accuracy: 1e-15)
                XCTAssertGreaterThanOrEqual(adjusted[index], p[index])
            }
        }
    }

    /// The smallest significant count and the power, against sums by hand
    /// and a linear scan of the exact tail.
    func testCriticalCountAndPower() throws {
        // P(X ≥ 9 | 10, ½) = 11/1024 < 0.05 ≤ P(X ≥ 8) = 56/1024.
        XCTAssertEqual(BinomialTest.criticalSuccesses(trials: 10, nullProbability: 0.5), 9)
        // Four coin flips can never reach p < 0.05 (all four: 1/16).
        XCTAssertNil(BinomialTest.criticalSuccesses(trials: 4, nullProbability: 0.5))
        XCTAssertEqual(BinomialTest.power(trials: 4, nullProbability: 0.5, alternative: 0.9), 0)
        // Power at 0.8: P(X ≥ 9 | 10, 0.8) = 10·0.8⁹·0.2 + 0.8¹⁰.
        XCTAssertEqual(BinomialTest.power(trials: 10, nullProbability: 0.5, alternative: 0.8),
                       10 * pow(0.8, 9) * 0.2 + pow(0.8, 10), accuracy: 1e-12)
        for (n, p) in [(80, 0.5), (400, 0.5), (37, 0.7), (200, 0.9), (1, 0.01), (1000, 0.55)] {
            let scan = (0...n).first { (try? BinomialTest(successes: $0, trials: n, nullProbability: p).pValue < 0.05) == true }
            XCTAssertEqual(BinomialTest.criticalSuccesses(trials: n, nullProbability: p), scan, "\(n) at \(p)")
        }
        // 80 samples at chance ½ need 48 correct (scipy: binom.sf(47, 80, 0.5) = 0.046 < 0.05 ≤ binom.sf(46, …)),
        // and find an accuracy of 0.625 with probability 0.720 (scipy binom.sf(47, 80, 0.625)).
        XCTAssertEqual(BinomialTest.criticalSuccesses(trials: 80, nullProbability: 0.5), 48)
        XCTAssertEqual(BinomialTest.power(trials: 80, nullProbability: 0.5, alternative: 0.625), 0.7201890344746384, accuracy: 1e-9)
    }
}
