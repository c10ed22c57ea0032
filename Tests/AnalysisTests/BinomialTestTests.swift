import XCTest
@testable import Analysis

final class BinomialTestTests: XCTestCase {
    func testUpperTailAgainstExactAndScipyValues() throws {
        // By hand: P(X ≥ 8 | n = 10, p = ½) = (45 + 10 + 1) / 1024.
        XCTAssertEqual(try BinomialTest(successes: 8, trials: 10, nullProbability: 0.5).pValue, 56.0 / 1024, accuracy: 1e-14)
        XCTAssertEqual(try BinomialTest(successes: 5, trials: 5, nullProbability: 0.3).pValue, 0.00243, accuracy: 1e-15)
        XCTAssertEqual(try BinomialTest(successes: 0, trials: 5, nullProbability: 0.3).pValue, 1)
        // scipy.stats.binom.sf(k − 1, n, p), scipy 1.17.1.
        let references: [(Int, Int, Double, Double)] = [
            (600, 1000, 0.5, 1.3642320780329735e-10),
            (520, 1000, 0.5, 0.10872414660207075),
            (55, 100, 0.5, 0.18410080866334808),
            (70, 100, 0.6, 0.02478282311649308),
        ]
        for (k, n, p, expected) in references {
            let pValue = try BinomialTest(successes: k, trials: n, nullProbability: p).pValue
            XCTAssertEqual(pValue, expected, accuracy: expected * 1e-9, "\(k) of \(n) at \(p)")
        }
    }

    func testChanceLevelIsMajorityShare() throws {
        let chance = try ChanceLevel(labels: [1, 1, 1, 0])
        XCTAssertEqual(chance.majorityLabel, 1)
        XCTAssertEqual(chance.majorityShare, 0.75)
        // 70 of 100 correct is only chance when 70 % share one class.
        XCTAssertFalse(try ChanceLevel(labels: Array(repeating: 1, count: 70) + Array(repeating: 0, count: 30))
            .test(correct: 70, total: 100).isSignificant())
        XCTAssertTrue(try ChanceLevel(labels: Array(repeating: 1, count: 50) + Array(repeating: 0, count: 50))
            .test(correct: 70, total: 100).isSignificant())
        XCTAssertThrowsError(try ChanceLevel(labels: []))
        XCTAssertThrowsError(try BinomialTest(successes: 3, trials: 2, nullProbability: 0.5))
    }
}
