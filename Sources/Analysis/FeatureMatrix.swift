/// Activations of one network layer: n samples × d features, Float32,
/// row-major (sample i is `values[i*d ..< (i+1)*d]`). d can be in the
/// millions, so analyses work through the n × n Gram matrix, never d × d.
public typealias FeatureMatrix = Matrix<Float>

extension Matrix where Element == Float {
    /// At least one sample: the analyses average over the rows.
    public init(rowCount: Int, columnCount: Int, values: [Float]) throws {
        guard rowCount >= 1, columnCount >= 0 else {
            throw AnalysisError.invalidSetting("feature matrix shape \(rowCount) × \(columnCount) needs at least one row")
        }
        try validateLength(values, "feature values", expected: rowCount * columnCount)
        self.init(checkedRowCount: rowCount, columnCount: columnCount, values: values)
    }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) throws -> FeatureMatrix {
        try FeatureMatrix(rowCount: indices.count, columnCount: columnCount, values: values(ofRows: indices))
    }
}
