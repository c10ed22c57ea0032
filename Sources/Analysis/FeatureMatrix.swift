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

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) throws -> FeatureMatrix {
        var subset = [Float]()
        subset.reserveCapacity(indices.count * columnCount)
        for row in indices {
            precondition(row >= 0 && row < rowCount, "row \(row) outside 0..<\(rowCount)")
            subset += values[(row * columnCount)..<((row + 1) * columnCount)]
        }
        return try FeatureMatrix(rowCount: indices.count, columnCount: columnCount, values: subset)
    }
}
