/// Test-set predictions of a binary classifier: true label (0/1), score
/// (probability of class 1) and a non-negative weight per sample.
///
/// The samples sorted by descending score are kept, because every ranking
/// metric needs that order and bootstrap resamples reuse it: a resample is the
/// same samples with integer multiplicities, so it never needs a new sort.
public struct ScoredSamples: Sendable {
    public let labels: [Int]
    public let scores: [Double]
    /// Sample weights; all 1 when none were given.
    public let weights: [Double]
    /// Indices sorted by descending score (stable, so equal scores keep input order).
    let descendingOrder: [Int]

    public var count: Int { labels.count }

    public init(labels: [Int], scores: [Double], weights: [Double]? = nil) throws {
        try validateLength(scores, "scores", expected: labels.count)
        try validateBinaryLabels(labels)
        if let bad = scores.firstIndex(where: { !$0.isFinite }) {
            throw AnalysisError.nonFiniteValue(what: "score", index: bad)
        }
        if let weights {
            try validateLength(weights, "weights", expected: labels.count)
            if let bad = weights.firstIndex(where: { !$0.isFinite }) {
                throw AnalysisError.nonFiniteValue(what: "weight", index: bad)
            }
            if let bad = weights.firstIndex(where: { $0 < 0 }) {
                throw AnalysisError.negativeWeight(index: bad)
            }
        }
        self.labels = labels
        self.scores = scores
        self.weights = weights ?? Array(repeating: 1, count: labels.count)
        descendingOrder = Array(scores.indices).sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : a < b
        }
    }

    /// The samples at `indices`, in that order (an index may repeat).
    public func subset(_ indices: [Int]) throws -> ScoredSamples {
        try ScoredSamples(labels: indices.map { labels[$0] },
                          scores: indices.map { scores[$0] },
                          weights: indices.map { weights[$0] })
    }

    /// Class 1 iff score > 0.5: the argmax of a two-class softmax, where a tie
    /// at exactly 0.5 goes to class 0 as numpy's argmax does.
    public static func predictedLabel(score: Double) -> Int { score > 0.5 ? 1 : 0 }

    /// Per-sample weight times a multiplicity (bootstrap count or group mask).
    func effectiveWeights(multiplicity: [Double]?) -> [Double] {
        guard let multiplicity else { return weights }
        return zip(weights, multiplicity).map { $0 * $1 }
    }
}
