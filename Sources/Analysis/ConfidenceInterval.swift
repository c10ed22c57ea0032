/// A point estimate with a bootstrap percentile interval.
///
/// `estimate` is the statistic on the original samples; `lower`/`upper` are
/// nil when the statistic is undefined in every resample. Resamples in which
/// the statistic is undefined (say TPR of a resample without positives) are
/// skipped; `resamplesUsed` says how many were left.
public struct ConfidenceInterval: Sendable, Equatable {
    public let estimate: Double?
    public let lower: Double?
    public let upper: Double?
    public let confidenceLevel: Double
    public let resamplesUsed: Int
    public let resamplesRequested: Int

    public init(estimate: Double?, lower: Double?, upper: Double?, confidenceLevel: Double,
                resamplesUsed: Int, resamplesRequested: Int) {
        self.estimate = estimate
        self.lower = lower
        self.upper = upper
        self.confidenceLevel = confidenceLevel
        self.resamplesUsed = resamplesUsed
        self.resamplesRequested = resamplesRequested
    }

    /// Whether `value` lies in [lower, upper]; false when the interval is undefined.
    public func contains(_ value: Double) -> Bool {
        guard let lower, let upper else { return false }
        return lower <= value && value <= upper
    }

    /// Whether the interval lies entirely above or below zero (a difference
    /// that the bootstrap calls significant at this level).
    public var excludesZero: Bool {
        guard let lower, let upper else { return false }
        return lower > 0 || upper < 0
    }
}
