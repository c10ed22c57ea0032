/// Threshold and ranking metrics of a binary classifier, optionally weighted.
///
/// The predicted class is 1 iff score > 0.5 (see `ScoredSamples.predictedLabel`).
/// A metric whose denominator is zero is `nil`, never NaN or a crash:
/// - `accuracy`: nil when the total weight is zero;
/// - `truePositiveRate`, `averagePrecision`: nil without positives;
/// - `trueNegativeRate`, `falsePositiveRate`: nil without negatives;
/// - `precision`: nil when nothing is predicted positive;
/// - `areaUnderROC`: nil unless both classes are present.
public struct BinaryMetrics: Sendable, Equatable {
    /// Weighted confusion counts (plain counts when every weight is 1).
    public let truePositives: Double
    public let falsePositives: Double
    public let trueNegatives: Double
    public let falseNegatives: Double
    public let averagePrecision: Double?
    public let areaUnderROC: Double?

    public init(_ samples: ScoredSamples) {
        self.init(samples, multiplicity: nil, includeRanking: true)
    }

    /// `multiplicity` scales each sample's weight: bootstrap counts, or a 0/1
    /// mask selecting a group. Ranking metrics are skipped when not needed.
    init(_ samples: ScoredSamples, multiplicity: [Double]?, includeRanking: Bool) {
        let weights = samples.effectiveWeights(multiplicity: multiplicity)
        var tp = 0.0, fp = 0.0, tn = 0.0, fn = 0.0
        for index in 0..<samples.count where weights[index] > 0 {
            let weight = weights[index]
            let predictedPositive = ScoredSamples.predictedLabel(score: samples.scores[index]) == 1
            if samples.labels[index] == 1 {
                if predictedPositive { tp += weight } else { fn += weight }
            } else {
                if predictedPositive { fp += weight } else { tn += weight }
            }
        }
        truePositives = tp
        falsePositives = fp
        trueNegatives = tn
        falseNegatives = fn
        if includeRanking {
            let sweep = ThresholdSweep(samples, weights: weights)
            averagePrecision = sweep.averagePrecision
            areaUnderROC = sweep.areaUnderROC
        } else {
            averagePrecision = nil
            areaUnderROC = nil
        }
    }

    public var positives: Double { truePositives + falseNegatives }
    public var negatives: Double { trueNegatives + falsePositives }

    public var accuracy: Double? {
        ratio(truePositives + trueNegatives, positives + negatives)
    }
    /// Sensitivity.
    public var truePositiveRate: Double? { ratio(truePositives, positives) }
    /// Specificity.
    public var trueNegativeRate: Double? { ratio(trueNegatives, negatives) }
    /// 1 − specificity.
    public var falsePositiveRate: Double? { ratio(falsePositives, negatives) }
    /// Positive predictive value.
    public var precision: Double? { ratio(truePositives, truePositives + falsePositives) }

    public func value(of metric: BinaryMetric) -> Double? {
        switch metric {
        case .accuracy: return accuracy
        case .truePositiveRate: return truePositiveRate
        case .trueNegativeRate: return trueNegativeRate
        case .falsePositiveRate: return falsePositiveRate
        case .precision: return precision
        case .averagePrecision: return averagePrecision
        case .areaUnderROC: return areaUnderROC
        }
    }

    private func ratio(_ numerator: Double, _ denominator: Double) -> Double? {
        denominator > 0 ? numerator / denominator : nil
    }
}
