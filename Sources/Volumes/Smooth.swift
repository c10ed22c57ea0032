import Foundation  // exp

/// Sampled, normalised Gaussian truncated at 4 sigma (as scipy.ndimage.gaussian_filter).
struct GaussianKernel {
    let radius: Int
    let weights: [Float]

    init(sigmaVoxels sigma: Double) {
        precondition(sigma > 0 && sigma.isFinite, "sigma must be positive")
        radius = Int(4 * sigma + 0.5)
        let raw = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = raw.reduce(0, +)
        weights = raw.map { Float($0 / total) }
    }
}

/// Half-sample symmetric reflection (…c b a | a b c … | c b a…, scipy mode "reflect").
/// With this boundary the smoothing operator is a symmetric matrix whose rows sum to one,
/// so its columns do too: smoothing preserves the sum of the volume.
@inline(__always) func reflectIndex(_ i: Int, _ n: Int) -> Int {
    let period = 2 * n
    var r = i % period
    if r < 0 { r += period }
    return r < n ? r : period - 1 - r
}

/// One 1-D Gaussian pass along `axis` (0 = x, 1 = y, 2 = z) of a volume with `dims`.
/// y and z passes accumulate whole contiguous rows/planes so inner loops stay unit-stride.
/// Rows (x) or planes (y, z) are split over `VolumeThreads.count` threads.
func gaussianPass(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, dims: SIMD3<Int>,
                  axis: Int, kernel: GaussianKernel) {
    let nx = dims.x, ny = dims.y, nz = dims.z
    let r = kernel.radius
    kernel.weights.withUnsafeBufferPointer { w in
        switch axis {
        case 0:
            forEachSlab(ny * nz) { _, rows in
                var padded = [Float](repeating: 0, count: nx + 2 * r)
                padded.withUnsafeMutableBufferPointer { pad in
                    for row in rows {
                        let line = src + row * nx
                        for i in 0..<(nx + 2 * r) { pad[i] = line[reflectIndex(i - r, nx)] }
                        // Tap-major accumulation: each tap is a unit-stride multiply-add over
                        // the row, which vectorises (a per-output dot product does not).
                        let out = dst + row * nx
                        out.update(repeating: 0, count: nx)
                        for m in 0...(2 * r) {
                            let weight = w[m], shifted = pad.baseAddress! + m
                            for i in 0..<nx { out[i] += weight * shifted[i] }
                        }
                    }
                }
            }
        case 1:
            forEachSlab(nz) { _, slab in
                for k in slab {
                    let plane = k * nx * ny
                    for j in 0..<ny {
                        let out = dst + plane + j * nx
                        out.update(repeating: 0, count: nx)
                        for m in 0...(2 * r) {
                            let line = src + plane + reflectIndex(j + m - r, ny) * nx
                            let weight = w[m]
                            for i in 0..<nx { out[i] += weight * line[i] }
                        }
                    }
                }
            }
        default:
            let planeSize = nx * ny
            forEachSlab(nz) { _, slab in
                for k in slab {
                    let out = dst + k * planeSize
                    out.update(repeating: 0, count: planeSize)
                    for m in 0...(2 * r) {
                        let plane = src + reflectIndex(k + m - r, nz) * planeSize
                        let weight = w[m]
                        for i in 0..<planeSize { out[i] += weight * plane[i] }
                    }
                }
            }
        }
    }
}

/// Separable Gaussian of a flat x-fastest array; sigma in voxels per axis (≤ 0 skips the axis).
func gaussianSmoothed(_ values: [Float], dims: SIMD3<Int>, sigmaVoxels: SIMD3<Double>) -> [Float] {
    var current = values
    var scratch = [Float](repeating: 0, count: values.count)
    for axis in 0..<3 where sigmaVoxels[axis] > 1e-6 {
        let kernel = GaussianKernel(sigmaVoxels: sigmaVoxels[axis])
        if kernel.radius == 0 { continue }
        current.withUnsafeBufferPointer { src in
            scratch.withUnsafeMutableBufferPointer { dst in
                gaussianPass(src.baseAddress!, dst.baseAddress!, dims: dims, axis: axis, kernel: kernel)
            }
        }
        swap(&current, &scratch)
    }
    return current
}

extension Volume where Element == Float {
    /// Separable Gaussian smoothing, sigma in mm per index axis (converted with the grid spacing).
    public func smoothed(sigmaMillimetres sigma: SIMD3<Double>) -> Volume<Float> {
        Volume(grid: grid, voxels: gaussianSmoothed(voxels, dims: dims, sigmaVoxels: sigma / grid.spacing))
    }

    public func smoothed(sigmaMillimetres sigma: Double) -> Volume<Float> {
        smoothed(sigmaMillimetres: SIMD3(repeating: sigma))
    }
}

extension VectorField {
    /// Each component smoothed with the same Gaussian (sigma in mm).
    public func smoothed(sigmaMillimetres sigma: Double) -> VectorField {
        let sigmaVoxels = SIMD3(repeating: sigma) / grid.spacing
        return mapComponents { gaussianSmoothed($0, dims: grid.dims, sigmaVoxels: sigmaVoxels) }
    }
}
