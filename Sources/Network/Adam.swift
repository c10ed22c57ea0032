// Adam exactly as Keras applies it (tf.keras / Keras 3), which folds the
// bias corrections into the step size and adds ε to sqrt(v) rather than to
// sqrt(v̂):
//   t  = step + 1
//   m  = β₁·m + (1 − β₁)·g
//   v  = β₂·v + (1 − β₂)·g²
//   αₜ = lr · sqrt(1 − β₂ᵗ) / (1 − β₁ᵗ)
//   p −= αₜ · m / (sqrt(v) + ε)
// Non-trainable slices (batch-norm moving statistics) are skipped.

public final class Adam {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    /// m and v over the whole flat buffer, so they checkpoint like the parameters.
    public let firstMoment: Tensor
    public let secondMoment: Tensor
    /// Updates applied so far (Keras's `iterations`).
    public private(set) var step: Int = 0
    private let trainableRanges: [Range<Int>]

    public init(layout: ParameterLayout, learningRate: Float = 1e-4,
                beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        firstMoment = Tensor(shape: [layout.totalCount])
        secondMoment = Tensor(shape: [layout.totalCount])
        trainableRanges = layout.slices.filter(\.trainable).map(\.range)
    }

    public func update(parameters: Tensor, gradients: Tensor) {
        precondition(parameters.count == firstMoment.count && gradients.count == firstMoment.count,
                     "optimizer built for \(firstMoment.count) parameters")
        step += 1
        let t = Double(step)
        let correction = Float((1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t)))
        let stepSize = learningRate * correction
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let p = parameters.data, g = gradients.data, m = firstMoment.data, v = secondMoment.data
        // 16 at a time: the four buffers may alias as far as the compiler
        // knows, so a plain loop stays scalar (one sqrt and one divide each).
        for range in trainableRanges {
            var i = range.lowerBound
            while i < range.upperBound {
                let n = Swift.min(laneCount, range.upperBound - i)
                let gradient = loadLanes(g + i, n)
                let first = b1 * loadLanes(m + i, n) + (1 - b1) * gradient
                let second = b2 * loadLanes(v + i, n) + (1 - b2) * gradient * gradient
                storeLanes(first, m + i, n)
                storeLanes(second, v + i, n)
                storeLanes(loadLanes(p + i, n) - stepSize * first / (second.squareRoot() + eps), p + i, n)
                i += n
            }
        }
    }

    /// Sets the update count (after the moments were written in place, e.g.
    /// received from another rank).
    public func restore(step: Int) throws {
        guard step >= 0 else { throw NetworkError.invalidConfiguration("negative Adam step \(step)") }
        self.step = step
    }

    /// Restores a checkpointed state; sizes must match this optimizer.
    public func load(firstMoment m: [Float], secondMoment v: [Float], step: Int) throws {
        guard step >= 0 else { throw NetworkError.invalidConfiguration("negative Adam step \(step)") }
        guard v.count == secondMoment.count else {
            throw NetworkError.sizeMismatch(what: "Adam second moment", expected: secondMoment.count, actual: v.count)
        }
        try firstMoment.load(m, what: "Adam first moment")
        try secondMoment.load(v, what: "Adam second moment")
        self.step = step
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
