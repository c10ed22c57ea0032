import XCTest
@testable import Volumes

final class SamplingTests: XCTestCase {
    /// f(i,j,k) = 2 + 0.5i − 1.25j + 3k, linear in the index.
    private func linear(_ p: SIMD3<Double>) -> Double { 2 + 0.5 * p.x - 1.25 * p.y + 3 * p.z }

    func testTrilinearIsExactForLinearFunctions() {
        let grid = obliqueGrid(dims: SIMD3(7, 9, 5))
        let volume = Volume<Float>(grid: grid) { i, j, k in Float(self.linear(SIMD3(Double(i), Double(j), Double(k)))) }
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<500 {
            let p = SIMD3(Double.random(in: 0...6, using: &rng), Double.random(in: 0...8, using: &rng),
                          Double.random(in: 0...4, using: &rng))
            XCTAssertEqual(Double(volume.sample(atVoxel: p)), linear(p), accuracy: 1e-4)
            XCTAssertEqual(Double(volume.sample(atWorld: grid.world(voxel: p))), linear(p), accuracy: 1e-3)
        }
    }

    func testVectorSamplingInterpolatesEachComponent() {
        let grid = Grid(dims: SIMD3(6, 5, 4), spacing: SIMD3(2, 1, 3))
        let field = VectorField(grid: grid) { w in SIMD3(w.x, -2 * w.y + 1, 0.5 * w.z + w.x) }
        let world = SIMD3(3.3, 2.7, 4.4)
        let v = field.sample(atWorld: world)
        XCTAssertEqual(Double(v.x), world.x, accuracy: 1e-4)
        XCTAssertEqual(Double(v.y), -2 * world.y + 1, accuracy: 1e-4)
        XCTAssertEqual(Double(v.z), 0.5 * world.z + world.x, accuracy: 1e-4)
    }

    func testOutsideHandling() {
        let grid = Grid(dims: SIMD3(4, 4, 4))
        let volume = Volume<Float>(grid: grid) { i, _, _ in Float(i + 1) }
        // Within the half-voxel border the edge voxel is used (ITK convention).
        XCTAssertEqual(volume.sample(atVoxel: SIMD3(-0.4, 1, 1)), 1)
        XCTAssertEqual(volume.sample(atVoxel: SIMD3(3.4, 1, 1)), 4)
        // Beyond it: the constant, or the edge value when asked for.
        XCTAssertEqual(volume.sample(atVoxel: SIMD3(-0.6, 1, 1)), 0)
        XCTAssertEqual(volume.sample(atVoxel: SIMD3(9, 1, 1), outside: .constant(-7)), -7)
        XCTAssertEqual(volume.sample(atVoxel: SIMD3(9, 1, 1), outside: .nearestEdge), 4)
        XCTAssertEqual(volume.sample(atVoxel: SIMD3(.nan, 1, 1)), 0, "NaN coordinates must not index out of range")
    }

    func testFieldArithmetic() {
        let grid = Grid(dims: SIMD3(3, 2, 2))
        let a = VectorField(grid: grid) { w in SIMD3(w.x, 1, -w.z) }
        let b = VectorField(grid: grid) { w in SIMD3(2, w.y, 3) }
        var sum = a
        sum.add(b, scaledBy: 0.5)
        XCTAssertEqual(sum, a + b.scaled(by: 0.5))
        XCTAssertEqual(sum[2, 1, 1], SIMD3(3, 1.5, 0.5))
        let weight = Volume<Float>(grid: grid) { i, _, _ in Float(i) }
        let weighted = a.weighted(by: weight)
        XCTAssertEqual(weighted[2, 1, 1], SIMD3(4, 2, -2))
        XCTAssertEqual(weighted[0, 1, 1], .zero)
        XCTAssertEqual((a - a).maxNorm, 0)
    }
}
