import XCTest
@testable import Volumes

final class WarpTests: XCTestCase {
    func testConstantIntegerShiftEqualsArrayShift() {
        for grid in [Grid(dims: SIMD3(9, 8, 7), spacing: SIMD3(2, 1, 1.5), origin: SIMD3(-3, 4, 5)),
                     obliqueGrid(dims: SIMD3(9, 8, 7))] {
            let volume = randomVolume(grid, seed: 7)
            let shift = SIMD3<Int>(2, 0, -1)
            // The world displacement that moves exactly `shift` voxels on this grid.
            let d = grid.affine.applyLinear(SIMD3<Double>(shift))
            let field = VectorField(grid: grid) { _ in d }
            let warped = volume.warped(by: field)
            for k in 0..<7 {
                for j in 0..<8 {
                    for i in 0..<9 {
                        let source = SIMD3(i, j, k) &+ shift
                        let inside = source.x < 9 && source.z >= 0
                        let expected = inside ? volume[source.x, source.y, source.z] : 0
                        XCTAssertEqual(warped[i, j, k], expected, accuracy: 1e-4, "voxel \(i),\(j),\(k)")
                    }
                }
            }
        }
    }

    func testZeroDisplacementIsIdentity() {
        let grid = obliqueGrid(dims: SIMD3(5, 6, 7))
        let volume = randomVolume(grid, seed: 3)
        XCTAssertEqual(volume.warped(by: VectorField(zerosOn: grid)), volume)
    }

    func testWarpSamplesAtDisplacedWorldPoint() {
        let grid = obliqueGrid(dims: SIMD3(10, 10, 10))
        let volume = Volume<Float>(grid: grid) { i, j, k in Float(i * i + 2 * j + k) }
        let field = smoothRandomField(grid, sigma: 3, maxNorm: 1.5, seed: 11)
        let warped = volume.warped(by: field, outside: .constant(-1))
        for (i, j, k) in [(3, 4, 5), (5, 5, 5), (6, 2, 7)] {
            let world = grid.world(voxel: SIMD3(Double(i), Double(j), Double(k))) + SIMD3<Double>(field[i, j, k])
            XCTAssertEqual(warped[i, j, k], volume.sample(atWorld: world), accuracy: 1e-3)
        }
    }

    func testLabelWarpUsesNearestVoxel() {
        let grid = Grid(dims: SIMD3(6, 6, 6), spacing: SIMD3(repeating: 2))
        let labels = Volume<Int32>(grid: grid) { i, j, k in Int32(i + 10 * j + 100 * k) }
        // 0.6 voxel along x rounds to the next voxel; 0.4 along y rounds back.
        let field = VectorField(grid: grid) { _ in SIMD3(1.2, 0.8, 0) }
        let warped = labels.warped(by: field)
        XCTAssertEqual(warped[2, 3, 4], labels[3, 3, 4])
        XCTAssertEqual(warped[5, 1, 1], 0, "x = 5.6 is past the half-voxel border of the last voxel")
    }
}
