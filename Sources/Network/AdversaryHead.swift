import Randomness

// The adversary of adversarial unlearning: a dense softmax classifier that
// reads the network's encoder output (the dropped-out features the disease
// head reads) and predicts a nuisance label — the bias group, or the site
// in HarmonyTM. It has its own parameters, gradients and optimizer; the
// encoder learns from it only through `inputGradient` (the confusion step).

public final class AdversaryHead {
    public let features: Int, classes: Int, maxBatch: Int
    /// "adversary.kernel" [features, classes] and "adversary.bias" [classes].
    public let layout: ParameterLayout
    public let parameters: Tensor
    /// Overwritten by each backward.
    public let gradients: Tensor
    /// [maxBatch, classes] of the last forward.
    public let logits: Tensor, probabilities: Tensor
    /// d(loss)/d(encoder output) of the last backward [maxBatch, features].
    public let inputGradient: Tensor
    private let logitsGradient: Tensor
    private var input: UnsafePointer<Float>?
    public private(set) var batch = 0

    public init(features: Int, classes: Int, maxBatch: Int, seed: UInt64) throws {
        guard features > 0, classes >= 2, maxBatch > 0 else {
            throw NetworkError.invalidConfiguration("an adversary head needs features, at least 2 classes and a batch (got \(features), \(classes), \(maxBatch))")
        }
        self.features = features; self.classes = classes; self.maxBatch = maxBatch
        var layout = ParameterLayout()
        layout.append("adversary.kernel", role: .denseKernel, shape: [features, classes])
        layout.append("adversary.bias", role: .denseBias, shape: [classes])
        self.layout = layout
        parameters = Tensor(shape: [layout.totalCount])
        gradients = Tensor(shape: [layout.totalCount])
        logits = Tensor(shape: [maxBatch, classes]); probabilities = Tensor(shape: [maxBatch, classes])
        logitsGradient = Tensor(shape: [maxBatch, classes])
        inputGradient = Tensor(shape: [maxBatch, features])
        // Keras's Dense default: Glorot-uniform kernel, zero bias.
        var generator = SeededGenerator(seed: seed, stream: 0, "adversary")
        let limit = (6 / Float(features + classes)).squareRoot()
        for i in 0..<(features * classes) { parameters[i] = generator.symmetric(limit: limit) }
    }

    private var kernel: UnsafeMutablePointer<Float> { parameters.data }
    private var bias: UnsafeMutablePointer<Float> { parameters.data + features * classes }

    /// Logits of `batch` rows of encoder output x [batch, features]; x must
    /// stay valid until the backward.
    public func forward(_ x: UnsafePointer<Float>, batch: Int) {
        precondition(batch > 0 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        self.batch = batch
        input = x
        denseForward(out: logits.data, x: x, kernel: kernel, bias: bias, batch: batch, inputs: features, outputs: classes)
        softmaxForward(probabilities: probabilities.data, logits: logits.data, batch: batch, classes: classes)
    }

    /// The adversary's own step: weighted cross-entropy against `labels`
    /// (Σ w·nll / batch, as the disease loss); fills `gradients` and
    /// `inputGradient`; returns the loss.
    @discardableResult
    public func backward(labels: [Int], weights: [Float]) -> Float {
        precondition(labels.count == batch && weights.count == batch, "labels and weights for a batch of \(batch)")
        let loss = labels.withUnsafeBufferPointer { l in
            weights.withUnsafeBufferPointer { w in
                softmaxCrossEntropy(dLogits: logitsGradient.data, probabilities: probabilities.data,
                                    logits: logits.data, labels: l.baseAddress!, weights: w.baseAddress!,
                                    batch: batch, classes: classes)
            }
        }
        backpropagate()
        return loss
    }

    /// The encoder's step against it: the confusion loss times `scale`
    /// (each row's term times its weight, if given); fills `inputGradient`
    /// (and `gradients`, which this step does not apply); returns the loss.
    @discardableResult
    public func backwardConfusion(scale: Float, weights: [Float]? = nil) -> Float {
        precondition(weights.map { $0.count == batch } ?? true, "one weight per row of a batch of \(batch)")
        let loss = weights.withOptionalPointer { w in
            confusionLoss(dLogits: logitsGradient.data, probabilities: probabilities.data,
                          logits: logits.data, batch: batch, classes: classes, scale: scale, weights: w)
        }
        backpropagate()
        return loss
    }

    private func backpropagate() {
        guard let input else { preconditionFailure("backward before forward") }
        gradients.fill(0)
        denseBackward(dx: inputGradient.data, dKernel: gradients.data, dBias: gradients.data + features * classes,
                      dOut: logitsGradient.data, x: input, kernel: kernel, batch: batch, inputs: features, outputs: classes)
    }

    /// Row `n` of the last forward's logits.
    public func logitRow(sample n: Int) -> LogitRow { LogitRow(logits.data + n * classes, classes: classes) }

    /// Replaces all parameters (from a checkpoint); the size must match.
    public func load(parameters values: [Float]) throws {
        try parameters.load(values, what: "adversary head parameters")
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's storage, or nil, for the duration of `body`.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let array = self else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
