import CLAPACK

/// Eigenvalues and eigenvectors of a symmetric matrix (LAPACK dsyevd), sorted
/// by eigenvalue, largest first.
struct SymmetricEigendecomposition {
    /// Descending.
    let eigenvalues: [Double]
    /// Column j is the unit eigenvector of `eigenvalues[j]`.
    let eigenvectors: DenseMatrix

    init(_ matrix: DenseMatrix) throws {
        let n = matrix.rowCount
        precondition(matrix.columnCount == n, "eigendecomposition needs a square matrix")
        guard n > 0 else {
            eigenvalues = []
            eigenvectors = matrix
            return
        }
        // A symmetric matrix reads the same row- or column-major.
        var a = matrix.values
        var ascending = Array(repeating: 0.0, count: n)
        var order = Int32(n)
        var info: Int32 = 0
        var jobz = CChar(UInt8(ascii: "V"))
        var uplo = CChar(UInt8(ascii: "U"))

        // Workspace query first, as LAPACK recommends for the divide-and-conquer driver.
        var workSize = 0.0
        var iworkSize: Int32 = 0
        var query: Int32 = -1
        dsyevd_(&jobz, &uplo, &order, &a, &order, &ascending, &workSize, &query,
                &iworkSize, &query, &info, 1, 1)
        guard info == 0 else { throw AnalysisError.lapackFailure(routine: "dsyevd (query)", info: Int(info)) }
        var lwork = Int32(workSize)
        var liwork = iworkSize
        var work = Array(repeating: 0.0, count: Int(lwork))
        var iwork = Array(repeating: Int32(0), count: Int(liwork))
        dsyevd_(&jobz, &uplo, &order, &a, &order, &ascending, &work, &lwork,
                &iwork, &liwork, &info, 1, 1)
        guard info == 0 else { throw AnalysisError.lapackFailure(routine: "dsyevd", info: Int(info)) }

        // LAPACK returns ascending eigenvalues with eigenvector j in column j
        // (column-major: a[j*n + i]); reverse into descending order, row-major.
        eigenvalues = ascending.reversed()
        var vectors = DenseMatrix(zerosWithRows: n, columns: n)
        for column in 0..<n {
            let source = n - 1 - column
            for row in 0..<n { vectors[row, column] = a[source * n + row] }
        }
        eigenvectors = vectors
    }
}
