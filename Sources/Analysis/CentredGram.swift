import CBLAS

/// Inner products between samples after centring the features: for the
/// n × d feature matrix X with column means μ, G = (X − μ)(X − μ)ᵀ, n × n.
///
/// Computed once in one pass over the features; the Gram matrix centred on
/// any subset of samples (a training fold) then follows algebraically, so
/// k-fold cross-validation never touches the d-dimensional data again.
struct CentredGram {
    let size: Int
    let values: DenseMatrix

    /// Columns are processed in blocks converted to Double and centred before
    /// the product (dsyrk), so precision does not depend on the data's offset
    /// and the buffer stays small whatever d is.
    init(_ features: FeatureMatrix, blockColumns: Int = 2048) throws {
        let n = features.rowCount
        let d = features.columnCount
        var means = Array(repeating: 0.0, count: d)
        features.values.withUnsafeBufferPointer { x in
            for row in 0..<n {
                let offset = row * d
                for column in 0..<d { means[column] += Double(x[offset + column]) }
            }
        }
        if let bad = means.firstIndex(where: { !$0.isFinite }) {
            throw AnalysisError.nonFiniteValue(what: "feature column", index: bad)
        }
        for column in 0..<d { means[column] /= Double(n) }

        var gram = Array(repeating: 0.0, count: n * n)
        let width = max(1, min(blockColumns, d))
        var block = Array(repeating: 0.0, count: n * width)
        features.values.withUnsafeBufferPointer { x in
            for start in stride(from: 0, to: d, by: width) {
                let columns = min(width, d - start)
                for row in 0..<n {
                    let source = row * d + start
                    let target = row * columns
                    for column in 0..<columns {
                        block[target + column] = Double(x[source + column]) - means[start + column]
                    }
                }
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(n), Int32(columns),
                            1.0, block, Int32(columns), 1.0, &gram, Int32(n))
            }
        }
        for row in 0..<n {
            for column in 0..<row { gram[row * n + column] = gram[column * n + row] }
        }
        size = n
        values = try DenseMatrix(rowCount: n, columnCount: n, values: gram)
    }

    /// Inner products of samples `rows` with samples `columns` after centring
    /// at the mean of samples `centre`:
    ///   K_ij = G_ij − m_i − m_j + c,  m_i = mean_{t∈centre} G_it,  c = mean_{t∈centre} m_t,
    /// which is exact because centring is a linear map of the rows.
    func recentred(rows: [Int], columns: [Int], centre: [Int]) -> DenseMatrix {
        precondition(!centre.isEmpty, "centring needs at least one sample")
        var rowMeans = Array(repeating: 0.0, count: size)
        for i in 0..<size {
            var sum = 0.0
            for t in centre { sum += values[i, t] }
            rowMeans[i] = sum / Double(centre.count)
        }
        let grandMean = centre.reduce(0.0) { $0 + rowMeans[$1] } / Double(centre.count)
        var result = DenseMatrix(zerosWithRows: rows.count, columns: columns.count)
        for (r, i) in rows.enumerated() {
            for (c, j) in columns.enumerated() {
                result[r, c] = values[i, j] - rowMeans[i] - rowMeans[j] + grandMean
            }
        }
        return result
    }
}
