/// The metrics `BinaryMetrics` reports, as keys for tables and bootstrap.
public enum BinaryMetric: String, CaseIterable, Sendable, Codable {
    case accuracy
    case truePositiveRate
    case trueNegativeRate
    case falsePositiveRate
    case precision
    case averagePrecision
    case areaUnderROC

    /// Short column name as in SimBA's tables.
    public var abbreviation: String {
        switch self {
        case .accuracy: return "ACC"
        case .truePositiveRate: return "TPR"
        case .trueNegativeRate: return "TNR"
        case .falsePositiveRate: return "FPR"
        case .precision: return "PPV"
        case .averagePrecision: return "AP"
        case .areaUnderROC: return "AUROC"
        }
    }

    /// Whether the metric needs the score ranking (a sort) rather than counts.
    var needsRanking: Bool { self == .averagePrecision || self == .areaUnderROC }
}
