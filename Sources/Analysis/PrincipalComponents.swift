import CBLAS

/// PCA through the Gram matrix of centred samples (the dual form SimBA's code
/// uses): with K = Z Zᵀ = U Λ Uᵀ for centred data Z (n × d), the component
/// scores are U √Λ and the principal axes Zᵀ U / √Λ, so d never enters beyond
/// K. Components are sorted by eigenvalue and the smallest number whose
/// cumulative explained variance exceeds `varianceToKeep` is kept, as in
/// sklearn's `PCA(n_components=0.99)`. Component signs are arbitrary.
public struct PrincipalComponents: Sendable {
    /// Variance of each kept component over the fitted samples (ddof = 1, as sklearn).
    public let explainedVariance: [Double]
    /// Share of the total variance of each kept component.
    public let explainedVarianceRatio: [Double]
    /// Fitted samples × kept components.
    public let scores: DenseMatrix
    /// Gram eigenvectors of the kept components (fitted samples × components).
    let gramEigenvectors: DenseMatrix
    /// √λ of the kept components.
    let singularValues: [Double]

    public var componentCount: Int { explainedVariance.count }

    /// Fits on every sample of `features`.
    public init(features: FeatureMatrix, varianceToKeep: Double = 0.99) throws {
        try self.init(centredGram: CentredGram(features).values, varianceToKeep: varianceToKeep)
    }

    /// Fits from the Gram matrix of the centred fitting samples.
    init(centredGram gram: DenseMatrix, varianceToKeep: Double) throws {
        guard varianceToKeep > 0, varianceToKeep <= 1 else {
            throw AnalysisError.invalidSetting("variance to keep must lie in (0, 1], got \(varianceToKeep)")
        }
        let n = gram.rowCount
        let decomposition = try SymmetricEigendecomposition(gram)
        // Eigenvalues below rounding level of the largest are numerically zero;
        // keeping one would divide projections by a noise-sized √λ.
        let largest = decomposition.eigenvalues.first ?? 0
        let floor = Double(n) * Double.ulpOfOne * largest
        let eigenvalues = decomposition.eigenvalues.map { $0 > floor ? $0 : 0 }
        let total = eigenvalues.reduce(0, +)

        var kept = 0
        if total > 0 {
            var cumulative = 0.0
            let positive = eigenvalues.filter { $0 > 0 }.count
            // sklearn: searchsorted(cumsum(ratio), threshold, side="right") + 1.
            while kept < positive {
                cumulative += eigenvalues[kept] / total
                kept += 1
                if cumulative > varianceToKeep { break }
            }
        }
        let keptEigenvalues = Array(eigenvalues.prefix(kept))
        singularValues = keptEigenvalues.map { $0.squareRoot() }
        explainedVariance = keptEigenvalues.map { $0 / Double(max(n - 1, 1)) }
        explainedVarianceRatio = keptEigenvalues.map { $0 / total }
        gramEigenvectors = decomposition.eigenvectors.columns(Array(0..<kept))
        var scores = gramEigenvectors
        for row in 0..<n {
            for component in 0..<kept { scores[row, component] *= singularValues[component] }
        }
        self.scores = scores
    }

    /// Scores of other samples given their centred inner products with the
    /// fitted samples (rows × fitted samples, centred on the fitted mean):
    /// scores = K_cross U / √λ.
    func project(crossGram: DenseMatrix) -> DenseMatrix {
        precondition(crossGram.columnCount == gramEigenvectors.rowCount, "cross Gram does not match the fit")
        let rows = crossGram.rowCount
        let fitted = crossGram.columnCount
        let kept = componentCount
        var result = DenseMatrix(zerosWithRows: rows, columns: kept)
        guard rows > 0, kept > 0, fitted > 0 else { return result }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(kept), Int32(fitted),
                    1.0, crossGram.values, Int32(fitted), gramEigenvectors.values, Int32(kept),
                    0.0, &result.values, Int32(kept))
        for row in 0..<rows {
            for component in 0..<kept { result[row, component] /= singularValues[component] }
        }
        return result
    }
}
