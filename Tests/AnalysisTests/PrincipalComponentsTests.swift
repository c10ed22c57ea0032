import XCTest
@testable import Analysis

final class PrincipalComponentsTests: XCTestCase {
    /// Reference eigensolver, independent of LAPACK: cyclic Jacobi rotations
    /// on a small symmetric matrix. Returns eigenvalues descending and the
    /// matching unit eigenvectors.
    static func jacobiEigen(_ input: [[Double]]) -> (values: [Double], vectors: [[Double]]) {
        var a = input
        let n = a.count
        var v = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for _ in 0..<100 {
            var offDiagonal = 0.0
            for p in 0..<n { for q in (p + 1)..<n { offDiagonal += a[p][q] * a[p][q] } }
            if offDiagonal < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where a[p][q] != 0 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k][p], vkq = v[k][q]
                        v[k][p] = c * vkp - s * vkq
                        v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0][$0] > a[$1][$1] }
        return (order.map { a[$0][$0] }, order.map { j in (0..<n).map { v[$0][j] } })
    }

    /// Rows of `values` (n × d) centred on the mean of rows `centre`, in Double.
    static func centred(_ values: [Float], columns d: Int, rows: [Int], centre: [Int]) -> [[Double]] {
        let mean = (0..<d).map { j in centre.reduce(0.0) { $0 + Double(values[$1 * d + j]) } / Double(centre.count) }
        return rows.map { i in (0..<d).map { Double(values[i * d + $0]) - mean[$0] } }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// Gram-matrix PCA (fit on 9 samples, projection of 4 held-out ones)
    /// against the eigendecomposition of the d × d covariance matrix.
    func testGramRouteMatchesCovarianceEigendecomposition() throws {
        var data = TestData(seed: 41)
        let n = 13, d = 5
        let scales = [3.0, 2.0, 1.0, 0.5, 0.2]
        // A large common offset checks that centring happens before the products.
        let values = (0..<(n * d)).map { Float(100 + scales[$0 % d] * data.normal()) }
        let training = Array(0..<9), heldOut = Array(9..<13)

        let z = Self.centred(values, columns: d, rows: training, centre: training)
        let covariance = (0..<d).map { j in (0..<d).map { k in
            z.reduce(0.0) { $0 + $1[j] * $1[k] } / Double(training.count - 1)
        } }
        let reference = Self.jacobiEigen(covariance)

        let gram = try CentredGram(try FeatureMatrix(rowCount: n, columnCount: d, values: values), blockColumns: 2)
        let components = try PrincipalComponents(
            centredGram: gram.recentred(rows: training, columns: training, centre: training), varianceToKeep: 1)
        XCTAssertEqual(components.componentCount, d)
        for k in 0..<d {
            XCTAssertEqual(components.explainedVariance[k], reference.values[k], accuracy: 1e-9 * reference.values[0])
        }
        XCTAssertEqual(components.explainedVarianceRatio.reduce(0, +), 1, accuracy: 1e-12)

        let projected = components.project(crossGram: gram.recentred(rows: heldOut, columns: training, centre: training))
        let heldOutCentred = Self.centred(values, columns: d, rows: heldOut, centre: training)
        for k in 0..<d {
            let axis = reference.vectors[k]
            // Component signs are arbitrary: align on the training scores.
            let sign = Self.dot(z.map { Self.dot($0, axis) }, (0..<training.count).map { components.scores[$0, k] }) >= 0 ? 1.0 : -1.0
            for (row, sample) in z.enumerated() {
                XCTAssertEqual(components.scores[row, k], sign * Self.dot(sample, axis), accuracy: 1e-6)
            }
            for (row, sample) in heldOutCentred.enumerated() {
                XCTAssertEqual(projected[row, k], sign * Self.dot(sample, axis), accuracy: 1e-6)
            }
        }
    }

    /// Centred, mutually orthogonal columns 10·h₁, 3·h₂, 1·h₃ (Hadamard rows)
    /// rotated in the first two features: variances 400/3, 36/3, 4/3, so the
    /// ratios are 100/110, 9/110, 1/110. 99 % needs the second component
    /// (cumulative 0.9909 > 0.99); 99.5 % needs all three.
    func testVarianceThresholdPicksComponentsLikeSklearn() throws {
        let h = [[1.0, 1, -1, -1], [1.0, -1, 1, -1], [1.0, -1, -1, 1]]
        let amplitudes = [10.0, 3, 1]
        let angle = 0.3
        let values: [Float] = (0..<4).flatMap { i -> [Float] in
            let raw = (0..<3).map { amplitudes[$0] * h[$0][i] }
            return [Float(cos(angle) * raw[0] - sin(angle) * raw[1]),
                    Float(sin(angle) * raw[0] + cos(angle) * raw[1]),
                    Float(raw[2])]
        }
        let features = try FeatureMatrix(rowCount: 4, columnCount: 3, values: values)
        let ninetyNine = try PrincipalComponents(features: features, varianceToKeep: 0.99)
        XCTAssertEqual(ninetyNine.componentCount, 2)
        XCTAssertEqual(ninetyNine.explainedVarianceRatio[0], 100.0 / 110, accuracy: 1e-6)
        XCTAssertEqual(ninetyNine.explainedVariance[0], 400.0 / 3, accuracy: 1e-4)
        // Scores are ±10·h₁ for the first component.
        for i in 0..<4 { XCTAssertEqual(abs(ninetyNine.scores[i, 0]), 10, accuracy: 1e-5) }
        XCTAssertEqual(try PrincipalComponents(features: features, varianceToKeep: 0.995).componentCount, 3)
        XCTAssertEqual(try PrincipalComponents(features: features, varianceToKeep: 0.9).componentCount, 1)
        XCTAssertThrowsError(try PrincipalComponents(features: features, varianceToKeep: 0))
    }

    func testConstantFeaturesHaveNoComponents() throws {
        let features = try FeatureMatrix(rowCount: 5, columnCount: 4, values: Array(repeating: 2.5, count: 20))
        let components = try PrincipalComponents(features: features)
        XCTAssertEqual(components.componentCount, 0)
        XCTAssertEqual(components.scores.columnCount, 0)
    }

    func testNonFiniteFeaturesAreRejected() throws {
        let features = try FeatureMatrix(rowCount: 2, columnCount: 2, values: [1, .nan, 2, 3])
        XCTAssertThrowsError(try PrincipalComponents(features: features))
    }
}
