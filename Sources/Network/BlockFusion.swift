// BatchNorm → activation → max-pool of one block in two memory passes.
//
// These three layers are memory-bound; at full resolution block 1's conv
// output alone is 1.4 GB, so every extra pass over it costs as much as a
// sizeable sgemm. The fused forward reads the raw convolution output once,
// normalises (y = scale·x + shift), keeps the window max of y and applies
// the activation only to that max (valid because the activation is monotone),
// storing the pooled activation and the winner index. The fused backward
// needs only the raw convolution output, the pooled outputs and the winners:
// dy is nonzero only at winners, so the batch-norm sums run over pooled
// voxels, and the input gradient is one pass that writes every voxel's
// affine term plus, at the winner, its share of dy.
//
// Results match maxPoolForward(activationForward(batchNormForward(x))) and
// the composition of the plain backward functions, which the tests check.

/// pooled, winner [N, outX, outY, outZ, C]; conv [N, X, Y, Z, C];
/// scale, shift [C] from batchNormScaleShift
public func normalizeActivatePoolForward(
    pooled: UnsafeMutablePointer<Float>, winner: UnsafeMutablePointer<UInt8>,
    conv: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
    activation: Activation, geometry: PoolGeometry, channels: Int
) {
    geometry.forEachWindow { outputRow, cells, cellCount in
        forEachLaneGroup(channels) { c, n in
            let a = loadLanes(scale + c, n), b = loadLanes(shift + c, n)
            var best = a * loadLanes(conv + cells[0] * channels + c, n) + b
            var won = IndexLanes()
            for cell in 1..<Swift.max(cellCount, 1) {
                let y = a * loadLanes(conv + cells[cell] * channels + c, n) + b
                let better = y .> best
                best.replace(with: y, where: better)
                won.replace(with: Int32(cell), where: better)
            }
            storeLanes(activation.apply(best), pooled + outputRow * channels + c, n)
            storeIndexLanes(won, winner + outputRow * channels + c, n)
        }
    }
}

/// dConv (=) [N, X, Y, Z, C]; dPooled, pooled, winner [N, outX, outY, outZ, C];
/// conv [N, X, Y, Z, C]; mean, inverseStd, gamma [C]; dGamma, dBeta (+=) [C];
/// dConvBias (+=) [C]: Σ of dConv over voxels — the gradient of a bias added
/// before batch norm — in closed form instead of a pass over dConv;
/// sums: 2C doubles; coefficients: 3C floats
public func normalizeActivatePoolBackward(
    dConv: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>,
    dBeta: UnsafeMutablePointer<Float>, dConvBias: UnsafeMutablePointer<Float>,
    dPooled: UnsafePointer<Float>, pooled: UnsafePointer<Float>, winner: UnsafePointer<UInt8>,
    conv: UnsafePointer<Float>, mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
    gamma: UnsafePointer<Float>, activation: Activation, geometry: PoolGeometry, channels: Int,
    training: Bool, sums: UnsafeMutablePointer<Double>, coefficients: UnsafeMutablePointer<Float>,
    reduceSums: ((UnsafeMutablePointer<Double>, Int) -> Int)? = nil
) {
    /// dL/dy at the window's winner (zero elsewhere).
    @inline(__always) func winnerGradient(_ outputRow: Int, _ c: Int, _ n: Int) -> Lanes {
        let offset = outputRow * channels + c
        return loadLanes(dPooled + offset, n) * activation.derivative(output: loadLanes(pooled + offset, n))
    }
    sums.update(repeating: 0, count: 2 * channels)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * channels + laneCount) { buffer in
        let partial = buffer.baseAddress!, gathered = partial + 2 * channels
        partial.initialize(repeating: 0, count: 2 * channels + laneCount)
        geometry.forEachWindow { outputRow, cells, _ in
            forEachLaneGroup(channels) { c, n in
                // Gather through memory: assembling a vector lane by lane
                // in registers stalls on store forwarding.
                let won = winner + outputRow * channels + c
                for i in 0..<n { gathered[i] = conv[cells[Int(won[i])] * channels + c + i] }
                let x = loadLanes(gathered, laneCount)
                let dy = winnerGradient(outputRow, c, n)
                let normalized = (x - loadLanes(mean + c, n)) * loadLanes(inverseStd + c, n)
                addLanes(dy, into: partial + c, n)
                addLanes(dy * normalized, into: partial + channels + c, n)
            }
            if outputRow % partialSumLength == partialSumLength - 1 || outputRow == geometry.outputRows - 1 {
                flushPartialSums(partial, into: sums, count: 2 * channels)
            }
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
    withUnsafeTemporaryAllocation(of: Float.self, capacity: laneCount) { buffer in
        let winnerShare = buffer.baseAddress!
        geometry.forEachWindow { outputRow, cells, cellCount in
            forEachLaneGroup(channels) { c, n in
                let a = loadLanes(fromInput + c, n), b = loadLanes(constant + c, n)
                for cell in 0..<cellCount {
                    let offset = cells[cell] * channels + c
                    storeLanes(a * loadLanes(conv + offset, n) + b, dConv + offset, n)
                }
                // Scalar scatter: a per-lane select on winner indices does not
                // vectorise, and only one cell in eight receives it.
                storeLanes(loadLanes(fromDy + c, n) * winnerGradient(outputRow, c, n), winnerShare, laneCount)
                let won = winner + outputRow * channels + c
                for i in 0..<n { dConv[cells[Int(won[i])] * channels + c + i] += winnerShare[i] }
            }
        }
    }
}
