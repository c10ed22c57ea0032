import Randomness
/// How many resamples, at which level, from which seed.
public struct BootstrapSettings: Sendable, Equatable {
    public var resamples: Int
    public var confidenceLevel: Double
    public var seed: UInt64

    public init(resamples: Int = 1000, confidenceLevel: Double = 0.95, seed: UInt64 = 0) {
        self.resamples = resamples
        self.confidenceLevel = confidenceLevel
        self.seed = seed
    }

    func validate() throws {
        guard resamples >= 1 else {
            throw AnalysisError.invalidSetting("bootstrap resamples must be at least 1, got \(resamples)")
        }
        guard confidenceLevel > 0, confidenceLevel < 1 else {
            throw AnalysisError.invalidSetting("confidence level must lie in (0, 1), got \(confidenceLevel)")
        }
    }
}

/// Percentile bootstrap.
///
/// A resample is given to the statistic as multiplicities, one count per
/// sample (how often it was drawn; 0 for samples outside every stratum). That
/// keeps pairs together for free: two models evaluated on the same subjects
/// read the same multiplicities, so subject i of the biased model and of its
/// no-bias twin are always drawn together.
public enum Bootstrap {
    /// Intervals for several statistics computed from the same resamples.
    ///
    /// - Parameters:
    ///   - sampleCount: length of the multiplicity vector.
    ///   - strata: index sets resampled independently with replacement, each
    ///     keeping its size (one stratum = ordinary bootstrap; one per group =
    ///     group sizes fixed, as when comparing groups).
    ///   - statistics: the statistics for given multiplicities, nil where undefined;
    ///     the estimate uses multiplicity 1 on every stratum member.
    public static func percentileIntervals<G: RandomNumberGenerator>(
        sampleCount: Int,
        strata: [[Int]],
        resamples: Int,
        confidenceLevel: Double,
        using generator: inout G,
        statistics: ([Double]) -> [Double?]
    ) -> [ConfidenceInterval] {
        var multiplicity = Array(repeating: 0.0, count: sampleCount)
        for stratum in strata { for index in stratum { multiplicity[index] = 1 } }
        let estimates = statistics(multiplicity)
        var replicates = Array(repeating: [Double](), count: estimates.count)
        for replicate in replicates.indices { replicates[replicate].reserveCapacity(resamples) }

        for _ in 0..<resamples {
            for index in multiplicity.indices { multiplicity[index] = 0 }
            for stratum in strata where !stratum.isEmpty {
                for _ in stratum.indices {
                    multiplicity[stratum[generator.nextIndex(below: stratum.count)]] += 1
                }
            }
            for (statistic, value) in statistics(multiplicity).enumerated() {
                if let value, value.isFinite { replicates[statistic].append(value) }
            }
        }

        let tail = (1 - confidenceLevel) / 2
        return zip(estimates, replicates).map { estimate, values in
            let sorted = values.sorted()
            return ConfidenceInterval(
                estimate: estimate,
                lower: percentile(sorted: sorted, fraction: tail),
                upper: percentile(sorted: sorted, fraction: 1 - tail),
                confidenceLevel: confidenceLevel,
                resamplesUsed: sorted.count,
                resamplesRequested: resamples)
        }
    }

    /// `percentileIntervals` with validated settings and a generator seeded from them.
    public static func percentileIntervals(
        sampleCount: Int,
        strata: [[Int]]? = nil,
        settings: BootstrapSettings,
        statistics: ([Double]) -> [Double?]
    ) throws -> [ConfidenceInterval] {
        try settings.validate()
        var generator = SeededGenerator(seed: settings.seed)
        return percentileIntervals(
            sampleCount: sampleCount, strata: strata ?? [Array(0..<sampleCount)],
            resamples: settings.resamples, confidenceLevel: settings.confidenceLevel,
            using: &generator, statistics: statistics)
    }

    /// The interval of one statistic, seeded from `settings`.
    public static func percentileInterval(
        sampleCount: Int,
        strata: [[Int]]? = nil,
        settings: BootstrapSettings = BootstrapSettings(),
        statistic: ([Double]) -> Double?
    ) throws -> ConfidenceInterval {
        try percentileIntervals(sampleCount: sampleCount, strata: strata, settings: settings) {
            [statistic($0)]
        }[0]
    }

    /// Linear interpolation between order statistics (numpy's default
    /// `percentile` method), nil for an empty list.
    static func percentile(sorted: [Double], fraction: Double) -> Double? {
        guard let first = sorted.first else { return nil }
        guard sorted.count > 1 else { return first }
        let position = fraction * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        let weight = position - Double(below)
        return sorted[below] + weight * (sorted[above] - sorted[below])
    }
}
