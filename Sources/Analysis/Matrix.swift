/// A row-major matrix: element (i, j) is `values[i * columnCount + j]`.
///
/// One type for the Double matrices of the analyses (`DenseMatrix`) and the
/// Float activations they start from (`FeatureMatrix`). What a valid shape
/// is differs between the two, so the throwing initialisers that check it
/// live beside each typealias; the storage and its indexing live here.
public struct Matrix<Element: Numeric & Sendable>: Sendable, Equatable {
    public let rowCount: Int
    public let columnCount: Int
    /// Element (i, j) is `values[i * columnCount + j]`.
    public var values: [Element]

    /// For callers that have checked `values.count == rowCount * columnCount`.
    init(checkedRowCount rowCount: Int, columnCount: Int, values: [Element]) {
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.values = values
    }

    init(zerosWithRows rowCount: Int, columns columnCount: Int) {
        self.init(checkedRowCount: rowCount, columnCount: columnCount,
                  values: Array(repeating: 0, count: rowCount * columnCount))
    }

    public subscript(row: Int, column: Int) -> Element {
        get { values[row * columnCount + column] }
        set { values[row * columnCount + column] = newValue }
    }

    /// The matrix made of the given columns, in that order.
    public func columns(_ selected: [Int]) -> Matrix {
        var result = Matrix(zerosWithRows: rowCount, columns: selected.count)
        for row in 0..<rowCount {
            for (position, column) in selected.enumerated() {
                result[row, position] = self[row, column]
            }
        }
        return result
    }

    /// The values of the rows at `indices`, in that order, row-major.
    func values(ofRows indices: [Int]) -> [Element] {
        var subset = [Element]()
        subset.reserveCapacity(indices.count * columnCount)
        for row in indices {
            precondition(row >= 0 && row < rowCount, "row \(row) outside 0..<\(rowCount)")
            subset += values[(row * columnCount)..<((row + 1) * columnCount)]
        }
        return subset
    }
}
