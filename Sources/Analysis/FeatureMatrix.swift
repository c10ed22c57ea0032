/// Activations of one network layer: n samples × d features, Float32,
/// row-major (sample i is `values[i*d ..< (i+1)*d]`). d can be in the
/// millions, so analyses work through the n × n Gram matrix, never d × d.
public struct FeatureMatrix: Sendable {
    public let rowCount: Int
    public let columnCount: Int
    public let values: [Float]

    public init(rowCount: Int, columnCount: Int, values: [Float]) throws {
        guard rowCount >= 1, columnCount >= 0 else {
            throw AnalysisError.invalidSetting("feature matrix shape \(rowCount) × \(columnCount) needs at least one row")
        }
        try validateLength(values, "feature values", expected: rowCount * columnCount)
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.values = values
    }
}
