import Randomness
import Analysis
import Foundation

/// Deterministic synthetic data for the tests.
struct TestData {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func uniform() -> Double { Double(generator.next() >> 11) * 0x1.0p-53 }

    /// Standard normal by Box–Muller.
    mutating func normal() -> Double {
        let u = max(uniform(), .leastNonzeroMagnitude)
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * uniform())
    }

    mutating func bernoulli(_ probability: Double) -> Int { uniform() < probability ? 1 : 0 }

    /// A score that is on the correct side of 0.5 with `correctProbability`,
    /// on a coarse grid so that many samples tie.
    mutating func score(label: Int, correctProbability: Double) -> Double {
        let correct = uniform() < correctProbability
        let predictsOne = (label == 1) == correct
        let margin = Double(Int(uniform() * 5)) / 10
        return predictsOne ? 0.55 + margin / 1.1 : 0.45 - margin
    }

    /// n × d Float matrix of standard normals.
    mutating func noiseFeatures(rows: Int, columns: Int) -> [Float] {
        (0..<(rows * columns)).map { _ in Float(normal()) }
    }
}
