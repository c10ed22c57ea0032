/// Stratified k-fold assignment: each class is shuffled and dealt to the
/// folds in turn, the deal continuing from one class to the next, so fold
/// sizes differ by at most one and so do each class's counts per fold.
public struct StratifiedFolds: Sendable, Equatable {
    /// Fold of each sample, in 0..<foldCount.
    public let foldOfSample: [Int]
    /// min(requested folds, number of samples): fewer samples than folds
    /// would leave folds empty.
    public let foldCount: Int

    public init<G: RandomNumberGenerator>(labels: [Int], folds requested: Int, using generator: inout G) throws {
        guard requested >= 2 else {
            throw AnalysisError.invalidSetting("cross-validation needs at least 2 folds, got \(requested)")
        }
        foldCount = min(requested, labels.count)
        var assignment = Array(repeating: 0, count: labels.count)
        var dealt = 0
        for label in Set(labels).sorted() {
            var members = labels.indices.filter { labels[$0] == label }
            generator.shuffle(&members)
            for index in members {
                assignment[index] = dealt % max(foldCount, 1)
                dealt += 1
            }
        }
        foldOfSample = assignment
    }

    /// (training, held-out) sample indices of `fold`.
    public func split(_ fold: Int) -> (training: [Int], heldOut: [Int]) {
        let indices = Array(foldOfSample.indices)
        return (indices.filter { foldOfSample[$0] != fold }, indices.filter { foldOfSample[$0] == fold })
    }
}
