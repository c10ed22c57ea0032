// Seeded, portable random numbers for weight initialisation and dropout.
//
// Xoshiro256** (Blackman & Vigna, 2018) seeded through SplitMix64, as its
// authors recommend: SplitMix64 spreads a single 64-bit seed over the 256-bit
// state so that nearby seeds (0, 1, 2 …) give unrelated streams. The whole
// state is four UInt64 values; `state` can be saved with a checkpoint and
// restored so a resumed run draws exactly the numbers the uninterrupted run
// would have drawn.

/// SplitMix64 (Steele, Lea, Flood 2014): used only to expand seeds.
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Xoshiro256**: the generator behind every random draw in the network.
public struct Xoshiro256: Sendable {
    /// The complete generator state; save it to resume the same stream.
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var expander = SplitMix64(seed: seed)
        state = (0..<4).map { _ in expander.next() }
    }

    /// Restores a state saved from `state`; four words, not all zero.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw NetworkError.invalidRandomState(count: state.count)
        }
        self.state = state
    }

    @inline(__always)
    private static func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    public mutating func next() -> UInt64 {
        let result = Self.rotateLeft(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = Self.rotateLeft(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits, the full precision of Float.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [-limit, limit).
    public mutating func nextSymmetric(limit: Float) -> Float {
        (2 * nextUnitFloat() - 1) * limit
    }
}
