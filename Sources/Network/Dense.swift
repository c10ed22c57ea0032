// Fully connected layer with Keras's kernel layout [inputs, outputs].
// SimBA's head is 18,432 → 2 for a batch of 2: plain loops beat a BLAS call
// at this shape, and the loop order keeps the long axis contiguous.

/// out = x · kernel + bias; x [N, F], kernel [F, K], bias [K], out [N, K]
public func denseForward(
    out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
    kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    batch: Int, inputs: Int, outputs: Int
) {
    for n in 0..<batch {
        let row = x + n * inputs, o = out + n * outputs
        for k in 0..<outputs { o[k] = bias[k] }
        for f in 0..<inputs {
            let v = row[f], w = kernel + f * outputs
            for k in 0..<outputs { o[k] += v * w[k] }
        }
    }
}

/// dKernel, dBias (+=); dx (=) when given.
/// dOut [N, K], x [N, F], kernel [F, K], dKernel [F, K], dBias [K], dx [N, F]
public func denseBackward(
    dx: UnsafeMutablePointer<Float>?, dKernel: UnsafeMutablePointer<Float>,
    dBias: UnsafeMutablePointer<Float>,
    dOut: UnsafePointer<Float>, x: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
    batch: Int, inputs: Int, outputs: Int
) {
    for n in 0..<batch {
        let row = x + n * inputs, g = dOut + n * outputs
        for k in 0..<outputs { dBias[k] += g[k] }
        for f in 0..<inputs {
            let v = row[f], dw = dKernel + f * outputs
            for k in 0..<outputs { dw[k] += v * g[k] }
        }
        if let dx {
            let d = dx + n * inputs
            for f in 0..<inputs {
                let w = kernel + f * outputs
                var sum: Float = 0
                for k in 0..<outputs { sum += w[k] * g[k] }
                d[f] = sum
            }
        }
    }
}
