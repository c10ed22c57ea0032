import Randomness
/// Metrics with bootstrap intervals for all samples and for each group.
///
/// Each row is bootstrapped within its own samples (the overall row over all
/// of them); rows are computed in sorted key order from one seeded stream, so
/// the table is a pure function of its inputs and settings.
public struct SubgroupTable: Sendable {
    public struct Row: Sendable, Equatable {
        public let key: String
        public let sampleCount: Int
        public let positiveCount: Int
        public let metrics: [BinaryMetric: ConfidenceInterval]
    }

    /// Key of the row over every sample.
    public static let overallKey = "all"

    public let samples: ScoredSamples
    public let groups: SampleGroups
    public let metrics: [BinaryMetric]
    public let settings: BootstrapSettings
    /// The overall row first, then one per group in sorted key order.
    public let rows: [Row]

    public init(samples: ScoredSamples, groups: SampleGroups,
                metrics: [BinaryMetric] = BinaryMetric.allCases,
                settings: BootstrapSettings = BootstrapSettings()) throws {
        try settings.validate()
        try validateLength(groups.keys, "group keys", expected: samples.count)
        guard !groups.distinctKeys.contains(Self.overallKey) else {
            throw AnalysisError.invalidSetting("'\(Self.overallKey)' is reserved for the overall row; rename that group")
        }
        self.samples = samples
        self.groups = groups
        self.metrics = metrics
        self.settings = settings

        let ranking = metrics.contains { $0.needsRanking }
        var generator = SeededGenerator(seed: settings.seed)
        let memberLists = [Array(0..<samples.count)] + (try groups.distinctKeys.map { try groups.members(of: $0) })
        let keys = [Self.overallKey] + groups.distinctKeys
        rows = zip(keys, memberLists).map { key, members in
            let intervals = Bootstrap.percentileIntervals(
                sampleCount: samples.count, strata: [members],
                resamples: settings.resamples, confidenceLevel: settings.confidenceLevel,
                using: &generator
            ) { multiplicity in
                let values = BinaryMetrics(samples, multiplicity: multiplicity, includeRanking: ranking)
                return metrics.map { values.value(of: $0) }
            }
            return Row(key: key, sampleCount: members.count,
                       positiveCount: members.filter { samples.labels[$0] == 1 }.count,
                       metrics: Dictionary(uniqueKeysWithValues: zip(metrics, intervals)))
        }
    }

    public func row(_ key: String) -> Row? { rows.first { $0.key == key } }

    /// ΔTPR, ΔFPR (or other metrics) between two groups of this table.
    public func disparities(group: String, referenceGroup: String,
                            metrics: [BinaryMetric] = [.truePositiveRate, .falsePositiveRate])
        throws -> [GroupDisparity] {
        try GroupDisparity.estimate(samples: samples, groups: groups, group: group,
                                    referenceGroup: referenceGroup, metrics: metrics, settings: settings)
    }
}
