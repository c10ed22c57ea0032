import Randomness
/// Does a layer encode a label (the bias, the disease)? PCA of the layer's
/// activations keeping `varianceToKeep` of the variance, then a logistic
/// regression from the component scores to the label, as in SimBA's
/// layer-wise encoding analysis (eBioMedicine 2025).
///
/// The original reports accuracy on the samples the probe was fitted on.
/// With hundreds of components for a few hundred samples that accuracy is
/// near 1 even for pure noise, so this probe also reports stratified k-fold
/// cross-validated accuracy, with PCA refitted on each training fold and
/// applied to the held-out fold, and tests it against chance.
public struct EncodingProbe: Sendable {
    public var folds: Int
    public var varianceToKeep: Double
    /// Seeds the fold assignment.
    public var seed: UInt64
    /// How many leading components to also probe one at a time.
    public var singleComponentCount: Int
    public var classifier: LogisticRegression

    public init(folds: Int = 5, varianceToKeep: Double = 0.99, seed: UInt64 = 0,
                singleComponentCount: Int = 5, classifier: LogisticRegression = LogisticRegression()) {
        self.folds = folds
        self.varianceToKeep = varianceToKeep
        self.seed = seed
        self.singleComponentCount = singleComponentCount
        self.classifier = classifier
    }

    public func evaluate(features: FeatureMatrix, labels: [Int]) throws -> EncodingProbeResult {
        try validateLength(labels, "labels", expected: features.rowCount)
        try validateBinaryLabels(labels)
        guard singleComponentCount >= 0 else {
            throw AnalysisError.invalidSetting("single component count must not be negative")
        }
        guard folds >= 2 else {
            throw AnalysisError.invalidSetting("cross-validation needs at least 2 folds, got \(folds)")
        }
        return try evaluate(gram: CentredGram(features), labels: labels)
    }

    func evaluate(gram: CentredGram, labels: [Int]) throws -> EncodingProbeResult {
        let chance = try ChanceLevel(labels: labels)

        // The original analysis: fit and score on the same samples (the Gram
        // matrix is already centred on all of them).
        let fitted = try PrincipalComponents(centredGram: gram.values, varianceToKeep: varianceToKeep)
        let fitTally = try tally(training: fitted.scores, trainingLabels: labels,
                                 heldOut: fitted.scores, heldOutLabels: labels)
        let fitSingle = try singleComponentTallies(training: fitted.scores, trainingLabels: labels,
                                                   heldOut: fitted.scores, heldOutLabels: labels)

        // Cross-validation; not possible with fewer than two samples.
        var crossValidated = Tally()
        var crossValidatedSingle = Array(repeating: Tally(), count: singleComponentCount)
        var foldAccuracies: [Double] = []
        var foldComponentCounts: [Int] = []
        var foldCount = 0
        if labels.count >= 2 {
            var generator = SeededGenerator(seed: seed)
            let assignment = try StratifiedFolds(labels: labels, folds: folds, using: &generator)
            foldCount = assignment.foldCount
            for fold in 0..<assignment.foldCount {
                let (training, heldOut) = assignment.split(fold)
                let components = try PrincipalComponents(
                    centredGram: gram.recentred(rows: training, columns: training, centre: training),
                    varianceToKeep: varianceToKeep)
                let heldOutScores = components.project(
                    crossGram: gram.recentred(rows: heldOut, columns: training, centre: training))
                let trainingLabels = training.map { labels[$0] }
                let heldOutLabels = heldOut.map { labels[$0] }
                let foldTally = try tally(training: components.scores, trainingLabels: trainingLabels,
                                          heldOut: heldOutScores, heldOutLabels: heldOutLabels)
                crossValidated.add(foldTally)
                foldAccuracies.append(foldTally.accuracy ?? .nan)
                foldComponentCounts.append(components.componentCount)
                let single = try singleComponentTallies(training: components.scores, trainingLabels: trainingLabels,
                                                        heldOut: heldOutScores, heldOutLabels: heldOutLabels)
                for component in single.indices { crossValidatedSingle[component].add(single[component]) }
            }
        }

        return EncodingProbeResult(
            crossValidatedAccuracy: crossValidated.accuracy,
            crossValidatedCorrect: crossValidated.correct,
            crossValidatedCount: crossValidated.total,
            foldCount: foldCount,
            foldAccuracies: foldAccuracies,
            foldComponentCounts: foldComponentCounts,
            fitSetAccuracy: fitTally.accuracy ?? .nan,
            unconvergedFits: fitTally.unconvergedFits + crossValidated.unconvergedFits,
            fitSetComponentCount: fitted.componentCount,
            explainedVarianceRatio: fitted.explainedVarianceRatio,
            singleComponents: (0..<singleComponentCount).map { component in
                SingleComponentAccuracy(
                    component: component,
                    fitSetAccuracy: component < fitSingle.count ? fitSingle[component].accuracy : nil,
                    crossValidatedAccuracy: crossValidatedSingle[component].accuracy)
            },
            chance: chance,
            aboveChanceTest: crossValidated.total > 0
                ? try chance.test(correct: crossValidated.correct, total: crossValidated.total) : nil)
    }

    /// Correct predictions on `heldOut` of a classifier fitted on `training`.
    /// A training set with one class cannot fit a logistic regression (a fold
    /// can lose a rare class); the probe then predicts that class, which is
    /// what the fitted model would tend to.
    private func tally(training: DenseMatrix, trainingLabels: [Int],
                       heldOut: DenseMatrix, heldOutLabels: [Int]) throws -> Tally {
        let predictions: [Int]
        var unconverged = 0
        if Set(trainingLabels).count < 2 {
            predictions = Array(repeating: trainingLabels.first ?? 0, count: heldOutLabels.count)
        } else {
            let model = try classifier.fit(training, labels: trainingLabels)
            predictions = model.predictions(heldOut)
            if !model.converged { unconverged = 1 }
        }
        return Tally(correct: zip(predictions, heldOutLabels).filter { $0 == $1 }.count,
                     total: heldOutLabels.count, unconvergedFits: unconverged)
    }

    /// One tally per leading component that exists (at most `singleComponentCount`).
    private func singleComponentTallies(training: DenseMatrix, trainingLabels: [Int],
                                        heldOut: DenseMatrix, heldOutLabels: [Int]) throws -> [Tally] {
        try (0..<min(singleComponentCount, training.columnCount)).map { component in
            try tally(training: training.columns([component]), trainingLabels: trainingLabels,
                      heldOut: heldOut.columns([component]), heldOutLabels: heldOutLabels)
        }
    }
}

/// Correct predictions out of a total.
struct Tally {
    var correct = 0
    var total = 0
    /// Logistic fits that hit the iteration limit before the tolerance.
    var unconvergedFits = 0

    mutating func add(_ other: Tally) {
        correct += other.correct
        total += other.total
        unconvergedFits += other.unconvergedFits
    }

    var accuracy: Double? { total > 0 ? Double(correct) / Double(total) : nil }
}

/// Accuracy of a probe on one principal component alone.
public struct SingleComponentAccuracy: Sendable, Equatable {
    /// 0-based: 0 is the component with the largest variance.
    public let component: Int
    /// nil when the fit kept fewer components.
    public let fitSetAccuracy: Double?
    /// Over the folds whose PCA has this component; nil if none has.
    public let crossValidatedAccuracy: Double?
}

public struct EncodingProbeResult: Sendable, Equatable {
    /// Correct held-out predictions over all held-out samples (each sample is
    /// held out once); nil when there are fewer than two samples.
    public let crossValidatedAccuracy: Double?
    public let crossValidatedCorrect: Int
    public let crossValidatedCount: Int
    /// Folds used: min(requested, samples), 0 without cross-validation.
    public let foldCount: Int
    public let foldAccuracies: [Double]
    public let foldComponentCounts: [Int]
    /// Accuracy on the samples the probe was fitted on (what SimBA reports).
    public let fitSetAccuracy: Double
    /// Fit-set and fold logistic regressions (all components) that stopped at
    /// the iteration limit; 0 in normal use.
    public let unconvergedFits: Int
    public let fitSetComponentCount: Int
    public let explainedVarianceRatio: [Double]
    public let singleComponents: [SingleComponentAccuracy]
    public let chance: ChanceLevel
    /// Cross-validated correct count against the chance level; nil without cross-validation.
    public let aboveChanceTest: BinomialTest?

    /// Whether cross-validated accuracy beats chance at `level` (one-sided exact binomial test).
    public func isAboveChance(at level: Double = 0.05) -> Bool {
        aboveChanceTest?.isSignificant(at: level) ?? false
    }
}
