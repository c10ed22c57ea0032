import XCTest
@testable import Volumes

final class JacobianTests: XCTestCase {
    func testJacobianOfAffineMapIsItsDeterminant() {
        let grid = obliqueGrid(dims: SIMD3(9, 8, 7))
        // φ(x) = M x + b, so d(x) = (M − I) x + b.
        let m = Affine(linear: [[1.1, 0.2, -0.05], [0.1, 0.9, 0.15], [-0.1, 0.05, 1.2]], translation: SIMD3(1, -2, 0.5))
        let field = VectorField(grid: grid) { x in m.apply(x) - x }
        let jacobian = field.jacobianDeterminant()
        for value in jacobian.voxels { XCTAssertEqual(Double(value), m.determinant, accuracy: 1e-3) }
        XCTAssertEqual(field.minimumJacobianDeterminant(), m.determinant, accuracy: 1e-3)
    }

    func testFoldingIsDetected() {
        let grid = Grid(dims: SIMD3(10, 10, 10))
        // x → x − 1.5 x along the first axis reverses orientation.
        let field = VectorField(grid: grid) { x in SIMD3(-1.5 * x.x, 0, 0) }
        XCTAssertEqual(field.minimumJacobianDeterminant(), -0.5, accuracy: 1e-4)
    }

    func testGradientOfLinearFunctionOnObliqueGrid() {
        let grid = obliqueGrid(dims: SIMD3(6, 7, 8))
        let coefficients = SIMD3(0.3, -1.2, 2.0)
        let volume = Volume<Float>(grid: grid) { i, j, k in
            Float((coefficients * grid.world(voxel: SIMD3(Double(i), Double(j), Double(k)))).sum())
        }
        let gradient = volume.gradient()
        for n in stride(from: 0, to: grid.count, by: 17) {
            XCTAssertEqual(Double(gradient.x[n]), coefficients.x, accuracy: 1e-3)
            XCTAssertEqual(Double(gradient.y[n]), coefficients.y, accuracy: 1e-3)
            XCTAssertEqual(Double(gradient.z[n]), coefficients.z, accuracy: 1e-3)
        }
    }
}
