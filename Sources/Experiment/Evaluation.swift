import Analysis

/// Subgroup metrics of one model on the test split: overall, per bias
/// group and per site, each with bootstrap intervals, and the disparities
/// ΔTPR, ΔFPR of every bias group against the no-bias group.
public struct Evaluation: Sendable {
    public static let metrics: [BinaryMetric] = [.accuracy, .truePositiveRate, .trueNegativeRate,
                                                 .falsePositiveRate, .averagePrecision, .areaUnderROC]
    public static let disparityMetrics: [BinaryMetric] = [.truePositiveRate, .falsePositiveRate]

    public let predictions: Predictions
    /// Each sample's bias-group name.
    public let groupKeys: [String]
    public let siteKeys: [String]
    public let byGroup: SubgroupTable
    /// Per site; nil with one site.
    public let bySite: SubgroupTable?
    /// Per site × bias group ("site-2|morph"); nil with one site.
    public let bySiteAndGroup: SubgroupTable?
    public let disparities: [GroupDisparity]

    public init(predictions: Predictions, groupNames: GroupNames, siteNames: [String],
                settings: BootstrapSettings) throws {
        self.predictions = predictions
        let samples = try ScoredSamples(labels: predictions.labels, scores: predictions.scores)
        groupKeys = predictions.groups.map(groupNames.name(of:))
        siteKeys = predictions.sites.map { $0 < siteNames.count ? siteNames[$0] : "site-\($0 + 1)" }
        let byGroup = try SubgroupTable(samples: samples, groups: SampleGroups(groupKeys), metrics: Self.metrics,
                                        settings: settings)
        self.byGroup = byGroup
        let severalSites = Set(siteKeys).count > 1
        bySite = severalSites
            ? try SubgroupTable(samples: samples, groups: SampleGroups(siteKeys), metrics: Self.metrics, settings: settings)
            : nil
        bySiteAndGroup = severalSites
            ? try SubgroupTable(samples: samples, groups: try SampleGroups.combining([siteKeys, groupKeys]),
                                metrics: Self.metrics, settings: settings)
            : nil
        let present = Set(byGroup.groups.distinctKeys)
        disparities = present.contains(GroupNames.none)
            ? try present.subtracting([GroupNames.none]).sorted().flatMap {
                try byGroup.disparities(group: $0, referenceGroup: GroupNames.none, metrics: Self.disparityMetrics)
            }
            : []
    }
}
