/// The counterfactual comparison: a model trained with the bias and its twin
/// trained on the same cohort without it, both evaluated on the same test
/// subjects. For a metric M (TPR by default),
///   Δ_model = M(bias group) − M(no-bias group),
///   ΔΔ      = Δ_biased − Δ_twin,
/// the part of the disparity the bias itself caused.
///
/// Every resample draws subjects within each group and applies the same draw
/// to both models, so the paired structure (same subject, two models) and the
/// group sizes are kept.
public struct CounterfactualDisparity: Sendable, Equatable {
    public let metric: BinaryMetric
    public let biasGroup: String
    public let referenceGroup: String
    public let biasedModelDifference: ConfidenceInterval
    public let twinModelDifference: ConfidenceInterval
    public let differenceOfDifferences: ConfidenceInterval

    /// - Parameters:
    ///   - biased, twin: the two models' predictions; sample i is the same
    ///     subject in both, so the labels must agree.
    public static func estimate(
        biased: ScoredSamples,
        twin: ScoredSamples,
        groups: SampleGroups,
        biasGroup: String,
        referenceGroup: String,
        metrics: [BinaryMetric] = [.truePositiveRate, .falsePositiveRate],
        settings: BootstrapSettings = BootstrapSettings()
    ) throws -> [CounterfactualDisparity] {
        try validateLength(twin.labels, "twin model samples", expected: biased.count)
        try validateLength(groups.keys, "group keys", expected: biased.count)
        if let mismatch = biased.labels.indices.first(where: { biased.labels[$0] != twin.labels[$0] }) {
            throw AnalysisError.invalidSetting(
                "biased and twin samples must be the same subjects, but labels differ at index \(mismatch)")
        }
        let comparison = try GroupComparison(groups: groups, group: biasGroup, referenceGroup: referenceGroup)
        // Statistics come in triples per metric: Δ_biased, Δ_twin, ΔΔ.
        let intervals = try Bootstrap.percentileIntervals(
            sampleCount: biased.count, strata: comparison.strata, settings: settings
        ) { multiplicity in
            let biasedDifferences = comparison.differences(biased, multiplicity: multiplicity, metrics: metrics)
            let twinDifferences = comparison.differences(twin, multiplicity: multiplicity, metrics: metrics)
            return zip(biasedDifferences, twinDifferences).flatMap { b, t -> [Double?] in
                let differenceOfDifferences: Double? = if let b, let t { b - t } else { nil }
                return [b, t, differenceOfDifferences]
            }
        }
        return metrics.enumerated().map { position, metric in
            CounterfactualDisparity(
                metric: metric, biasGroup: biasGroup, referenceGroup: referenceGroup,
                biasedModelDifference: intervals[3 * position],
                twinModelDifference: intervals[3 * position + 1],
                differenceOfDifferences: intervals[3 * position + 2])
        }
    }
}
