/// metric(group) − metric(referenceGroup) for one model, e.g. ΔTPR between
/// the bias group and the no-bias group, with a bootstrap interval.
///
/// The two groups are resampled separately, each keeping its size: they are
/// independent samples, and a group's size is part of the design.
public struct GroupDisparity: Sendable, Equatable {
    public let metric: BinaryMetric
    public let group: String
    public let referenceGroup: String
    public let difference: ConfidenceInterval

    public static func estimate(
        samples: ScoredSamples,
        groups: SampleGroups,
        group: String,
        referenceGroup: String,
        metrics: [BinaryMetric] = [.truePositiveRate, .falsePositiveRate],
        settings: BootstrapSettings = BootstrapSettings()
    ) throws -> [GroupDisparity] {
        try validateLength(groups.keys, "group keys", expected: samples.count)
        let comparison = try GroupComparison(groups: groups, group: group, referenceGroup: referenceGroup)
        let intervals = try Bootstrap.percentileIntervals(
            sampleCount: samples.count, strata: comparison.strata, settings: settings
        ) { multiplicity in
            comparison.differences(samples, multiplicity: multiplicity, metrics: metrics)
        }
        return zip(metrics, intervals).map {
            GroupDisparity(metric: $0, group: group, referenceGroup: referenceGroup, difference: $1)
        }
    }
}

/// Two groups of the same test set and how to compute metric differences
/// between them under bootstrap multiplicities.
struct GroupComparison {
    let groupMask: [Double]
    let referenceMask: [Double]
    let strata: [[Int]]

    init(groups: SampleGroups, group: String, referenceGroup: String) throws {
        guard group != referenceGroup else {
            throw AnalysisError.invalidSetting("a disparity needs two different groups, got '\(group)' twice")
        }
        groupMask = try groups.mask(of: group)
        referenceMask = try groups.mask(of: referenceGroup)
        strata = [try groups.members(of: group), try groups.members(of: referenceGroup)]
    }

    /// metric(group) − metric(reference) for each metric; nil where either is undefined.
    func differences(_ samples: ScoredSamples, multiplicity: [Double], metrics: [BinaryMetric]) -> [Double?] {
        let ranking = metrics.contains { $0.needsRanking }
        let inGroup = BinaryMetrics(samples, multiplicity: zip(multiplicity, groupMask).map { $0 * $1 },
                                    includeRanking: ranking)
        let inReference = BinaryMetrics(samples, multiplicity: zip(multiplicity, referenceMask).map { $0 * $1 },
                                        includeRanking: ranking)
        return metrics.map { metric in
            guard let a = inGroup.value(of: metric), let b = inReference.value(of: metric) else { return nil }
            return a - b
        }
    }
}
