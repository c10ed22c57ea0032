/// Holm's step-down correction for a family of tests (Holm 1979): it
/// controls the chance of any false "above chance" among the family (the
/// family-wise error rate) without assuming the tests independent, and is
/// uniformly more powerful than Bonferroni.
///
/// Sort the m p-values ascending, p₍₁₎ ≤ … ≤ p₍ₘ₎; the adjusted value of
/// p₍ᵢ₎ is max over j ≤ i of min(1, (m − j + 1) p₍ⱼ₎). A hypothesis is
/// rejected at level α by Holm's procedure exactly when its adjusted value
/// is at most α.
public enum HolmCorrection {
    /// Adjusted p-values in the order given. nil (and NaN) entries are no
    /// test: they stay nil and do not count in the family's size.
    public static func adjust(_ pValues: [Double?]) -> [Double?] {
        let tested = pValues.indices.filter { pValues[$0].map { !$0.isNaN } ?? false }
        let m = tested.count
        // Ties keep their input order; their adjusted values come out equal either way.
        let order = tested.sorted { (pValues[$0]!, $0) < (pValues[$1]!, $1) }
        var adjusted = [Double?](repeating: nil, count: pValues.count)
        var running = 0.0
        for (rank, index) in order.enumerated() {
            running = max(running, min(1, Double(m - rank) * pValues[index]!))
            adjusted[index] = running
        }
        return adjusted
    }
}
