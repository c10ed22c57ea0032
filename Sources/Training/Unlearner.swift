import Cluster
import Network
import Storage

/// Adversarial unlearning on a replica (Dinsdale et al. 2021, as SimBA's
/// bias_mitigation/unlearning.py): an adversary head reads the encoder's
/// output and predicts a nuisance label; after every disease step it takes
/// two more, each with a fresh train-mode forward (its own dropout masks)
/// and its own Adam:
///   (2) α·CE(adversary label) over the adversary head only;
///   (3) β·confusion loss (the adversary pushed to a uniform output) over
///       the encoder only (the disease head gets no gradient).
/// While `headOnly`, the adversary trains alone on the frozen encoder
/// (eval-mode forwards: moving statistics, no dropout), replacing the
/// disease step. Gradients are summed over the replica's ranks like the
/// disease step's, so any rank count computes what one rank computes.
final class Unlearner {
    let head: AdversaryHead
    let headOptimizer: Adam
    /// Over the model's whole buffer; only the encoder's slices get gradients.
    let confusionOptimizer: Adam
    let alpha: Float, beta: Float
    /// The adversary's class of split-table row `position`.
    let target: (SplitTable, Int) -> Int
    /// The weight of that row in the adversary's and the confusion losses
    /// (and its validation accuracy): 1, or the reweighing of `unlearning_reweigh`.
    let weight: (SplitTable, Int) -> Float
    var headOnly = false

    init(model: SimbaCNN, classes: Int, config: TrainingConfig, target: @escaping (SplitTable, Int) -> Int,
         weight: @escaping (SplitTable, Int) -> Float) throws {
        head = try AdversaryHead(features: model.shapes.features, classes: classes, maxBatch: model.maxBatch, seed: config.seed)
        let rate = Float(config.learningRate)
        headOptimizer = Adam(layout: head.layout, learningRate: rate)
        confusionOptimizer = Adam(layout: model.layout, learningRate: rate)
        alpha = Float(config.unlearningAlpha)
        beta = Float(config.unlearningBeta)
        self.target = target
        self.weight = weight
    }

    /// The same step size for both optimizers (learning-rate decay).
    func setLearningRate(_ rate: Float) {
        headOptimizer.learningRate = rate
        confusionOptimizer.learningRate = rate
    }

    private func targets(_ share: BatchShare, _ table: SplitTable) -> [Int] { share.positions.map { target(table, $0) } }

    /// `scale` times each row's weight.
    private func weights(_ share: BatchShare, _ table: SplitTable, scale: Float) -> [Float] {
        share.positions.map { scale * weight(table, $0) }
    }

    /// The adversary's step on the frozen encoder. Returns this rank's part
    /// of the disease loss and its correct predictions (for the epoch's
    /// metrics; nothing learns from them) and whether the gradients were finite.
    func trainHead(on share: BatchShare, table: SplitTable, replica: Replica) throws -> (loss: Double, hits: Int, finite: Bool) {
        let model = replica.model, n = share.positions.count
        let started = Clock.now
        model.forward(share.images, batch: n, mode: .eval)
        let labels = share.positions.map { table.labels[$0] }
        let loss = zip(share.positions, 0..<n).reduce(0.0) { sum, item in
            sum + Double(table.weights[item.0] * share.scale) * model.logitRow(sample: item.1).negativeLogLikelihood(label: table.labels[item.0])
        } / Double(n)
        let hits = correctPredictions(model, labels: labels)
        let finite = try adversaryStep(share, table: table, replica: replica, started: started)
        // A spatial group computes one loss: its leader counts it.
        return replica.countsSamples ? (loss, hits, finite) : (0, 0, finite)
    }

    /// Steps (2) and (3) after the disease step; false when gradients were not finite.
    func unlearn(on share: BatchShare, table: SplitTable, step: Int, stream: UInt64, replica: Replica) throws -> Bool {
        let model = replica.model, n = share.positions.count
        var started = Clock.now
        replica.forwardTrain(share, stream: stream, step: step, pass: .adversary)
        guard try adversaryStep(share, table: table, replica: replica, started: started) else { return false }

        started = Clock.now
        replica.forwardTrain(share, stream: stream, step: step, pass: .confusion)
        head.forward(model.encoderOutput, batch: n)
        head.backwardConfusion(scale: beta * share.scale, weights: share.positions.map { weight(table, $0) })
        model.backward(encoderOutputGradient: head.inputGradient.data)
        replica.sync?.keepBatchGradientsOnRoot(model.gradients)
        replica.time.compute += Clock.seconds(since: started)
        try replica.allreduceGradients(model.gradients)
        guard areFinite(model.gradients) else { return false }
        confusionOptimizer.update(parameters: model.parameters, gradients: model.gradients)
        return true
    }

    /// α·CE of the adversary on the encoder output of the forward just run,
    /// summed over the ranks and applied to the head alone.
    private func adversaryStep(_ share: BatchShare, table: SplitTable, replica: Replica, started: UInt64) throws -> Bool {
        let n = share.positions.count
        head.forward(replica.model.encoderOutput, batch: n)
        head.backward(labels: targets(share, table), weights: weights(share, table, scale: alpha * share.scale))
        // Every rank of a spatial group computed the head alike: the leader's gradients count.
        if !replica.countsSamples { head.gradients.fill(0) }
        replica.time.compute += Clock.seconds(since: started)
        try replica.allreduceGradients(head.gradients)
        guard areFinite(head.gradients) else { return false }
        headOptimizer.update(parameters: head.parameters, gradients: head.gradients)
        return true
    }

    /// Hands the adversary and both optimizers from `root` to every rank of
    /// `world` (the travelling model's carrier after a visit).
    func broadcast(from root: Int, over world: Communicator) throws {
        try world.broadcast(UnsafeMutableBufferPointer(start: head.parameters.data, count: head.parameters.count), root: root)
        try headOptimizer.broadcast(from: root, over: world)
        try confusionOptimizer.broadcast(from: root, over: world)
    }

    // MARK: checkpoints

    /// The adversary and both optimizers, into a checkpoint's group (collective).
    func write(into group: H5Group) throws {
        let adversary = try group.createGroup("adversary")
        try adversary.writeDataset("parameters", head.parameters.array)
        try Self.write(headOptimizer, prefix: "adam", into: adversary)
        try Self.write(confusionOptimizer, prefix: "confusion_adam", into: adversary)
    }

    private static func write(_ optimizer: Adam, prefix: String, into group: H5Group) throws {
        try group.writeDataset("\(prefix)_first_moment", optimizer.firstMoment.array)
        try group.writeDataset("\(prefix)_second_moment", optimizer.secondMoment.array)
        try group.setAttribute("\(prefix)_step", optimizer.step)
    }

    /// Reads back what `write` stored; sizes are checked before reading.
    func restore(from group: H5Group) throws {
        guard group.contains("adversary") else {
            throw TrainingError("\(group.file.path): checkpoint \(group.path) has no adversary (not an unlearning run)")
        }
        let adversary = try group.group("adversary")
        try head.load(parameters: try adversary.read("parameters", shape: [head.parameters.count], meaning: "the adversary head"))
        try Self.restore(headOptimizer, prefix: "adam", from: adversary)
        try Self.restore(confusionOptimizer, prefix: "confusion_adam", from: adversary)
    }

    private static func restore(_ optimizer: Adam, prefix: String, from group: H5Group) throws {
        let count = optimizer.firstMoment.count
        try optimizer.load(firstMoment: try group.read("\(prefix)_first_moment", shape: [count], meaning: "one per parameter"),
                           secondMoment: try group.read("\(prefix)_second_moment", shape: [count], meaning: "one per parameter"),
                           step: try group.attribute("\(prefix)_step", as: Int.self))
    }
}
