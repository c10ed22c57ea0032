@testable import Analysis
import Network
import Randomness
import XCTest

final class SmoothGradTests: XCTestCase {
    func model() throws -> SimbaCNN {
        let configuration = SimbaCNNConfiguration(input: Grid3(6, 5, 4), widths: [2, 3])
        return try SimbaCNN(configuration: configuration, maxBatch: 2, seed: 7)
    }

    func image() -> [Float] {
        var generator = SeededGenerator(seed: 3)
        return (0..<120).map { _ in generator.symmetric(limit: 0.5) }
    }

    /// Without noise and with one copy the map is |∂logit/∂x| scaled to
    /// [0, 1]: checked against central finite differences of the logit.
    func testNoiseFreeMapIsTheScaledAbsoluteGradient() throws {
        let network = try model()
        let x = image()
        let map = SmoothGrad(copies: 1, noise: 0).map(model: network, image: x, classIndex: 1, sample: 0)
        var reference: [Double] = []
        let h: Float = 1e-2
        for v in x.indices {
            var plus = x, minus = x
            plus[v] += h
            minus[v] -= h
            let up = Double(network.forward(plus, batch: 1, mode: .eval)[1])
            let down = Double(network.forward(minus, batch: 1, mode: .eval)[1])
            reference.append(abs(up - down) / Double(2 * h))
        }
        let low = reference.min()!, high = reference.max()!
        for v in x.indices {
            XCTAssertEqual(Double(map[v]), (reference[v] - low) / (high - low), accuracy: 0.02, "voxel \(v)")
        }
        XCTAssertEqual(map.max(), 1)
        XCTAssertEqual(map.min(), 0)
    }

    func testNoisyMapsAreReproduciblePerSample() throws {
        let network = try model()
        let smoothing = SmoothGrad(copies: 5, noise: 0.2, seed: 1)
        let first = smoothing.map(model: network, image: image(), classIndex: 0, sample: 4)
        let again = smoothing.map(model: network, image: image(), classIndex: 0, sample: 4)
        let other = smoothing.map(model: network, image: image(), classIndex: 0, sample: 5)
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first, other)
        XCTAssertTrue(first.allSatisfy { (0...1).contains($0) })
    }

    func testRegionScoresFollowSimBAsDefinitions() {
        // Region 1: 4 voxels, 2 salient (0.8, 0.4); region 2: 2 voxels, 1 salient (0.2).
        let map: [Float] = [0.8, 0.4, 0, 0, 0.2, 0, 0.9]
        let labels: [Int32] = [1, 1, 1, 1, 2, 2, 0]
        let scores = RegionSaliency.scores(map: map, labels: labels)
        XCTAssertEqual(scores.map(\.label), [1, 2])
        XCTAssertEqual(scores[0].coverage, 50)
        XCTAssertEqual(scores[0].mean, 0.6, accuracy: 1e-6)
        XCTAssertEqual(scores[0].normalizedMean, 1)
        XCTAssertEqual(scores[0].weightedScore, 50, accuracy: 1e-9)
        XCTAssertEqual(scores[1].coverage, 50)
        XCTAssertEqual(scores[1].normalizedMean, 0)
    }
}
