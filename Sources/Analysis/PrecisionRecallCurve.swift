/// Precision against recall, one point per distinct score from the highest
/// threshold down (recall rising). sklearn's `precision_recall_curve` returns
/// the same points in the opposite order plus a final (recall 0, precision 1)
/// that is a plotting convention, not an operating point; it is left out here.
public struct PrecisionRecallCurve: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public let threshold: Double
        public let recall: Double
        public let precision: Double
    }

    public let points: [Point]
    /// Step-wise area (= `BinaryMetrics.averagePrecision`).
    public let averagePrecision: Double

    /// nil when no positive sample has positive weight.
    public init?(_ samples: ScoredSamples) {
        let sweep = ThresholdSweep(samples, weights: samples.weights)
        guard let averagePrecision = sweep.averagePrecision else { return nil }
        self.averagePrecision = averagePrecision
        points = sweep.steps.map {
            Point(threshold: $0.threshold,
                  recall: $0.truePositives / sweep.totalPositives,
                  precision: $0.truePositives / ($0.truePositives + $0.falsePositives))
        }
    }
}
