import CBLAS
import CLAPACK
import Foundation

/// L2-regularised logistic regression with an unpenalised intercept, the
/// model of sklearn's `LogisticRegression()` defaults: it minimises
///   C · Σ_i [log(1 + e^{z_i}) − y_i z_i] + ½‖w‖²,  z_i = x_i·w + b.
/// Fitted by Newton's method with a backtracking line search (the problem is
/// strictly convex in w, and the intercept is pinned once both classes are
/// present), run to a much tighter optimum than sklearn's lbfgs default
/// tolerance, so coefficients agree with a converged sklearn fit.
public struct LogisticRegression: Sendable {
    /// C: larger means weaker regularisation.
    public var inverseRegularization: Double
    /// Stop when max |gradient| falls below this times max(1, max |gradient at zero|).
    public var relativeTolerance: Double
    public var maxIterations: Int

    public init(inverseRegularization: Double = 1, relativeTolerance: Double = 1e-10, maxIterations: Int = 100) {
        self.inverseRegularization = inverseRegularization
        self.relativeTolerance = relativeTolerance
        self.maxIterations = maxIterations
    }

    /// Throws `AnalysisError.singleClass` when only one class is present:
    /// the intercept would run off to infinity.
    public func fit(_ features: DenseMatrix, labels: [Int]) throws -> LogisticModel {
        try validateLength(labels, "labels", expected: features.rowCount)
        try validateBinaryLabels(labels)
        guard inverseRegularization > 0 else {
            throw AnalysisError.invalidSetting("inverse regularisation C must be positive, got \(inverseRegularization)")
        }
        guard labels.contains(0), labels.contains(1) else { throw AnalysisError.singleClass }

        let n = features.rowCount
        let p = features.columnCount
        let m = p + 1
        // Design matrix with a trailing column of ones for the intercept.
        var design = Array(repeating: 1.0, count: n * m)
        for row in 0..<n {
            for column in 0..<p { design[row * m + column] = features[row, column] }
        }
        let targets = labels.map(Double.init)
        let c = inverseRegularization

        func objective(_ theta: [Double]) -> Double {
            let z = linearPredictor(design, theta, rows: n, columns: m)
            var loss = 0.0
            for i in 0..<n { loss += softplus(z[i]) - targets[i] * z[i] }
            var penalty = 0.0
            for j in 0..<p { penalty += theta[j] * theta[j] }
            return c * loss + penalty / 2
        }

        var theta = Array(repeating: 0.0, count: m)
        var value = objective(theta)
        var gradientScale: Double? = nil
        var iterations = 0
        var converged = false
        while iterations < maxIterations {
            let z = linearPredictor(design, theta, rows: n, columns: m)
            let probabilities = z.map(sigmoid)
            // Gradient C Aᵀ(p − y) + [w; 0].
            var gradient = Array(repeating: 0.0, count: m)
            let residual = (0..<n).map { c * (probabilities[$0] - targets[$0]) }
            cblas_dgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(m), 1.0, design, Int32(m),
                        residual, 1, 0.0, &gradient, 1)
            for j in 0..<p { gradient[j] += theta[j] }
            let largest = gradient.map(abs).max() ?? 0
            let scale = gradientScale ?? max(1, largest)
            gradientScale = scale
            if largest <= relativeTolerance * scale {
                converged = true
                break
            }

            // Hessian C Aᵀ D A + diag(1…1, 0), from rows scaled by √(C p(1−p)).
            var scaled = design
            for i in 0..<n {
                let factor = (c * probabilities[i] * (1 - probabilities[i])).squareRoot()
                for j in 0..<m { scaled[i * m + j] *= factor }
            }
            var hessian = Array(repeating: 0.0, count: m * m)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(m), Int32(n), 1.0,
                        scaled, Int32(m), 0.0, &hessian, Int32(m))
            for j in 0..<p { hessian[j * m + j] += 1 }
            let step = try solvePositiveDefinite(hessian, gradient, size: m)

            // Backtracking (Armijo) along the Newton direction.
            let decrease = zip(gradient, step).reduce(0.0) { $0 + $1.0 * $1.1 }
            var length = 1.0
            var accepted = false
            for _ in 0..<60 {
                let candidate = zip(theta, step).map { $0 - length * $1 }
                let candidateValue = objective(candidate)
                if candidateValue <= value - 1e-4 * length * decrease {
                    theta = candidate
                    value = candidateValue
                    accepted = true
                    break
                }
                length /= 2
            }
            iterations += 1
            // No decrease possible: the optimum is reached to rounding precision.
            if !accepted {
                converged = true
                break
            }
        }
        return LogisticModel(coefficients: Array(theta.prefix(p)), intercept: theta[p],
                             iterations: iterations, converged: converged)
    }
}

/// A fitted logistic regression.
public struct LogisticModel: Sendable, Equatable {
    public let coefficients: [Double]
    public let intercept: Double
    /// Newton steps taken, and whether the gradient tolerance was met.
    public let iterations: Int
    public let converged: Bool

    /// P(class 1) per row.
    public func probabilities(_ features: DenseMatrix) -> [Double] {
        decisionValues(features).map(sigmoid)
    }

    /// Class 1 iff x·w + b > 0 (probability > 0.5), as sklearn's `predict`.
    public func predictions(_ features: DenseMatrix) -> [Int] {
        decisionValues(features).map { $0 > 0 ? 1 : 0 }
    }

    public func decisionValues(_ features: DenseMatrix) -> [Double] {
        precondition(features.columnCount == coefficients.count, "feature count does not match the model")
        return (0..<features.rowCount).map { row in
            var z = intercept
            for column in 0..<coefficients.count { z += features[row, column] * coefficients[column] }
            return z
        }
    }
}

private func linearPredictor(_ design: [Double], _ theta: [Double], rows: Int, columns: Int) -> [Double] {
    var z = Array(repeating: 0.0, count: rows)
    cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1.0, design, Int32(columns),
                theta, 1, 0.0, &z, 1)
    return z
}

/// log(1 + eᶻ) without overflow.
private func softplus(_ z: Double) -> Double { max(z, 0) + log1p(exp(-abs(z))) }

private func sigmoid(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
}

/// Solves H x = b for symmetric positive definite H (upper triangle, row-major)
/// by Cholesky. If rounding makes H numerically indefinite (an intercept whose
/// samples are all predicted with certainty), a small ridge is added.
private func solvePositiveDefinite(_ matrix: [Double], _ rightHandSide: [Double], size: Int) throws -> [Double] {
    let trace = (0..<size).reduce(0.0) { $0 + matrix[$1 * size + $1] }
    var ridge = 0.0
    for _ in 0..<8 {
        var a = matrix
        for j in 0..<size { a[j * size + j] += ridge }
        var b = rightHandSide
        var order = Int32(size)
        var one: Int32 = 1
        var info: Int32 = 0
        // Row-major upper triangle = column-major lower triangle.
        var uplo = CChar(UInt8(ascii: "L"))
        dposv_(&uplo, &order, &one, &a, &order, &b, &order, &info, 1)
        if info == 0 { return b }
        if info < 0 { throw AnalysisError.lapackFailure(routine: "dposv", info: Int(info)) }
        ridge = ridge == 0 ? 1e-12 * max(trace, 1) : ridge * 100
    }
    throw AnalysisError.lapackFailure(routine: "dposv", info: size)
}
