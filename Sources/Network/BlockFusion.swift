// BatchNorm → activation → max-pool of one block in two memory passes.
//
// These three layers are memory-bound; at full resolution block 1's conv
// output alone is 1.4 GB, so every extra pass over it costs as much as a
// sizeable sgemm. The fused forward reads the raw convolution output once,
// normalises (y = scale·x + shift), keeps the window max of y and applies
// the activation only to that max (valid because the activation is monotone),
// storing the pooled activation, the winner's cell index and the winner's
// raw input x. The fused backward then needs no gathers: dy is nonzero only
// at winners, so the batch-norm sums run over pooled voxels with the stored
// x, and the input gradient is one pass that writes every voxel's affine
// term plus, where the cell index matches, its share of dy.
//
// Winner indices are stored as Float: compares and selects on float lanes
// stay in SIMD registers, while integer-lane compares compile to scalar
// loops in Swift 6.3.
//
// Results match maxPoolForward(activationForward(batchNormForward(x))) and
// the composition of the plain backward functions, which the tests check.
//
// On CPUs with AVX-512 the same kernels run in C (Sources/CBlockFusion), 16
// channels per instruction where Swift's SIMD16 compiles to four SSE ones,
// with the same arithmetic in the same order: bitwise the same results.

import CBlockFusion

/// Which code runs the block kernels (and batch norm's statistics pass):
/// the AVX-512 C kernels where the convolutions run theirs
/// (ConvolutionProducts.fastest; SIMBA_CONV_PRODUCTS=sgemm selects the
/// portable path for both), the Swift loops here otherwise.
public enum BlockKernels: Sendable {
    case swift, avx512

    public static let fastest: BlockKernels = ConvolutionProducts.fastest == .avx512 ? .avx512 : .swift
}

extension PoolGeometry {
    func cGeometry(channels: Int) -> simba_pool_geometry {
        simba_pool_geometry(batch: batch, x: input.x, y: input.y, z: input.z, sample_stride: inputSampleStride,
                            offset: inputOffset, channels: channels)
    }
}

extension Activation {
    var cActivation: simba_activation {
        switch self {
        case .sigmoid: return SIMBA_SIGMOID
        case .relu: return SIMBA_RELU
        }
    }
}

/// pooled, winner, winnerInput [N, outX, outY, outZ, C]; conv [N, X, Y, Z, C];
/// scale, shift [C] from batchNormScaleShift
public func normalizeActivatePoolForward(
    pooled: UnsafeMutablePointer<Float>, winner: UnsafeMutablePointer<Float>,
    winnerInput: UnsafeMutablePointer<Float>,
    conv: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
    activation: Activation, geometry: PoolGeometry, channels: Int, kernels: BlockKernels = .fastest
) {
    if kernels == .avx512 {
        simba_normalize_activate_pool_forward(pooled, winner, winnerInput, conv, scale, shift,
                                              activation.cActivation, geometry.cGeometry(channels: channels))
        return
    }
    geometry.forEachWindow { outputRow, cells, cellCount in
        forEachLaneGroup(channels) { c, n in
            let a = loadLanes(scale + c, n), b = loadLanes(shift + c, n)
            var bestInput = loadLanes(conv + cells[0] * channels + c, n)
            var best = a * bestInput + b
            var won = Lanes()
            for cell in 1..<Swift.max(cellCount, 1) {
                let x = loadLanes(conv + cells[cell] * channels + c, n)
                let y = a * x + b
                let better = y .> best
                best.replace(with: y, where: better)
                bestInput.replace(with: x, where: better)
                won.replace(with: Float(cell), where: better)
            }
            let offset = outputRow * channels + c
            storeLanes(activation.apply(best), pooled + offset, n)
            storeLanes(won, winner + offset, n)
            storeLanes(bestInput, winnerInput + offset, n)
        }
    }
}

/// dConv (=) [N, X, Y, Z, C]; dPooled, pooled, winner, winnerInput
/// [N, outX, outY, outZ, C]; conv [N, X, Y, Z, C]; mean, inverseStd, gamma [C];
/// dGamma, dBeta (+=) [C];
/// dConvBias (+=) [C]: Σ of dConv over voxels — the gradient of a bias added
/// before batch norm — in closed form instead of a pass over dConv;
/// sums: 2C doubles; coefficients: 3C floats
public func normalizeActivatePoolBackward(
    dConv: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>,
    dBeta: UnsafeMutablePointer<Float>, dConvBias: UnsafeMutablePointer<Float>,
    dPooled: UnsafePointer<Float>, pooled: UnsafePointer<Float>, winner: UnsafePointer<Float>,
    winnerInput: UnsafePointer<Float>,
    conv: UnsafePointer<Float>, mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
    gamma: UnsafePointer<Float>, activation: Activation, geometry: PoolGeometry, channels: Int,
    training: Bool, sums: UnsafeMutablePointer<Double>, coefficients: UnsafeMutablePointer<Float>,
    reduceSums: ((UnsafeMutablePointer<Double>, Int) -> Int)? = nil, kernels: BlockKernels = .fastest
) {
    normalizeActivatePoolGradientCoefficients(
        dGamma: dGamma, dBeta: dBeta, dConvBias: dConvBias, dPooled: dPooled, pooled: pooled, winner: winner,
        winnerInput: winnerInput, conv: conv, mean: mean, inverseStd: inverseStd, gamma: gamma,
        activation: activation, geometry: geometry, channels: channels, training: training, sums: sums,
        coefficients: coefficients, reduceSums: reduceSums, kernels: kernels
    ).write(into: dConv)
}

/// normalizeActivatePoolBackward up to dConv: dGamma, dBeta and dConvBias
/// (+=), and the coefficients of dConv, which the returned value writes
/// (it reads `coefficients`, so use it before they change).
func normalizeActivatePoolGradientCoefficients(
    dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
    dConvBias: UnsafeMutablePointer<Float>,
    dPooled: UnsafePointer<Float>, pooled: UnsafePointer<Float>, winner: UnsafePointer<Float>,
    winnerInput: UnsafePointer<Float>,
    conv: UnsafePointer<Float>, mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
    gamma: UnsafePointer<Float>, activation: Activation, geometry: PoolGeometry, channels: Int,
    training: Bool, sums: UnsafeMutablePointer<Double>, coefficients: UnsafeMutablePointer<Float>,
    reduceSums: ((UnsafeMutablePointer<Double>, Int) -> Int)?, kernels: BlockKernels
) -> BlockInputGradient {
    sums.update(repeating: 0, count: 2 * channels)
    let pooledRows = geometry.outputRows
    if kernels == .avx512 {
        simba_pooled_gradient_sums(sums, dPooled, pooled, winnerInput, mean, inverseStd, activation.cActivation,
                                   pooledRows, channels)
    } else {
        // Pooled voxels in blocks of `partialSumLength`, one lane group at a
        // time, so the float accumulators stay in registers.
        var firstRow = 0
        while firstRow < pooledRows {
            let blockRows = Swift.min(partialSumLength, pooledRows - firstRow)
            forEachLaneGroup(channels) { c, n in
                let m = loadLanes(mean + c, n), istd = loadLanes(inverseStd + c, n)
                var sumDy = Lanes(), sumDyNormalized = Lanes()
                for row in firstRow..<(firstRow + blockRows) {
                    let offset = row * channels + c
                    let dy = winnerGradient(dPooled, pooled, activation, offset, n)
                    sumDy += dy
                    sumDyNormalized += dy * ((loadLanes(winnerInput + offset, n) - m) * istd)
                }
                for i in 0..<n {
                    sums[c + i] += Double(sumDy[i])
                    sums[channels + c + i] += Double(sumDyNormalized[i])
                }
            }
            firstRow += blockRows
        }
    }
    // Sync BN: sums and rows of the whole batch, so dγ, dβ and the bias gradient are the batch's on every rank.
    let batchRows = reduceSums?(sums, geometry.inputRows) ?? geometry.inputRows
    let fromInput = coefficients, constant = coefficients + channels, fromDy = coefficients + 2 * channels
    batchNormBackwardCoefficients(
        dxFromInput: fromInput, dxConstant: constant, dxFromDy: fromDy,
        dGamma: dGamma, dBeta: dBeta, sums: sums, gamma: gamma, mean: mean,
        inverseStd: inverseStd, rows: batchRows, channels: channels, training: training)
    // Σ dConv = fromInput·Σx + M·constant + fromDy·Σdy, and Σx = M·mean in
    // train mode (fromInput = constant = 0 in eval mode). In train mode this
    // is zero up to rounding: batch norm removes any constant shift.
    let rows = Double(batchRows)
    for c in 0..<channels {
        let affine = rows * (Double(fromInput[c]) * Double(mean[c]) + Double(constant[c]))
        dConvBias[c] += Float(affine + Double(fromDy[c]) * sums[c])
    }
    return BlockInputGradient(dPooled: dPooled, pooled: pooled, winner: winner, conv: conv, fromInput: fromInput,
                              constant: constant, fromDy: fromDy, activation: activation, geometry: geometry,
                              channels: channels, kernels: kernels)
}

/// dL/dy at the window's winner (zero elsewhere), lanes of pooled row·C + c.
@inline(__always)
private func winnerGradient(_ dPooled: UnsafePointer<Float>, _ pooled: UnsafePointer<Float>, _ activation: Activation,
                            _ offset: Int, _ n: Int) -> Lanes {
    loadLanes(dPooled + offset, n) * activation.derivative(output: loadLanes(pooled + offset, n))
}

/// The fused backward's last pass: dConv = fromInput·x + constant at every
/// cell, plus fromDy·dy at each window's winner; written whole, or (where
/// `writesRows`) a run of rows at a time, for a convolution's backward that
/// reads dConv chunk by chunk and so never needs it in memory whole.
struct BlockInputGradient {
    let dPooled, pooled, winner, conv, fromInput, constant, fromDy: UnsafePointer<Float>
    let activation: Activation, geometry: PoolGeometry, channels: Int, kernels: BlockKernels

    /// dConv [N, X, Y, Z, C] (=) at every cell of every window.
    func write(into dConv: UnsafeMutablePointer<Float>) {
        if kernels == .avx512 {
            simba_normalize_activate_pool_input_gradient(dConv, dPooled, pooled, winner, conv, fromInput, constant,
                                                         fromDy, activation.cActivation,
                                                         geometry.cGeometry(channels: channels))
            return
        }
        geometry.forEachWindow { outputRow, cells, cellCount in
            forEachLaneGroup(channels) { c, n in
                let a = loadLanes(fromInput + c, n), b = loadLanes(constant + c, n)
                let offset = outputRow * channels + c
                let won = loadLanes(winner + offset, n)
                let atWinner = loadLanes(fromDy + c, n) * winnerGradient(dPooled, pooled, activation, offset, n)
                for cell in 0..<cellCount {
                    let cellOffset = cells[cell] * channels + c
                    let d = a * loadLanes(conv + cellOffset, n) + b
                    storeLanes(d.replacing(with: d + atWinner, where: won .== Float(cell)), dConv + cellOffset, n)
                }
            }
        }
    }

    /// Whether write(rows:count:into:) is available: with the AVX-512 kernels.
    var writesRows: Bool { kernels == .avx512 }

    /// Buffer rows first..<first+count of dConv into `out` [count][C],
    /// bitwise what write(into:) puts there, and zero on a slab's padding
    /// rows (which write(into:) leaves alone).
    func write(rows first: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(writesRows, "dConv by rows needs the AVX-512 kernels")
        simba_normalize_activate_pool_input_gradient_rows(out, first, count, dPooled, pooled, winner, conv, fromInput,
                                                          constant, fromDy, activation.cActivation,
                                                          geometry.cGeometry(channels: channels))
    }
}
