/// Reweighing (Kamiran & Calders; Calders, Kamiran, Pechenizkiy 2009): sample
/// weights that make class and bias group statistically independent in the
/// training split, w(y, b) = P(y)·P(b) / P(y, b), from that split's counts.
/// The group may be a combined key (see `SampleGroups.combining`).
public struct Reweighing: Sendable, Equatable {
    public struct Cell: Hashable, Sendable {
        public let label: Int
        public let group: String
        public init(label: Int, group: String) {
            self.label = label
            self.group = group
        }
    }

    /// Weight of every (class, group) cell that occurs in the training split.
    public let weights: [Cell: Double]

    public init(trainingLabels labels: [Int], trainingGroups groups: [String]) throws {
        try validateLength(groups, "training groups", expected: labels.count)
        try validateBinaryLabels(labels)
        guard !labels.isEmpty else { throw AnalysisError.emptyInput("training labels") }
        var labelCounts: [Int: Int] = [:]
        var groupCounts: [String: Int] = [:]
        var cellCounts: [Cell: Int] = [:]
        for (label, group) in zip(labels, groups) {
            labelCounts[label, default: 0] += 1
            groupCounts[group, default: 0] += 1
            cellCounts[Cell(label: label, group: group), default: 0] += 1
        }
        // P(y)P(b)/P(y,b) = n_y · n_b / (n · n_yb), in counts to avoid rounding twice.
        let total = Double(labels.count)
        weights = cellCounts.reduce(into: [:]) { result, entry in
            let (cell, count) = entry
            result[cell] = Double(labelCounts[cell.label]!) * Double(groupCounts[cell.group]!)
                / (total * Double(count))
        }
    }

    /// nil for a cell absent from the training split (its weight is undefined).
    public func weight(label: Int, group: String) -> Double? {
        weights[Cell(label: label, group: group)]
    }

    /// One weight per sample; throws if a sample falls in a cell the training
    /// split never saw.
    public func sampleWeights(labels: [Int], groups: [String]) throws -> [Double] {
        try validateLength(groups, "groups", expected: labels.count)
        return try zip(labels, groups).map { label, group in
            guard let weight = weight(label: label, group: group) else {
                throw AnalysisError.invalidSetting(
                    "no training sample has class \(label) in group '\(group)', so its weight is undefined")
            }
            return weight
        }
    }
}
