import XCTest
@testable import Volumes

final class ParallelTests: XCTestCase {
    /// Every threaded kernel must give bit-identical results with 1 and 3 threads
    /// (slabs only change who computes a voxel, not how).
    func testThreadedKernelsMatchSingleThreaded() {
        let grid = obliqueGrid(dims: SIMD3(17, 13, 11))
        let volume = randomVolume(grid, seed: 5)
        let labels = volume.map { Int32(($0 + 1) * 4) }
        let v = smoothRandomField(grid, sigma: 4, maxNorm: 3, seed: 6)
        let target = grid.withSpacing(2.5)

        func everything() -> (VectorField, Volume<Float>, Volume<Int32>, Volume<Float>, Volume<Float>, Double, Volume<Int32>) {
            let d = v.exponentiated(steps: 5)
            return (d.composed(after: v), volume.warped(by: d), labels.warped(by: d), volume.smoothed(sigmaMillimetres: 2),
                    d.jacobianDeterminant(), d.minimumJacobianDeterminant(), labels.resampled(to: target))
        }
        let previous = VolumeThreads.count
        defer { VolumeThreads.set(previous) }
        VolumeThreads.set(1)
        let single = everything()
        VolumeThreads.set(3)
        let threaded = everything()
        XCTAssertEqual(single.0, threaded.0)
        XCTAssertEqual(single.1, threaded.1)
        XCTAssertEqual(single.2, threaded.2)
        XCTAssertEqual(single.3, threaded.3)
        XCTAssertEqual(single.4, threaded.4)
        XCTAssertEqual(single.5, threaded.5)
        XCTAssertEqual(single.6, threaded.6)
        XCTAssertEqual(single.5, Double(single.4.voxels.min()!), accuracy: 1e-6)
    }
}
