/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64: fast,
/// statistically strong, and fully determined by its 256-bit state, which
/// can be saved and restored (checkpoints). The same seed gives the same
/// stream on every machine and rank count.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mixer = SplitMix64(seed)
        words = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
    }

    /// A generator for one purpose derived from a seed: independent streams
    /// for (seed, "design"), (seed, sample 17, "noise"), …
    public init(seed: UInt64, stream: UInt64, _ purpose: StaticString = "") {
        var hash = SplitMix64(seed ^ 0x9E37_79B9_7F4A_7C15)
        var key = hash.next() ^ stream &* 0xD1B5_4A32_D192_ED03
        for byte in purpose.withUTF8Buffer({ Array($0) }) {
            key = (key ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        self.init(seed: key)
    }

    /// Restores a state saved from `state`: four words, not all zero.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw RandomStateError(count: state.count)
        }
        words = (state[0], state[1], state[2], state[3])
    }

    /// The whole generator state; save it (checkpoints) to resume the stream.
    public var state: [UInt64] { [words.0, words.1, words.2, words.3] }

    public mutating func next() -> UInt64 {
        let result = rotate(words.1 &* 5, 7) &* 9
        let shifted = words.1 << 17
        words.2 ^= words.0
        words.3 ^= words.1
        words.1 ^= words.2
        words.0 ^= words.3
        words.2 ^= shifted
        words.3 = rotate(words.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits, the full precision of Float.
    public mutating func unitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [-limit, limit).
    public mutating func symmetric(limit: Float) -> Float {
        (2 * unitFloat() - 1) * limit
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform Double in (0, 1): never exactly 0, for logarithms and quantiles.
    public mutating func openUniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// A standard normal draw (Box–Muller; one of the pair is used so that
    /// the stream position depends only on the number of draws).
    public mutating func normal() -> Double {
        let radius = (-2 * _log(openUniform())).squareRoot()
        return radius * _cos(2 * Double.pi * uniform())
    }

    public mutating func normal(mean: Double, deviation: Double) -> Double {
        mean + deviation * normal()
    }

    /// A uniform integer in 0..<bound, without modulo bias.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next(upperBound: UInt64(bound)))
    }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool { a.state == b.state }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// A saved generator state that cannot be restored.
public struct RandomStateError: Error, CustomStringConvertible, Sendable {
    public let count: Int
    public var description: String {
        "a random-generator state must be 4 words, not all zero (got \(count) words)"
    }
}

/// SplitMix64: turns any 64-bit seed into well-mixed seed material.
public struct SplitMix64: Sendable {
    private var state: UInt64
    public init(_ seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array {
    /// Fisher–Yates shuffle driven by a seeded generator (the standard
    /// library's algorithm is not guaranteed stable across versions).
    public mutating func deterministicShuffle(using generator: inout SeededGenerator) {
        guard count > 1 else { return }
        for i in stride(from: count - 1, to: 0, by: -1) {
            swapAt(i, generator.below(i + 1))
        }
    }
}
