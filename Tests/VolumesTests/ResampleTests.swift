import XCTest
@testable import Volumes

final class ResampleTests: XCTestCase {
    func testNewSpacingKeepsCornerAndExtent() {
        let grid = obliqueGrid(dims: SIMD3(30, 24, 18))
        let coarse = grid.withSpacing(3)
        XCTAssertEqual(coarse.spacing.x, 3, accuracy: 1e-12)
        XCTAssertEqual(coarse.spacing.z, 3, accuracy: 1e-12)
        XCTAssertEqual(coarse.dims, SIMD3(15, 8, 12))
        // The outer corner of voxel 0 (index −0.5) is the same world point on both grids.
        let corner = grid.world(voxel: SIMD3(repeating: -0.5))
        XCTAssertLessThan((coarse.world(voxel: SIMD3(repeating: -0.5)) - corner).length, 1e-9)
        // Directions are kept: columns are parallel.
        for axis in 0..<3 {
            let a = grid.affine.column(axis) / grid.spacing[axis], b = coarse.affine.column(axis) / 3
            XCTAssertLessThan((a - b).length, 1e-12)
        }
    }

    func testResampledValuesBelongToTheSameWorldPoints() {
        let grid = obliqueGrid(dims: SIMD3(30, 30, 20))
        let f = { (w: SIMD3<Double>) in 0.2 * w.x - 0.1 * w.y + 0.3 * w.z + 5 }
        let volume = Volume<Float>(grid: grid) { i, j, k in Float(f(grid.world(voxel: SIMD3(Double(i), Double(j), Double(k))))) }
        let target = grid.withSpacing(SIMD3(2.5, 2.5, 2.5))
        let resampled = volume.resampled(to: target)
        var checked = 0
        for k in 0..<target.dims.z {
            for j in 0..<target.dims.y {
                for i in 0..<target.dims.x {
                    let world = target.world(voxel: SIMD3(Double(i), Double(j), Double(k)))
                    let source = grid.voxel(world: world)
                    // Trilinear is exact for a linear field inside the voxel-centre range.
                    guard source.min() >= 0, source.x <= 29, source.y <= 29, source.z <= 19 else { continue }
                    XCTAssertEqual(Double(resampled[i, j, k]), f(world), accuracy: 1e-3)
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 200)
    }

    func testAntiAliasingSuppressesFrequenciesAboveTheNewNyquist() {
        // ±1 stripes along x at 1 mm; at 3 mm new voxel centres land on stripe centres,
        // so plain sampling turns them into a full-contrast false pattern.
        let grid = Grid(dims: SIMD3(63, 8, 8))
        let stripes = Volume<Float>(grid: grid) { i, _, _ in i % 2 == 0 ? 1 : -1 }
        let naive = stripes.resampled(to: grid.withSpacing(3))
        let filtered = stripes.resampled(toSpacing: 3)
        XCTAssertEqual(filtered.dims, SIMD3(21, 3, 3))
        XCTAssertGreaterThan(naive.voxels.map(abs).max()!, 0.99, "plain trilinear aliases the stripes")
        // Away from the mirrored faces (which break the alternation) the stripes are gone.
        for i in 2..<19 { XCTAssertLessThan(abs(filtered[i, 1, 1]), 0.001) }
    }

    func testCropKeepsWorldPositionsAndValues() {
        let grid = obliqueGrid(dims: SIMD3(20, 18, 16))
        var volume = Volume<Float>(grid: grid, repeating: 0)
        for (i, j, k) in [(5, 6, 7), (12, 9, 8), (8, 14, 10)] { volume[i, j, k] = Float(i + j + k) }
        let box = volume.nonzeroBoundingBox(margin: 2)!
        // Margin of 2 mm is 2, 2, 1 voxels for spacing 1.5, 1, 2 (rounded up).
        XCTAssertEqual(box.lower, SIMD3(3, 4, 6))
        XCTAssertEqual(box.upper, SIMD3(14, 16, 11))
        let cropped = volume.cropped(to: box)
        XCTAssertEqual(cropped.dims, SIMD3(12, 13, 6))
        for (i, j, k) in [(0, 0, 0), (2, 5, 1), (11, 12, 5)] {
            let original = SIMD3(i, j, k) &+ box.lower
            XCTAssertLessThan((cropped.grid.world(voxel: SIMD3<Double>(SIMD3(i, j, k)))
                               - grid.world(voxel: SIMD3<Double>(original))).length, 1e-9)
            XCTAssertEqual(cropped[i, j, k], volume[original.x, original.y, original.z])
        }
        XCTAssertEqual(cropped.voxels.reduce(0, +), volume.voxels.reduce(0, +))
        // The margin is clamped to the grid.
        XCTAssertEqual(volume.nonzeroBoundingBox(margin: 100)!, VoxelRegion(lower: .zero, upper: SIMD3(19, 17, 15)))
        XCTAssertNil(Volume<Float>(grid: grid, repeating: 0).nonzeroBoundingBox(margin: 1))
    }

    func testLabelResamplingOnlyProducesExistingLabels() {
        let grid = Grid(dims: SIMD3(30, 30, 30))
        let labels = Volume<Int32>(grid: grid) { i, j, k in Int32((i / 7) + 10 * (j / 9) + 100 * (k / 11)) }
        let coarse = labels.resampled(toSpacing: 2.5)
        XCTAssertTrue(Set(coarse.voxels).isSubset(of: Set(labels.voxels)))
        // Each output voxel takes the label at its centre's nearest input voxel.
        let world = coarse.grid.world(voxel: SIMD3(5, 3, 8))
        let nearest = SIMD3<Int>(grid.voxel(world: world).rounded(.toNearestOrAwayFromZero))
        XCTAssertEqual(coarse[5, 3, 8], labels[nearest.x, nearest.y, nearest.z])
    }

    func testVectorFieldDownAndUpsampling() {
        let grid = Grid(dims: SIMD3(20, 20, 20))
        let field = VectorField(grid: grid) { w in SIMD3(0.1 * w.x, 2, -0.05 * w.y + 0.02 * w.z) }
        let coarse = field.resampled(to: grid.withSpacing(2))
        let back = coarse.resampled(to: grid)
        // Linear fields survive the round trip except where upsampling clamps beyond coarse centres.
        for (i, j, k) in [(5, 5, 5), (10, 3, 14), (15, 16, 2)] {
            XCTAssertLessThan(SIMD3<Double>(back[i, j, k] - field[i, j, k]).length, 1e-4)
        }
    }

    func testCoarsenedGridSpansTheFineVoxelCentres() {
        let grid = obliqueGrid(dims: SIMD3(9, 10, 7))
        let coarse = grid.coarsened(by: 2)
        // Node spacing ≤ 2 voxels with end nodes on the end voxels: 8/4, 9/5, 6/3 voxels.
        XCTAssertEqual(coarse.dims, SIMD3(5, 6, 4))
        XCTAssertLessThan((coarse.spacing - SIMD3(2 * 1.5, 1.8 * 1.0, 2 * 2.0)).length, 1e-12)
        XCTAssertLessThan((coarse.world(voxel: .zero) - grid.world(voxel: .zero)).length, 1e-9)
        XCTAssertLessThan((coarse.world(voxel: SIMD3(4, 5, 3)) - grid.world(voxel: SIMD3(8, 9, 6))).length, 1e-9)
        // So a field linear in space survives fine → coarse → fine exactly.
        let field = VectorField(grid: grid) { w in SIMD3(0.1 * w.x - 0.2 * w.z, 0.3 * w.y, 1) }
        let back = field.resampled(to: coarse).resampled(to: grid)
        XCTAssertLessThan(back.maxDistance(to: field), 1e-4)
    }

    func testSeparablePathMatchesTheTrilinearStencil() throws {
        // Oblique source and a flipped, shifted, rescaled target that stays axis-aligned with it.
        let source = obliqueGrid(dims: SIMD3(11, 9, 8))
        let field = smoothRandomField(source, sigma: 3, maxNorm: 4, seed: 77)
        var linear = (0..<3).map { axis in source.affine.column(axis) }
        linear[0] *= 0.7
        linear[1] *= -1.3
        linear[2] *= 2.5
        let rows = (0..<3).map { r in [linear[0][r], linear[1][r], linear[2][r]] }
        let target = Grid(dims: SIMD3(17, 8, 4), affine: Affine(linear: rows, translation: source.world(voxel: SIMD3(-1.2, 8.5, 0.3))))
        let separable = try XCTUnwrap(SeparableResampler(from: source, to: target))
        let fast = VectorField(grid: target, x: separable.resample(field.x), y: separable.resample(field.y),
                               z: separable.resample(field.z))
        XCTAssertLessThan(fast.maxDistance(to: field.stencilResampled(to: target)), 1e-6)
        XCTAssertEqual(field.resampled(to: target), fast)
        // A rotated target is not axis-aligned: the general path is used.
        XCTAssertNil(SeparableResampler(from: source, to: Grid(dims: SIMD3(4, 4, 4))))
    }
}
