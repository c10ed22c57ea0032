import CBlockFusion
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Keras BatchNormalization over the channel axis of [M, C] rows (M = every
// voxel of every sample). Train mode normalises with the batch mean and the
// biased batch variance and moves the moving statistics by
// moving = momentum · moving + (1 − momentum) · batch (biased variance too).
// Eval mode normalises with the moving statistics.

public enum BatchNormSettings {
    public static let epsilon: Float = 1e-3
    public static let momentum: Float = 0.99
}

/// Batch mean, biased variance and 1/sqrt(var + ε) per channel.
/// x [M, C]; mean, variance, inverseStd [C]; sums: scratch of 2C doubles
public func batchNormStatistics(
    mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
    inverseStd: UnsafeMutablePointer<Float>,
    x: UnsafePointer<Float>, rows: Int, channels: Int, epsilon: Float,
    sums: UnsafeMutablePointer<Double>
) {
    sums.update(repeating: 0, count: 2 * channels)
    batchNormAccumulateStatistics(sums: sums, x: x, rows: rows, channels: channels, reference: x)
    batchNormFinishStatistics(mean: mean, variance: variance, inverseStd: inverseStd, sums: sums,
                              rows: rows, channels: channels, reference: x, epsilon: epsilon)
}

/// Adds rows of x to running sums, so statistics can be gathered chunk by
/// chunk while a convolution's chunk of rows is still in cache. Sums are of x − reference (a row of
/// the same batch, e.g. its first), which keeps E[x²] − E[x]² free of
/// cancellation when the mean is large, and reach doubles through float
/// partial sums (see `partialSumLength`).
/// x [rows, C]; reference [C]; sums (+=) [2C]: Σ(x − ref), Σ(x − ref)²
public func batchNormAccumulateStatistics(
    sums: UnsafeMutablePointer<Double>, x: UnsafePointer<Float>, rows: Int, channels: Int,
    reference: UnsafePointer<Float>, kernels: BlockKernels = .fastest
) {
    if kernels == .avx512 { return simba_batch_norm_statistics(sums, x, rows, channels, reference) }
    // Blocks of `partialSumLength` rows, one lane group at a time, so the two
    // float accumulators stay in registers.
    var firstRow = 0
    while firstRow < rows {
        let blockRows = Swift.min(partialSumLength, rows - firstRow)
        forEachLaneGroup(channels) { c, count in
            let ref = loadLanes(reference + c, count)
            var sum = Lanes(), sumOfSquares = Lanes()
            for row in firstRow..<(firstRow + blockRows) {
                let v = loadLanes(x + row * channels + c, count) - ref
                sum += v
                sumOfSquares += v * v
            }
            for i in 0..<count {
                sums[c + i] += Double(sum[i])
                sums[channels + c + i] += Double(sumOfSquares[i])
            }
        }
        firstRow += blockRows
    }
}

/// Statistics from sums over `rows` rows gathered against `reference`.
public func batchNormFinishStatistics(
    mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
    inverseStd: UnsafeMutablePointer<Float>, sums: UnsafePointer<Double>, rows: Int, channels: Int,
    reference: UnsafePointer<Float>, epsilon: Float
) {
    let n = Double(rows)
    for c in 0..<channels {
        let shiftedMean = sums[c] / n
        let v = Swift.max(sums[channels + c] / n - shiftedMean * shiftedMean, 0)
        mean[c] = Float(Double(reference[c]) + shiftedMean)
        variance[c] = Float(v)
        inverseStd[c] = Float(1 / (v + Double(epsilon)).squareRoot())
    }
}

/// Eval-mode statistics: 1/sqrt(movingVariance + ε).
public func batchNormInverseStd(
    inverseStd: UnsafeMutablePointer<Float>, variance: UnsafePointer<Float>,
    channels: Int, epsilon: Float
) {
    for c in 0..<channels { inverseStd[c] = 1 / (variance[c] + epsilon).squareRoot() }
}

/// Folds normalisation into y = scale · x + shift per channel.
public func batchNormScaleShift(
    scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>,
    gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, channels: Int
) {
    for c in 0..<channels {
        scale[c] = gamma[c] * inverseStd[c]
        shift[c] = beta[c] - mean[c] * scale[c]
    }
}

/// moving = momentum · moving + (1 − momentum) · batch
public func batchNormUpdateMovingStatistics(
    movingMean: UnsafeMutablePointer<Float>, movingVariance: UnsafeMutablePointer<Float>,
    batchMean: UnsafePointer<Float>, batchVariance: UnsafePointer<Float>,
    channels: Int, momentum: Float
) {
    for c in 0..<channels {
        movingMean[c] = momentum * movingMean[c] + (1 - momentum) * batchMean[c]
        movingVariance[c] = momentum * movingVariance[c] + (1 - momentum) * batchVariance[c]
    }
}

/// out = scale · x + shift; x, out [M, C]; scale, shift [C]
public func batchNormForward(
    out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
    scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, rows: Int, channels: Int
) {
    for row in 0..<rows {
        let r = x + row * channels, o = out + row * channels
        for c in 0..<channels { o[c] = scale[c] * r[c] + shift[c] }
    }
}

/// dγ and dβ (+=) from the normalised input; returns nothing else so the
/// fused block kernel and the plain layer share the reduction.
/// Σdy and Σdy·x̂ per channel land in sums[0..<C] and sums[C..<2C].
@inline(__always)
func batchNormAccumulate(
    sums: UnsafeMutablePointer<Double>, channel c: Int, channels: Int, dy: Float, normalized: Float
) {
    sums[c] += Double(dy)
    sums[channels + c] += Double(dy * normalized)
}

/// After the sums: per-channel coefficients so that, for every voxel,
/// dx = dxFromInput · x + dxConstant + dxFromDy · dy.
/// Train mode: dx = γ·istd·(dy − mean(dy) − x̂·mean(dy·x̂)); eval mode the
/// statistics are constants and dx = γ·istd·dy.
func batchNormBackwardCoefficients(
    dxFromInput: UnsafeMutablePointer<Float>, dxConstant: UnsafeMutablePointer<Float>,
    dxFromDy: UnsafeMutablePointer<Float>,
    dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
    sums: UnsafePointer<Double>, gamma: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
    rows: Int, channels: Int, training: Bool
) {
    for c in 0..<channels {
        let sumDy = sums[c], sumDyNormalized = sums[channels + c]
        dBeta[c] += Float(sumDy)
        dGamma[c] += Float(sumDyNormalized)
        let gain = Double(gamma[c]) * Double(inverseStd[c])
        dxFromDy[c] = Float(gain)
        if training {
            let meanDy = sumDy / Double(rows), meanDyNormalized = sumDyNormalized / Double(rows)
            let istd = Double(inverseStd[c])
            // x̂ = (x − μ)·istd, so −gain·x̂·meanDyN is linear in x.
            dxFromInput[c] = Float(-gain * istd * meanDyNormalized)
            dxConstant[c] = Float(gain * (-meanDy + Double(mean[c]) * istd * meanDyNormalized))
        } else {
            dxFromInput[c] = 0
            dxConstant[c] = 0
        }
    }
}

/// Plain batch-norm backward. dx (=), dy, x [M, C]; dGamma, dBeta (+=) [C];
/// scratch: 2C doubles and 3C floats
public func batchNormBackward(
    dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>,
    dBeta: UnsafeMutablePointer<Float>,
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
    rows: Int, channels: Int, training: Bool,
    sums: UnsafeMutablePointer<Double>, coefficients: UnsafeMutablePointer<Float>
) {
    sums.update(repeating: 0, count: 2 * channels)
    for row in 0..<rows {
        let g = dy + row * channels, r = x + row * channels
        for c in 0..<channels {
            batchNormAccumulate(sums: sums, channel: c, channels: channels,
                                dy: g[c], normalized: (r[c] - mean[c]) * inverseStd[c])
        }
    }
    let fromInput = coefficients, constant = coefficients + channels, fromDy = coefficients + 2 * channels
    batchNormBackwardCoefficients(
        dxFromInput: fromInput, dxConstant: constant, dxFromDy: fromDy,
        dGamma: dGamma, dBeta: dBeta, sums: sums, gamma: gamma, mean: mean,
        inverseStd: inverseStd, rows: rows, channels: channels, training: training)
    for row in 0..<rows {
        let g = dy + row * channels, r = x + row * channels, d = dx + row * channels
        for c in 0..<channels { d[c] = fromInput[c] * r[c] + constant[c] + fromDy[c] * g[c] }
    }
}

/// Sums batch-norm sums over ranks with `allreduce` (a sum over every rank
/// taking part, in place) and returns the rows in all. With a `reference`
/// (forward) the sums are of (x − reference), each rank against its own:
/// the ranks agree on the mean first, then sum squared deviations from it,
/// and get back sums against their own reference. Without (backward) they
/// are plain sums.
public func sumBatchStatistics(sums: UnsafeMutablePointer<Double>, channels: Int, rows: Int,
                               reference: UnsafePointer<Float>?, allreduce: (inout [Double]) -> Void) -> Int {
    let n = Double(rows)
    guard let reference else {
        var values = [n] + Array(UnsafeBufferPointer(start: sums, count: 2 * channels))
        allreduce(&values)
        for i in 0..<(2 * channels) { sums[i] = values[1 + i] }
        return Int(values[0])
    }
    var totals = [n] + (0..<channels).map { sums[$0] + n * Double(reference[$0]) }
    allreduce(&totals)
    let batchRows = totals[0]
    let mean = (0..<channels).map { totals[1 + $0] / batchRows }
    var deviations = (0..<channels).map { c -> Double in
        let shift = Double(reference[c]) - mean[c]
        return sums[channels + c] + 2 * shift * sums[c] + n * shift * shift
    }
    allreduce(&deviations)
    for c in 0..<channels {
        let offset = mean[c] - Double(reference[c])
        sums[c] = batchRows * offset
        sums[channels + c] = deviations[c] + batchRows * offset * offset
    }
    return Int(batchRows)
}
