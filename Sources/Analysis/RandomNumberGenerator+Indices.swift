/// Index helpers on any seeded generator (bootstrap resamples, folds).
extension RandomNumberGenerator {
    /// Uniform index in 0..<count (Lemire's unbiased method from the standard library).
    mutating func nextIndex(below count: Int) -> Int {
        Int(truncatingIfNeeded: next(upperBound: UInt64(count)))
    }

    /// Fisher–Yates shuffle written out so the permutation depends only on the
    /// generator's stream, not on a standard-library implementation detail.
    mutating func shuffle(_ values: inout [Int]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, nextIndex(below: i + 1))
        }
    }
}
