#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Softmax followed by categorical cross-entropy with per-sample weights,
// reduced like Keras's default ("sum over batch size"):
//   loss = Σₙ wₙ · (−log softmax(logitsₙ)[labelₙ]) / N
// Weights implement SimBA's reweighing; all ones gives the plain mean.

/// Row-wise softmax, computed stably; logits, probabilities [N, K]
public func softmaxForward(
    probabilities: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, batch: Int, classes: Int
) {
    for n in 0..<batch {
        let l = logits + n * classes, p = probabilities + n * classes
        var largest = l[0]
        for k in 1..<classes { largest = Swift.max(largest, l[k]) }
        var total: Float = 0
        for k in 0..<classes { p[k] = expf(l[k] - largest); total += p[k] }
        for k in 0..<classes { p[k] /= total }
    }
}

/// Returns the weighted loss and writes dLoss/dLogits.
/// logits, probabilities (=), dLogits (=) [N, K]; labels, weights [N]
public func softmaxCrossEntropy(
    dLogits: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int>, weights: UnsafePointer<Float>,
    batch: Int, classes: Int
) -> Float {
    softmaxForward(probabilities: probabilities, logits: logits, batch: batch, classes: classes)
    var loss: Double = 0
    for n in 0..<batch {
        let l = logits + n * classes, p = probabilities + n * classes, d = dLogits + n * classes
        let label = labels[n]
        precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
        var largest = l[0]
        for k in 1..<classes { largest = Swift.max(largest, l[k]) }
        var total: Double = 0
        for k in 0..<classes { total += Double(expf(l[k] - largest)) }
        // −log softmax via log-sum-exp: exact even when p[label] underflows.
        let negativeLogLikelihood = log(total) - Double(l[label] - largest)
        loss += Double(weights[n]) * negativeLogLikelihood
        let scale = weights[n] / Float(batch)
        for k in 0..<classes { d[k] = scale * (p[k] - (k == label ? 1 : 0)) }
    }
    return Float(loss / Double(batch))
}

/// One row of logits read in double precision, for scoring outside the
/// training step (validation loss, disease probabilities): the largest
/// logit and Σ exp(logit − largest), from which the log-sum-exp, each
/// class's probability and the negative log-likelihood follow stably.
public struct LogitRow {
    public let logits: UnsafePointer<Float>
    public let classes: Int
    public let largest: Double
    public let total: Double

    public init(_ logits: UnsafePointer<Float>, classes: Int) {
        self.logits = logits
        self.classes = classes
        largest = (0..<classes).map { Double(logits[$0]) }.max() ?? 0
        let largest = self.largest
        total = (0..<classes).reduce(0.0) { $0 + exp(Double(logits[$1]) - largest) }
    }

    public var logSumExp: Double { largest + log(total) }

    /// −log softmax(row)[label].
    public func negativeLogLikelihood(label: Int) -> Double { logSumExp - Double(logits[label]) }

    /// softmax(row)[c].
    public func probability(of c: Int) -> Double { exp(Double(logits[c]) - largest) / total }

    /// The class with the largest logit (the first on ties).
    public var predicted: Int { (0..<classes).max { logits[$0] < logits[$1] } ?? 0 }
}

extension SimbaCNN {
    /// Sample `n` of the last forward's logits.
    public func logitRow(sample n: Int) -> LogitRow {
        LogitRow(logits.data + n * configuration.classes, classes: configuration.classes)
    }
}
