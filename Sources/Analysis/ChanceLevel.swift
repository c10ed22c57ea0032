/// What a probe scores by always answering the most common class: the
/// majority-class share of the labels. A probe only shows that a layer
/// encodes the label if it beats this, not 0.5.
public struct ChanceLevel: Sendable, Equatable {
    public let majorityLabel: Int
    public let majorityShare: Double

    public init(labels: [Int]) throws {
        guard !labels.isEmpty else { throw AnalysisError.emptyInput("labels") }
        try validateBinaryLabels(labels)
        let ones = labels.filter { $0 == 1 }.count
        // A tie goes to class 0, like the argmax convention used elsewhere.
        majorityLabel = ones > labels.count - ones ? 1 : 0
        majorityShare = Double(max(ones, labels.count - ones)) / Double(labels.count)
    }

    /// Exact one-sided binomial test of `correct` out of `total` against this level.
    public func test(correct: Int, total: Int) throws -> BinomialTest {
        try BinomialTest(successes: correct, trials: total, nullProbability: majorityShare)
    }
}
