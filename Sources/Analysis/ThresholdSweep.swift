/// Weighted true- and false-positive totals at every distinct score, walking
/// from the highest score down (sklearn's `_binary_clf_curve`): samples with
/// equal scores enter together, so ties are one step, not an arbitrary order.
/// Samples of weight zero are skipped, so a bootstrap resample given as
/// multiplicities yields exactly the curve of the duplicated sample list.
struct ThresholdSweep {
    struct Step {
        /// Samples scoring at least this are called positive.
        let threshold: Double
        let truePositives: Double
        let falsePositives: Double
    }

    let steps: [Step]
    let totalPositives: Double
    let totalNegatives: Double

    init(_ samples: ScoredSamples, weights: [Double]) {
        var steps: [Step] = []
        var truePositives = 0.0
        var falsePositives = 0.0
        var pendingScore: Double? = nil
        for index in samples.descendingOrder where weights[index] > 0 {
            let score = samples.scores[index]
            if let pending = pendingScore, pending != score {
                steps.append(Step(threshold: pending, truePositives: truePositives,
                                  falsePositives: falsePositives))
            }
            pendingScore = score
            if samples.labels[index] == 1 {
                truePositives += weights[index]
            } else {
                falsePositives += weights[index]
            }
        }
        if let pending = pendingScore {
            steps.append(Step(threshold: pending, truePositives: truePositives,
                              falsePositives: falsePositives))
        }
        self.steps = steps
        totalPositives = truePositives
        totalNegatives = falsePositives
    }

    /// Area under the ROC curve by the trapezoid rule over the grouped steps,
    /// which equals the Mann–Whitney statistic with tied pairs counted ½.
    /// nil when one class is absent.
    var areaUnderROC: Double? {
        guard totalPositives > 0, totalNegatives > 0 else { return nil }
        var area = 0.0
        var previousTP = 0.0
        var previousFP = 0.0
        for step in steps {
            area += (step.falsePositives - previousFP) * (step.truePositives + previousTP) / 2
            previousTP = step.truePositives
            previousFP = step.falsePositives
        }
        return area / (totalPositives * totalNegatives)
    }

    /// Σ (R_n − R_{n−1}) P_n over the steps, exactly sklearn's
    /// `average_precision_score` (no interpolation). nil without positives.
    var averagePrecision: Double? {
        guard totalPositives > 0 else { return nil }
        var sum = 0.0
        var previousRecall = 0.0
        for step in steps {
            let recall = step.truePositives / totalPositives
            let precision = step.truePositives / (step.truePositives + step.falsePositives)
            sum += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return sum
    }
}
