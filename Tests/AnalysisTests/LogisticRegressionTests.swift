import XCTest
@testable import Analysis

final class LogisticRegressionTests: XCTestCase {
    // numpy default_rng(7): X = round(normal(20, 3) · [1, 2, 0.5], 3),
    // y = (X·[1, −0.5, 2] + normal > 0).
    static let features = [
        [0.001, 0.597, -0.137], [-0.891, -0.909, -0.496], [0.06, 2.68, -0.246], [-0.62, 0.98, 0.178],
        [0.105, -1.861, -0.015], [0.695, -2.688, -0.229], [-1.901, -2.579, -0.921], [-0.235, -2.535, 0.136],
        [0.157, -0.374, -1.258], [-0.539, -0.097, 0.057], [-1.53, -0.956, -0.489], [-0.809, 2.122, -0.404],
        [-0.033, 1.769, -0.292], [-0.112, 0.221, 0.032], [-1.225, 0.152, 0.679], [-1.547, 1.719, 0.06],
        [-0.641, 4.001, 0.381], [-1.199, 0.149, 0.288], [-0.189, 1.366, -0.033], [0.667, 2.877, -0.338],
    ]
    static let labels = [0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]

    func testMatchesConvergedSklearn() throws {
        let x = try DenseMatrix(rows: Self.features)
        // sklearn 1.9.1 LogisticRegression(tol=1e-12, max_iter=10000).fit(X, y)
        let model = try LogisticRegression().fit(x, labels: Self.labels)
        XCTAssertTrue(model.converged)
        let expected = [0.9937199998014348, -0.5156657799986577, 0.823997030569234]
        for (actual, reference) in zip(model.coefficients, expected) { XCTAssertEqual(actual, reference, accuracy: 1e-6) }
        XCTAssertEqual(model.intercept, -0.5339298068401493, accuracy: 1e-6)
        // sklearn's plain LogisticRegression() stops early (lbfgs, tol 1e-4):
        // coef [0.99360486, -0.51583370, 0.82404772], intercept -0.53385923.
        let defaults = [0.9936048598208524, -0.5158337015308732, 0.8240477193016841]
        for (actual, reference) in zip(model.coefficients, defaults) { XCTAssertEqual(actual, reference, accuracy: 3e-4) }

        // C = 0.1: coef [0.21463748, -0.26077473, 0.11055784], intercept -0.94534282.
        let strong = try LogisticRegression(inverseRegularization: 0.1).fit(x, labels: Self.labels)
        let strongExpected = [0.2146374805537383, -0.26077472595283424, 0.11055784118923527]
        for (actual, reference) in zip(strong.coefficients, strongExpected) { XCTAssertEqual(actual, reference, accuracy: 1e-6) }
        XCTAssertEqual(strong.intercept, -0.9453428159863483, accuracy: 1e-6)
    }

    func testPredictionsFollowTheDecisionValue() throws {
        let x = try DenseMatrix(rows: Self.features)
        let model = try LogisticRegression().fit(x, labels: Self.labels)
        let probabilities = model.probabilities(x)
        for (probability, prediction) in zip(probabilities, model.predictions(x)) {
            XCTAssertEqual(prediction, probability > 0.5 ? 1 : 0)
        }
    }

    /// Separable data: the penalty keeps the solution finite and Newton converges.
    func testSeparableDataConverges() throws {
        let x = try DenseMatrix(rows: [[-3], [-2], [-1], [1], [2], [3]])
        let model = try LogisticRegression().fit(x, labels: [0, 0, 0, 1, 1, 1])
        XCTAssertTrue(model.converged)
        XCTAssertEqual(model.predictions(x), [0, 0, 0, 1, 1, 1])
        XCTAssertLessThan(abs(model.intercept), 1e-8, "symmetric data, symmetric solution")
    }

    func testSingleClassIsAnError() throws {
        XCTAssertThrowsError(try LogisticRegression().fit(try DenseMatrix(rows: [[1], [2]]), labels: [1, 1])) {
            XCTAssertEqual($0 as? AnalysisError, .singleClass)
        }
    }
}
