import Randomness
import XCTest
@testable import Analysis

final class StratifiedFoldsTests: XCTestCase {
    func testFoldsAreBalancedPerClassAndSeeded() throws {
        let labels = Array(repeating: 1, count: 23) + Array(repeating: 0, count: 14)
        var generator = SeededGenerator(seed: 9)
        let folds = try StratifiedFolds(labels: labels, folds: 5, using: &generator)
        XCTAssertEqual(folds.foldCount, 5)
        for label in [0, 1] {
            let perFold = (0..<5).map { fold in
                labels.indices.filter { labels[$0] == label && folds.foldOfSample[$0] == fold }.count
            }
            XCTAssertLessThanOrEqual(perFold.max()! - perFold.min()!, 1, "class \(label): \(perFold)")
        }
        let sizes = (0..<5).map { folds.split($0).heldOut.count }
        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
        XCTAssertEqual(sizes.reduce(0, +), labels.count)
        let (training, heldOut) = folds.split(2)
        XCTAssertEqual(Set(training).union(heldOut), Set(labels.indices))
        XCTAssertTrue(Set(training).isDisjoint(with: heldOut))

        var same = SeededGenerator(seed: 9)
        XCTAssertEqual(try StratifiedFolds(labels: labels, folds: 5, using: &same), folds)
        var other = SeededGenerator(seed: 10)
        XCTAssertNotEqual(try StratifiedFolds(labels: labels, folds: 5, using: &other), folds)
    }

    func testFewerSamplesThanFoldsUsesOneFoldPerSample() throws {
        var generator = SeededGenerator(seed: 1)
        let folds = try StratifiedFolds(labels: [0, 1, 1], folds: 5, using: &generator)
        XCTAssertEqual(folds.foldCount, 3)
        XCTAssertEqual(folds.foldOfSample.sorted(), [0, 1, 2])
        XCTAssertThrowsError(try StratifiedFolds(labels: [0, 1], folds: 1, using: &generator))
    }
}
