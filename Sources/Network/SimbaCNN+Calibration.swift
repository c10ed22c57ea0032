// Precise batch norm (Wu & Johnson 2021, "Rethinking 'Batch' in
// BatchNorm"): with small batches the moving statistics (momentum 0.99)
// trail the weights and eval-mode predictions can swing between epochs.
// Calibration replaces them with the average batch statistics of the
// current weights over a pass of calibrate-mode forwards:
//
//     model.beginBatchNormCalibration()
//     for batch in trainingBatches { model.forward(batch, …, mode: .calibrate) }
//     var sums = model.batchNormCalibrationSums   // allreduce over ranks here
//     model.finishBatchNormCalibration(sums: sums)
//
// The sums end with the batch count, so ranks can add theirs before finishing.

extension SimbaCNN {
    /// Clears the calibration sums.
    public func beginBatchNormCalibration() {
        for index in calibrationSums.indices {
            calibrationSums[index] = [Double](repeating: 0, count: calibrationSums[index].count)
        }
        calibrationBatches = 0
    }

    /// Every block's Σ batch mean and Σ batch variance per channel, then the
    /// number of batches: one flat array to sum over ranks.
    public var batchNormCalibrationSums: [Double] {
        calibrationSums.flatMap { $0 } + [Double(calibrationBatches)]
    }

    /// Sets each block's moving mean and variance to the averages in `sums`
    /// (laid out as `batchNormCalibrationSums`); without batches nothing changes.
    public func finishBatchNormCalibration(sums: [Double]) {
        let expected = calibrationSums.reduce(0) { $0 + $1.count } + 1
        precondition(sums.count == expected, "\(sums.count) calibration sums, expected \(expected)")
        let batches = sums[sums.count - 1]
        guard batches > 0 else { return }
        var offset = 0
        for (index, width) in configuration.widths.enumerated() {
            let slices = blockSlices[index]
            for c in 0..<width {
                parameters[slices.movingMean + c] = Float(sums[offset + c] / batches)
                parameters[slices.movingVariance + c] = Float(sums[offset + width + c] / batches)
            }
            offset += 2 * width
        }
    }
}
