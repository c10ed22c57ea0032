/// A row-major matrix of Doubles: principal-component scores, design
/// matrices for logistic regression, Gram blocks.
public struct DenseMatrix: Sendable, Equatable {
    public let rowCount: Int
    public let columnCount: Int
    /// Element (i, j) is `values[i * columnCount + j]`.
    public var values: [Double]

    public init(rowCount: Int, columnCount: Int, values: [Double]) throws {
        guard rowCount >= 0, columnCount >= 0 else {
            throw AnalysisError.invalidSetting("matrix shape \(rowCount) × \(columnCount) is negative")
        }
        try validateLength(values, "matrix values", expected: rowCount * columnCount)
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.values = values
    }

    public init(rows: [[Double]]) throws {
        let columnCount = rows.first?.count ?? 0
        for row in rows { try validateLength(row, "matrix row", expected: columnCount) }
        try self.init(rowCount: rows.count, columnCount: columnCount, values: rows.flatMap { $0 })
    }

    init(zerosWithRows rowCount: Int, columns columnCount: Int) {
        self.rowCount = rowCount
        self.columnCount = columnCount
        values = Array(repeating: 0, count: rowCount * columnCount)
    }

    public subscript(row: Int, column: Int) -> Double {
        get { values[row * columnCount + column] }
        set { values[row * columnCount + column] = newValue }
    }

    /// The matrix made of the given columns, in that order.
    public func columns(_ selected: [Int]) -> DenseMatrix {
        var result = DenseMatrix(zerosWithRows: rowCount, columns: selected.count)
        for row in 0..<rowCount {
            for (position, column) in selected.enumerated() {
                result[row, position] = self[row, column]
            }
        }
        return result
    }
}
