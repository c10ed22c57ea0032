import Foundation

/// Normal and truncated-normal distributions: CDF and quantile, used for
/// stratified (quantile) sampling of effect coefficients.
public struct NormalDistribution: Sendable, Equatable {
    public var mean: Double
    public var deviation: Double
    /// Truncation bounds in standard units (nil: none).
    public var lowerBound: Double?
    public var upperBound: Double?

    public init(mean: Double = 0, deviation: Double = 1, truncatedAt bound: Double? = nil) {
        self.mean = mean
        self.deviation = deviation
        lowerBound = bound.map { -$0 }
        upperBound = bound
    }

    /// Standard normal CDF Φ(z).
    public static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// Standard normal quantile Φ⁻¹(p) for p in (0, 1): Acklam's rational
    /// approximation refined by one Halley step (relative error ~1e-15).
    public static func quantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "quantile needs 0 < p < 1")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let error = cdf(x) - p
        let u = error * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// The value at cumulative probability p of this (possibly truncated) distribution.
    public func quantile(_ p: Double) -> Double {
        let lower = lowerBound.map(Self.cdf) ?? 0
        let upper = upperBound.map(Self.cdf) ?? 1
        let q = min(max(lower + p * (upper - lower), 1e-300), 1 - 1e-16)
        return mean + deviation * Self.quantile(q)
    }

    /// A random draw by inversion.
    public func sample(using generator: inout SeededGenerator) -> Double {
        quantile(generator.openUniform())
    }

    /// `count` draws stratified over the quantiles: one in each of `count`
    /// equal-probability bins, jittered within it, in random order. Two
    /// groups drawn this way have nearly the same empirical distribution,
    /// which is what makes bias groups comparable.
    public func stratifiedSample(count: Int, using generator: inout SeededGenerator) -> [Double] {
        var bins = Array(0..<count)
        bins.deterministicShuffle(using: &generator)
        return bins.map { bin in quantile((Double(bin) + generator.openUniform()) / Double(count)) }
    }
}
