/// A row-major matrix of Doubles: principal-component scores, design
/// matrices for logistic regression, Gram blocks.
public typealias DenseMatrix = Matrix<Double>

extension Matrix where Element == Double {
    /// Any shape, empty ones included (PCA may keep no components).
    public init(rowCount: Int, columnCount: Int, values: [Double]) throws {
        guard rowCount >= 0, columnCount >= 0 else {
            throw AnalysisError.invalidSetting("matrix shape \(rowCount) × \(columnCount) is negative")
        }
        try validateLength(values, "matrix values", expected: rowCount * columnCount)
        self.init(checkedRowCount: rowCount, columnCount: columnCount, values: values)
    }

    public init(rows: [[Double]]) throws {
        let columnCount = rows.first?.count ?? 0
        for row in rows { try validateLength(row, "matrix row", expected: columnCount) }
        try self.init(rowCount: rows.count, columnCount: columnCount, values: rows.flatMap { $0 })
    }
}
