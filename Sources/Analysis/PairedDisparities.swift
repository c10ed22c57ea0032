/// Δ = metric(bias group) − metric(reference group) of several models
/// scored on the same test subjects, and linear contrasts between those
/// Δs: ΔΔ = Δ(biased model) − Δ(twin model) is the contrast (1, −1); the
/// counterfactual decomposition scores two models on two cohorts' images
/// (same subjects) and contrasts the four Δs.
///
/// One resample draws subjects within each group and applies the draw to
/// every model, so the pairs (same subject, several models) stay together.
public struct PairedDisparities: Sendable {
    public let metrics: [BinaryMetric]
    /// Weights over the models, one vector per contrast.
    public let contrasts: [[Double]]
    let models: [ScoredSamples]
    let comparison: GroupComparison

    public init(models: [ScoredSamples], groups: SampleGroups, biasGroup: String, referenceGroup: String,
                metrics: [BinaryMetric], contrasts: [[Double]] = []) throws {
        guard let first = models.first else { throw AnalysisError.invalidSetting("paired disparities need at least one model") }
        try validateLength(groups.keys, "group keys", expected: first.count)
        for (position, model) in models.enumerated().dropFirst() {
            try validateLength(model.labels, "samples of model \(position)", expected: first.count)
            if let mismatch = first.labels.indices.first(where: { first.labels[$0] != model.labels[$0] }) {
                throw AnalysisError.invalidSetting(
                    "paired models must be scored on the same subjects, but labels differ at index \(mismatch) (model \(position))")
            }
        }
        if let wrong = contrasts.first(where: { $0.count != models.count }) {
            throw AnalysisError.invalidSetting("a contrast needs one weight per model (\(models.count)), got \(wrong.count)")
        }
        self.models = models
        self.metrics = metrics
        self.contrasts = contrasts
        comparison = try GroupComparison(groups: groups, group: biasGroup, referenceGroup: referenceGroup)
    }

    public var sampleCount: Int { models[0].count }
    /// The bias group's and the reference group's members, resampled apart.
    public var strata: [[Int]] { comparison.strata }
    /// Statistics per metric: each model's Δ, then each contrast.
    public var statisticsPerMetric: Int { models.count + contrasts.count }

    /// Laid out metric by metric: the models' Δs, then the contrasts; nil
    /// where a Δ in it is undefined.
    public func statistics(multiplicity: [Double]) -> [Double?] {
        let differences = models.map { comparison.differences($0, multiplicity: multiplicity, metrics: metrics) }
        return metrics.indices.flatMap { metric -> [Double?] in
            let deltas = differences.map { $0[metric] }
            let combined = contrasts.map { weights -> Double? in
                var sum = 0.0
                for (weight, delta) in zip(weights, deltas) where weight != 0 {
                    guard let delta else { return nil }
                    sum += weight * delta
                }
                return sum
            }
            return deltas + combined
        }
    }
}
