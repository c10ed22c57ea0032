// Naive, independently written references: explicit loops and explicit
// 'same' padding, Double accumulation. Nothing here shares code with the
// module under test.
@testable import Network

/// Index of [n, x, y, z, c] in a channels-last array.
func channelsLastIndex(_ n: Int, _ x: Int, _ y: Int, _ z: Int, _ c: Int, grid: Grid3, channels: Int) -> Int {
    (((n * grid.x + x) * grid.y + y) * grid.z + z) * channels + c
}

/// 3×3×3 'same' convolution with a zero border of one voxel on every side.
func referenceConvolution(input: [Float], kernel: [Float], bias: [Float], batch: Int, grid: Grid3,
                          inChannels: Int, outChannels: Int) -> [Float] {
    var out = [Float](repeating: 0, count: batch * grid.voxels * outChannels)
    for n in 0..<batch {
        for x in 0..<grid.x { for y in 0..<grid.y { for z in 0..<grid.z {
            for o in 0..<outChannels {
                var sum = Double(bias[o])
                for kx in 0..<3 { for ky in 0..<3 { for kz in 0..<3 {
                    let sx = x + kx - 1, sy = y + ky - 1, sz = z + kz - 1
                    if sx < 0 || sy < 0 || sz < 0 || sx >= grid.x || sy >= grid.y || sz >= grid.z { continue }
                    for i in 0..<inChannels {
                        let w = kernel[(((kx * 3 + ky) * 3 + kz) * inChannels + i) * outChannels + o]
                        sum += Double(w) * Double(input[channelsLastIndex(n, sx, sy, sz, i, grid: grid, channels: inChannels)])
                    }
                }}}
                out[channelsLastIndex(n, x, y, z, o, grid: grid, channels: outChannels)] = Float(sum)
            }
        }}}
    }
    return out
}

/// Gradients of referenceConvolution for an output gradient dOut: the input
/// gradient and the kernel gradient, each by its own loop over every tap.
func referenceConvolutionGradients(input: [Float], kernel: [Float], dOut: [Float], batch: Int, grid: Grid3,
                                   inChannels: Int, outChannels: Int) -> (dInput: [Float], dKernel: [Float]) {
    var dInput = [Double](repeating: 0, count: input.count)
    var dKernel = [Double](repeating: 0, count: kernel.count)
    for n in 0..<batch {
        for x in 0..<grid.x { for y in 0..<grid.y { for z in 0..<grid.z {
            for kx in 0..<3 { for ky in 0..<3 { for kz in 0..<3 {
                let sx = x + kx - 1, sy = y + ky - 1, sz = z + kz - 1
                if sx < 0 || sy < 0 || sz < 0 || sx >= grid.x || sy >= grid.y || sz >= grid.z { continue }
                for i in 0..<inChannels {
                    let source = channelsLastIndex(n, sx, sy, sz, i, grid: grid, channels: inChannels)
                    for o in 0..<outChannels {
                        let g = Double(dOut[channelsLastIndex(n, x, y, z, o, grid: grid, channels: outChannels)])
                        let tap = (((kx * 3 + ky) * 3 + kz) * inChannels + i) * outChannels + o
                        dInput[source] += Double(kernel[tap]) * g
                        dKernel[tap] += Double(input[source]) * g
                    }
                }
            }}}
        }}}
    }
    return (dInput.map(Float.init), dKernel.map(Float.init))
}

/// 2×2×2 stride-2 pooling, TF 'same': output ceil(n/2), the padding of an
/// odd size at the end. Max ignores padded cells; average counts only real ones.
func referencePool(_ x: [Float], batch: Int, grid: Grid3, channels: Int, maximum: Bool) -> [Float] {
    let outGrid = Grid3((grid.x + 1) / 2, (grid.y + 1) / 2, (grid.z + 1) / 2)
    var out = [Float](repeating: 0, count: batch * outGrid.voxels * channels)
    for n in 0..<batch { for ox in 0..<outGrid.x { for oy in 0..<outGrid.y { for oz in 0..<outGrid.z {
        for c in 0..<channels {
            var best = -Double.infinity, sum = 0.0, real = 0
            for dx in 0..<2 { for dy in 0..<2 { for dz in 0..<2 {
                let ix = 2 * ox + dx, iy = 2 * oy + dy, iz = 2 * oz + dz
                guard ix < grid.x, iy < grid.y, iz < grid.z else { continue }
                let v = Double(x[channelsLastIndex(n, ix, iy, iz, c, grid: grid, channels: channels)])
                best = max(best, v); sum += v; real += 1
            }}}
            out[channelsLastIndex(n, ox, oy, oz, c, grid: outGrid, channels: channels)] =
                Float(maximum ? best : sum / Double(real))
        }
    }}}}
    return out
}

/// Batch normalisation with batch statistics (biased variance), [rows, channels].
func referenceBatchNorm(_ x: [Float], rows: Int, channels: Int, gamma: [Float], beta: [Float],
                        epsilon: Double = 1e-3) -> [Float] {
    var out = x
    for c in 0..<channels {
        let column = (0..<rows).map { Double(x[$0 * channels + c]) }
        let mean = column.reduce(0, +) / Double(rows)
        let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows)
        for r in 0..<rows {
            out[r * channels + c] = Float(Double(gamma[c]) * (column[r] - mean) / (variance + epsilon).squareRoot()
                                          + Double(beta[c]))
        }
    }
    return out
}
