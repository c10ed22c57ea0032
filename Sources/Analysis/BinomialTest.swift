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

    /// The smallest number of successes out of `trials` whose one-sided
    /// p-value is below `level` at `nullProbability`; nil when even all
    /// `trials` successes are not (too few trials to ever show anything).
    public static func criticalSuccesses(trials: Int, nullProbability: Double, level: Double = 0.05) -> Int? {
        guard trials > 0, (0...1).contains(nullProbability),
              upperTail(successes: trials, trials: trials, probability: nullProbability) < level else { return nil }
        // The upper tail falls as the successes rise: bisect for the first k below the level.
        var low = 0, high = trials
        while low < high {
            let middle = (low + high) / 2
            if upperTail(successes: middle, trials: trials, probability: nullProbability) < level { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The chance that the test at `level` rejects chance when the true
    /// success probability is `alternative`: P(X ≥ critical successes) for
    /// X ~ Binomial(trials, alternative); 0 when no count could reject.
    public static func power(trials: Int, nullProbability: Double, alternative: Double, level: Double = 0.05) -> Double {
        guard (0...1).contains(alternative),
              let critical = criticalSuccesses(trials: trials, nullProbability: nullProbability, level: level) else { return 0 }
        return upperTail(successes: critical, trials: trials, probability: alternative)
    }

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
