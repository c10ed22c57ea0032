import XCTest
@testable import Volumes

final class SmoothTests: XCTestCase {
    /// Independent reference: direct triple sum over the 3-D kernel with mirrored indices.
    private func naiveSmooth(_ volume: Volume<Float>, sigmaVoxels: SIMD3<Double>) -> [Double] {
        func weights(_ sigma: Double) -> [Double] {
            let radius = Int(4 * sigma + 0.5)
            let raw = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
            let total = raw.reduce(0, +)
            return raw.map { $0 / total }
        }
        func mirror(_ i: Int, _ n: Int) -> Int {
            var i = i
            while i < 0 || i >= n { i = i < 0 ? -1 - i : 2 * n - 1 - i }
            return i
        }
        let wx = weights(sigmaVoxels.x), wy = weights(sigmaVoxels.y), wz = weights(sigmaVoxels.z)
        let rx = wx.count / 2, ry = wy.count / 2, rz = wz.count / 2
        let d = volume.dims
        var out: [Double] = []
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x {
                    var sum = 0.0
                    for c in -rz...rz {
                        for b in -ry...ry {
                            for a in -rx...rx {
                                let value = volume[mirror(i + a, d.x), mirror(j + b, d.y), mirror(k + c, d.z)]
                                sum += wx[a + rx] * wy[b + ry] * wz[c + rz] * Double(value)
                            }
                        }
                    }
                    out.append(sum)
                }
            }
        }
        return out
    }

    func testMatchesNaiveConvolutionAndPreservesSum() {
        // Anisotropic spacing; a kernel wider than the z extent exercises repeated mirroring.
        let grid = Grid(dims: SIMD3(11, 9, 4), spacing: SIMD3(1, 2, 0.5))
        let volume = randomVolume(grid, seed: 9, range: 0...10)
        let sigma = 1.6
        let smoothed = volume.smoothed(sigmaMillimetres: sigma)
        let reference = naiveSmooth(volume, sigmaVoxels: SIMD3(repeating: sigma) / grid.spacing)
        for (a, b) in zip(smoothed.voxels, reference) { XCTAssertEqual(Double(a), b, accuracy: 1e-4) }
        let before = volume.voxels.reduce(0.0) { $0 + Double($1) }
        let after = smoothed.voxels.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(after, before, accuracy: 1e-6 * before)
        XCTAssertLessThan(variance(smoothed.voxels), variance(volume.voxels) / 4, "smoothing must smooth")
    }

    func testConstantStaysConstantAndVectorComponentsSmoothIndependently() {
        let grid = Grid(dims: SIMD3(8, 8, 8), spacing: SIMD3(repeating: 2))
        let field = VectorField(grid: grid) { x in SIMD3(5, 0, x.x) }
        let smoothed = field.smoothed(sigmaMillimetres: 3)
        XCTAssertLessThan(maxAbsDifference(smoothed.x, field.x), 1e-5)
        XCTAssertEqual(smoothed.y, field.y)
        XCTAssertEqual(smoothed.z, Volume(grid: grid, voxels: field.z).smoothed(sigmaMillimetres: 3).voxels)
    }

    private func variance(_ values: [Float]) -> Double {
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        return values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
    }
}
