import Foundation

/// One-sided exact binomial test: is the number of successes larger than
/// chance `nullProbability` would give? The p-value is the exact upper tail
/// P(X ≥ successes) for X ~ Binomial(trials, nullProbability).
public struct BinomialTest: Sendable, Equatable {
    public let successes: Int
    public let trials: Int
    public let nullProbability: Double
    public let pValue: Double

    public init(successes: Int, trials: Int, nullProbability: Double) throws {
        guard trials >= 0, successes >= 0, successes <= trials else {
            throw AnalysisError.invalidSetting("binomial test needs 0 ≤ successes ≤ trials, got \(successes) of \(trials)")
        }
        guard nullProbability >= 0, nullProbability <= 1 else {
            throw AnalysisError.invalidSetting("null probability must lie in [0, 1], got \(nullProbability)")
        }
        self.successes = successes
        self.trials = trials
        self.nullProbability = nullProbability
        pValue = Self.upperTail(successes: successes, trials: trials, probability: nullProbability)
    }

    public func isSignificant(at level: Double = 0.05) -> Bool { pValue < level }

    /// Σ_{i ≥ k} C(n, i) pⁱ (1−p)^{n−i}, summed in log space (log-sum-exp) so
    /// that n in the thousands neither overflows nor underflows to zero early.
    static func upperTail(successes k: Int, trials n: Int, probability p: Double) -> Double {
        if k == 0 { return 1 }
        if p == 0 { return 0 }
        if p == 1 { return 1 }
        let logP = log(p)
        let logQ = log1p(-p)
        let logNFactorial = logFactorial(n)
        let logTerms = (k...n).map { i -> Double in
            logNFactorial - logFactorial(i) - logFactorial(n - i)
                + Double(i) * logP + Double(n - i) * logQ
        }
        let largest = logTerms.max()!
        let sum = logTerms.reduce(0.0) { $0 + exp($1 - largest) }
        return min(1, exp(largest + log(sum)))
    }
}

/// log(n!) via the log-gamma function.
private func logFactorial(_ n: Int) -> Double {
    // Glibc also exports lgamma returning (value, sign); the annotation picks the C one.
    let value: Double = lgamma(Double(n + 1))
    return value
}
