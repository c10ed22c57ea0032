#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The confusion loss of adversarial unlearning (Dinsdale et al. 2021, as
// SimBA's bias_mitigation/unlearning.py and the lab's HarmonyTM use it):
//   L = −1/(N·K) · Σₙ Σₖ log softmax(logitsₙ)ₖ
// It is smallest when the adversary's output is uniform over its K classes,
// so minimising it over the encoder removes what the adversary can read.
// Its gradient is short: ∂L/∂logitₙⱼ = (pₙⱼ − 1/K) / N.

/// Returns `scale`·L over the batch and writes dLoss/dLogits (scaled alike).
/// `scale` carries the loss weight β and, when a global batch is split over
/// ranks, the share local/global, as the weights of softmaxCrossEntropy do.
/// `weights` (one per row, optional) weigh the rows' terms:
/// L = −1/(N·K) · Σₙ wₙ Σₖ log softmax(logitsₙ)ₖ.
/// logits, probabilities (=), dLogits (=) [N, K]
public func confusionLoss(
    dLogits: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
    logits: UnsafePointer<Float>, batch: Int, classes: Int, scale: Float, weights: UnsafePointer<Float>? = nil
) -> Float {
    softmaxForward(probabilities: probabilities, logits: logits, batch: batch, classes: classes)
    var loss: Double = 0
    let uniform = 1 / Float(classes)
    for n in 0..<batch {
        let row = LogitRow(logits + n * classes, classes: classes)
        let p = probabilities + n * classes, d = dLogits + n * classes
        // Without weights every step is the unweighted loss's, bit for bit (× 1 is exact).
        let weight = weights.map { $0[n] } ?? 1, rowScale = scale * weight / Float(batch)
        for k in 0..<classes {
            // −log softmax via log-sum-exp, exact when p underflows.
            loss += Double(weight) * (row.logSumExp - Double(row.logits[k]))
            d[k] = rowScale * (p[k] - uniform)
        }
    }
    return Float(Double(scale) * loss / Double(batch * classes))
}
