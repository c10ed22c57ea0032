import Foundation
import Randomness
import XCTest

final class RandomnessTests: XCTestCase {
    func testXoshiroMatchesTheReferenceSequence() {
        // Reference: xoshiro256** with state {1, 2, 3, 4} (the authors' C code)
        // gives 11520, 0, 1509978240, 1215971899390074240 first.
        var generator = try! SeededGenerator(state: [1, 2, 3, 4])
        XCTAssertEqual((0..<4).map { _ in generator.next() }, [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
    }

    func testSameSeedSameStreamAndSavedStateResumes() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in b.next() })
        let saved = a.state
        let continued = (0..<5).map { _ in a.next() }
        var restored = try! SeededGenerator(state: saved)
        XCTAssertEqual((0..<5).map { _ in restored.next() }, continued)
        var other = SeededGenerator(seed: 42, stream: 1, "noise")
        var another = SeededGenerator(seed: 42, stream: 2, "noise")
        XCTAssertNotEqual(other.next(), another.next())
        XCTAssertThrowsError(try SeededGenerator(state: [0, 0, 0, 0]))
        XCTAssertThrowsError(try SeededGenerator(state: [1, 2]))
    }

    func testNormalQuantileAgainstKnownValues() {
        XCTAssertEqual(NormalDistribution.quantile(0.5), 0, accuracy: 1e-14)
        XCTAssertEqual(NormalDistribution.quantile(0.975), 1.959963984540054, accuracy: 1e-12)
        XCTAssertEqual(NormalDistribution.quantile(0.001), -3.090232306167813, accuracy: 1e-11)
        XCTAssertEqual(NormalDistribution.quantile(1e-10), -6.361340902404056, accuracy: 1e-9)
        for p in stride(from: 0.01, to: 1, by: 0.07) {
            XCTAssertEqual(NormalDistribution.cdf(NormalDistribution.quantile(p)), p, accuracy: 1e-14)
        }
    }

    func testTruncatedQuantileStaysInBounds() {
        let truncated = NormalDistribution(mean: 0, deviation: 1, truncatedAt: 3.5)
        XCTAssertEqual(truncated.quantile(1e-12), -3.5, accuracy: 1e-6)
        XCTAssertEqual(truncated.quantile(1 - 1e-12), 3.5, accuracy: 1e-4)
        XCTAssertEqual(truncated.quantile(0.5), 0, accuracy: 1e-12)
    }

    func testDrawsHaveTheRightMoments() {
        var generator = SeededGenerator(seed: 3)
        let draws = (0..<200_000).map { _ in generator.normal(mean: 2, deviation: 1.5) }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count - 1)
        XCTAssertEqual(mean, 2, accuracy: 0.02)
        XCTAssertEqual(variance.squareRoot(), 1.5, accuracy: 0.02)
    }

    func testStratifiedSamplesCoverEveryQuantileBin() {
        var generator = SeededGenerator(seed: 9)
        let distribution = NormalDistribution(mean: 1, deviation: 1)
        let values = distribution.stratifiedSample(count: 50, using: &generator)
        let bins = values.map { Int(NormalDistribution.cdf($0 - 1) * 50) }.sorted()
        XCTAssertEqual(bins, Array(0..<50))
    }

    func testShuffleIsAPermutationAndDeterministic() {
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        var x = Array(0..<100), y = Array(0..<100)
        x.deterministicShuffle(using: &a)
        y.deterministicShuffle(using: &b)
        XCTAssertEqual(x, y)
        XCTAssertNotEqual(x, Array(0..<100))
        XCTAssertEqual(x.sorted(), Array(0..<100))
    }
}
