/// Receiver operating characteristic: one point per distinct score, from the
/// highest threshold down, preceded by (0, 0) at threshold +∞ as in sklearn's
/// `roc_curve` (all points are kept: sklearn's `drop_intermediate` is off).
public struct ROCCurve: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public let threshold: Double
        public let falsePositiveRate: Double
        public let truePositiveRate: Double
    }

    public let points: [Point]
    /// Area under the curve (= `BinaryMetrics.areaUnderROC`).
    public let area: Double

    /// nil unless both classes have positive weight.
    public init?(_ samples: ScoredSamples) {
        let sweep = ThresholdSweep(samples, weights: samples.weights)
        guard let area = sweep.areaUnderROC else { return nil }
        self.area = area
        points = [Point(threshold: .infinity, falsePositiveRate: 0, truePositiveRate: 0)]
            + sweep.steps.map {
                Point(threshold: $0.threshold,
                      falsePositiveRate: $0.falsePositives / sweep.totalNegatives,
                      truePositiveRate: $0.truePositives / sweep.totalPositives)
            }
    }
}
