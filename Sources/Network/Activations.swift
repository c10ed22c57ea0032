#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Nonlinearity after each block's batch norm. Both are monotone
/// non-decreasing, which the fused block kernel relies on: the max of the
/// activated window equals the activation of the window's max, so the
/// activation runs once per pooled output instead of once per voxel.
public enum Activation: String, Sendable, Codable, CaseIterable {
    case sigmoid, relu

    @inline(__always)
    public func apply(_ y: Float) -> Float {
        switch self {
        // The lane version, so the plain layer and the fused kernel agree bit for bit.
        case .sigmoid: return apply(Lanes(repeating: y))[0]
        case .relu: return y > 0 ? y : 0
        }
    }

    /// Derivative written through the output, so backward needs only what
    /// forward kept: σ' = σ(1 − σ); relu' = 1 where the output is positive
    /// (TensorFlow's convention at 0).
    @inline(__always)
    public func derivative(output s: Float) -> Float {
        switch self {
        case .sigmoid: return s * (1 - s)
        case .relu: return s > 0 ? 1 : 0
        }
    }
}

/// out = act(x); x, out [count]
public func activationForward(
    out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, activation: Activation
) {
    for i in 0..<count { out[i] = activation.apply(x[i]) }
}

/// dx = dOut · act'(x), written via the saved output; dx, dOut, out [count]
public func activationBackward(
    dx: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, out: UnsafePointer<Float>,
    count: Int, activation: Activation
) {
    for i in 0..<count { dx[i] = dOut[i] * activation.derivative(output: out[i]) }
}
