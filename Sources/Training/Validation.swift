import Network

/// Per-bucket sums of a validation pass: Σ w·nll, correct, count for the
/// whole split, each bias group and each site (in that order).
struct ValidationTotals {
    let groups: Int, sites: Int
    var values: [Double]

    init(groups: Int, sites: Int) {
        self.groups = groups
        self.sites = sites
        values = [Double](repeating: 0, count: 3 * (1 + groups + sites))
    }

    /// Adds one scored sample to the overall, its group's and its site's bucket.
    mutating func add(_ row: LogitRow, label: Int, weight: Float, group: Int, site: Int) {
        let loss = Double(weight) * row.negativeLogLikelihood(label: label)
        let hit: Double = row.predicted == label ? 1 : 0
        for bucket in [0, 1 + group, 1 + groups + site] {
            values[3 * bucket] += loss
            values[3 * bucket + 1] += hit
            values[3 * bucket + 2] += 1
        }
    }
}

/// Validation loss and accuracy, overall and per bucket (NaN for an empty bucket).
struct ValidationResult {
    var loss: Double, accuracy: Double
    var lossByGroup: [Double], accuracyByGroup: [Double]
    var lossBySite: [Double], accuracyBySite: [Double]

    init(totals: ValidationTotals) {
        let values = totals.values, groups = totals.groups, sites = totals.sites
        func loss(_ bucket: Int) -> Double { values[3 * bucket + 2] > 0 ? values[3 * bucket] / values[3 * bucket + 2] : .nan }
        func accuracy(_ bucket: Int) -> Double { values[3 * bucket + 2] > 0 ? values[3 * bucket + 1] / values[3 * bucket + 2] : .nan }
        self.loss = loss(0)
        self.accuracy = accuracy(0)
        lossByGroup = (0..<groups).map { loss(1 + $0) }
        accuracyByGroup = (0..<groups).map { accuracy(1 + $0) }
        lossBySite = (0..<sites).map { loss(1 + groups + $0) }
        accuracyBySite = (0..<sites).map { accuracy(1 + groups + $0) }
    }
}
