import XCTest
@testable import Volumes

final class DistanceMapTests: XCTestCase {
    /// Against the definition: the smallest distance to any inside voxel, by brute force.
    func testMatchesBruteForceOnAnisotropicGrids() {
        var seed: UInt64 = 12345
        func next() -> Double {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Double(seed >> 11) / Double(1 << 53)
        }
        for (dims, spacing) in [(SIMD3(9, 7, 5), SIMD3(1.0, 1.0, 1.0)), (SIMD3(6, 11, 4), SIMD3(2.0, 0.5, 3.0)),
                                (SIMD3(1, 8, 8), SIMD3(1.5, 1.0, 2.0))] {
            let grid = Grid(dims: dims, spacing: spacing)
            let mask = Volume<Int32>(grid: grid) { _, _, _ in next() < 0.06 ? 1 : 0 }
            let inside = (0..<grid.count).filter { mask.voxels[$0] == 1 }
            let map = mask.distanceMap { $0 == 1 }
            for z in 0..<dims.z {
                for y in 0..<dims.y {
                    for x in 0..<dims.x {
                        var best = Double.infinity
                        for n in inside {
                            let ix = n % dims.x, iy = (n / dims.x) % dims.y, iz = n / (dims.x * dims.y)
                            let d = SIMD3(Double(ix - x), Double(iy - y), Double(iz - z)) * spacing
                            best = min(best, (d * d).sum().squareRoot())
                        }
                        XCTAssertEqual(Double(map[x, y, z]), best, accuracy: 1e-5, "at \(x),\(y),\(z) of \(dims)")
                    }
                }
            }
        }
    }

    func testEmptyMaskIsInfiniteAndFullMaskIsZero() {
        let grid = Grid(dims: SIMD3(4, 3, 2), spacing: SIMD3(1, 1, 1))
        XCTAssertTrue(Volume<Float>(grid: grid, repeating: 0).distanceMap { $0 > 0.5 }.voxels.allSatisfy { $0.isInfinite })
        XCTAssertTrue(Volume<Float>(grid: grid, repeating: 1).distanceMap { $0 > 0.5 }.voxels.allSatisfy { $0 == 0 })
    }
}
