import XCTest
@testable import Volumes

final class LabelResampleTests: XCTestCase {
    func testMajorityVoteWithinEachBlock() {
        let grid = Grid(dims: SIMD3(4, 4, 2), spacing: SIMD3(1, 1, 1), origin: SIMD3(10, 20, 30))
        var labels = Volume<Int32>(grid: grid, repeating: 0)
        // Block (0…1)³: five voxels of 3, three of 7 → 3.
        for (n, (i, j, k)) in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1)].enumerated() {
            labels[i, j, k] = n < 5 ? 3 : 7
        }
        // Block (2…3, 0…1, 0…1): four of 9, four of 2 → tie → 2.
        for (n, (i, j, k)) in [(2, 0, 0), (3, 0, 0), (2, 1, 0), (3, 1, 0), (2, 0, 1), (3, 0, 1), (2, 1, 1), (3, 1, 1)].enumerated() {
            labels[i, j, k] = n.isMultiple(of: 2) ? 9 : 2
        }
        let coarse = labels.resampled(toSpacing: 2)
        XCTAssertEqual(coarse.dims, SIMD3(2, 2, 1))
        XCTAssertEqual(coarse.voxels, [3, 2, 0, 0])
        XCTAssertEqual(labels.resampled(toSpacing: 2, method: .nearest).grid, coarse.grid)
    }

    /// Against a brute-force vote that finds each target voxel's sources by world position.
    func testMatchesBruteForceVoteOnRandomLabels() {
        let grid = obliqueGrid(dims: SIMD3(13, 11, 10))
        var rng = SeededGenerator(seed: 31)
        let labels = Volume<Int32>(grid: grid) { _, _, _ in Int32.random(in: 0...3, using: &rng) }
        let coarse = labels.resampled(toSpacing: 3)
        let target = coarse.grid
        let factor = target.spacing / grid.spacing
        for k in 0..<target.dims.z {
            for j in 0..<target.dims.y {
                for i in 0..<target.dims.x {
                    let centre = grid.voxel(world: target.world(voxel: SIMD3(Double(i), Double(j), Double(k))))
                    var votes: [Int32: Int] = [:]
                    for z in 0..<grid.dims.z {
                        for y in 0..<grid.dims.y {
                            for x in 0..<grid.dims.x {
                                let offset: SIMD3<Double> = SIMD3(Double(x), Double(y), Double(z)) - centre
                                // Half-open footprint [centre − f/2, centre + f/2) on every axis.
                                let low: SIMD3<Double> = -0.5 * factor - 1e-9, high: SIMD3<Double> = 0.5 * factor - 1e-9
                                if all(offset .>= low) && all(offset .< high) {
                                    votes[labels[x, y, z], default: 0] += 1
                                }
                            }
                        }
                    }
                    let winner = votes.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }!.key
                    XCTAssertEqual(coarse[i, j, k], winner, "target voxel \(i),\(j),\(k)")
                }
            }
        }
    }

    func testUpsamplingFallsBackToNearest() {
        let grid = Grid(dims: SIMD3(5, 5, 5), spacing: SIMD3(repeating: 2))
        var rng = SeededGenerator(seed: 3)
        let labels = Volume<Int32>(grid: grid) { _, _, _ in Int32.random(in: 0...5, using: &rng) }
        XCTAssertEqual(labels.resampled(toSpacing: 1), labels.resampled(toSpacing: 1, method: .nearest))
    }
}
