import Cluster
import Network
import Randomness

/// Seconds of one rank's work, split as the metrics report them.
struct TimeSplit {
    var compute = 0.0
    var communication = 0.0
}

/// What one pass over a split table did on this replica.
struct EpochTotals {
    /// Σ over steps of the batch loss (Σ w·nll / batch), this rank's part.
    var lossSum = 0.0
    var correct = 0
    var steps = 0
    /// Σ over steps of the global batch (a tiny site's batches are smaller).
    var samples = 0
    /// The optimizer step (1-based, within this pass) whose gradients were
    /// not finite; the pass stopped there, before applying it.
    var nonFiniteStep: Int?
}

extension EpochTotals {
    static func += (totals: inout EpochTotals, other: EpochTotals) {
        totals.lossSum += other.lossSum
        totals.correct += other.correct
        totals.steps += other.steps
        totals.samples += other.samples
    }

    /// Throws, on every rank of the replica alike, if the pass met
    /// non-finite gradients (they were allreduced, so all ranks saw them).
    func checkFinite(_ place: String) throws {
        if let step = nonFiniteStep { throw NonFiniteTraining(step: step, place: place) }
    }
}

/// Training loss or gradients became NaN or infinite: the run stops,
/// keeping the checkpoints before it.
struct NonFiniteTraining: AgreedError, CustomStringConvertible {
    let step: Int
    let place: String
    var description: String {
        "training loss or gradients became non-finite (NaN or infinite) at step \(step) of \(place); stopped, keeping the checkpoints before it"
    }
}

/// A model and its optimizer trained data-parallel over the ranks of
/// `communicator` (all ranks for central training, a site's ranks for
/// site-partitioned strategies): each global batch is split over them, batch
/// norm is synchronised, and the flat gradient buffer is summed with one
/// allreduce per step, so any rank count computes what one rank computes.
final class Replica {
    let communicator: Communicator
    let model: SimbaCNN
    private(set) var optimizer: Adam
    let sync: BatchStatisticsSync?
    let loader: ImageSource
    let batch: Int
    private(set) var learningRate: Float
    let seed: UInt64
    var time = TimeSplit()
    /// FedProx: adds μ·(θ − anchor) to the gradient of every trainable
    /// parameter (the gradient of μ/2·‖θ − anchor‖²).
    var proximal: (anchor: [Float], mu: Float)?

    init(model: SimbaCNN, communicator: Communicator, loader: ImageSource, batch: Int, learningRate: Float, seed: UInt64) {
        self.model = model
        self.communicator = communicator
        self.loader = loader
        self.batch = batch
        self.learningRate = learningRate
        self.seed = seed
        optimizer = Adam(layout: model.layout, learningRate: learningRate)
        if communicator.size > 1 {
            let sync = BatchStatisticsSync(communicator: communicator, layout: model.layout)
            sync.install(on: model)
            self.sync = sync
        } else {
            sync = nil
        }
    }

    /// The step size from now on (this optimizer and every fresh one).
    func setLearningRate(_ rate: Float) {
        learningRate = rate
        optimizer.learningRate = rate
    }

    /// A fresh optimizer (FedAvg starts every site's round with one).
    func resetOptimizer() {
        optimizer = Adam(layout: model.layout, learningRate: learningRate)
    }

    /// One pass over `table` in the order of `plan`. `stream` names the pass
    /// (epoch, or round × site × local epoch) for the dropout masks;
    /// `beforeStep` runs before every step on every rank of the communicator
    /// (central training checks stop requests there).
    func trainEpoch(_ table: SplitTable, plan: EpochPlan, stream: UInt64,
                    beforeStep: () throws -> Void = {}) throws -> EpochTotals {
        var totals = EpochTotals()
        let syncBefore = sync?.seconds ?? 0
        for step in 0..<plan.steps {
            try beforeStep()
            let (loss, hits) = try forwardBackward(table, plan: plan, step: step, stream: stream)
            if !gradientsAreFinite() {
                totals.nonFiniteStep = step + 1
                break
            }
            if let proximal { addProximalGradient(anchor: proximal.anchor, mu: proximal.mu) }
            optimizer.update(parameters: model.parameters, gradients: model.gradients)
            totals.lossSum += loss
            totals.correct += hits
            totals.steps += 1
            totals.samples += plan.batch
        }
        // Sync BN's allreduces ran inside forward and backward: count them as communication.
        let syncSeconds = (sync?.seconds ?? 0) - syncBefore
        time.compute -= syncSeconds
        time.communication += syncSeconds
        return totals
    }

    /// Forward and backward on this rank's share of global batch `step`,
    /// then the gradient allreduce. Returns this rank's part of the batch
    /// loss (Σ w·nll / global batch) and its correct predictions.
    private func forwardBackward(_ table: SplitTable, plan: EpochPlan, step: Int, stream: UInt64) throws -> (Double, Int) {
        let share = plan.share(step: step, rank: communicator.rank, size: communicator.size)
        let positions = Array(share.positions)
        let images = try communicator.unanimously { try loader.load(positions.map { table.indices[$0] }) }
        let labels = positions.map { table.labels[$0] }
        // Weights scaled by local/global batch: the network divides by the
        // local batch, so the summed gradient is that of Σ w·nll / global batch.
        let scale = Float(positions.count) / Float(plan.batch)
        let weights = positions.map { table.weights[$0] * scale }

        let computeStart = Clock.now
        model.generator = dropoutGenerator(stream: stream, step: step, firstSample: share.start)
        model.forward(images, batch: positions.count, mode: .train)
        let loss = model.backward(labels: labels, weights: weights)
        let hits = correctPredictions(model, labels: labels)
        sync?.keepBatchGradientsOnRoot(model.gradients)
        time.compute += Clock.seconds(since: computeStart)

        let commStart = Clock.now
        try sync?.checkFailure()
        if communicator.size > 1 {
            try communicator.allreduce(UnsafeMutableBufferPointer(start: model.gradients.data, count: model.gradients.count),
                                       op: .sum)
        }
        time.communication += Clock.seconds(since: commStart)
        return (Double(loss), hits)
    }

    /// Dropout masks as one rank would draw them for the whole global
    /// batch: a stream per (pass, step), advanced past the samples before
    /// this rank's share.
    private func dropoutGenerator(stream: UInt64, step: Int, firstSample: Int) -> SeededGenerator {
        var seeder = SeededGenerator(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15), stream: UInt64(step), "dropout")
        var generator = SeededGenerator(seed: seeder.next())
        for _ in 0..<(firstSample * model.shapes.features) { _ = generator.next() }
        return generator
    }

    /// After the allreduce every rank of the communicator holds the same
    /// gradients, so all agree; a non-finite loss makes them non-finite too.
    /// (x · 0 is NaN exactly when x is NaN or infinite.)
    private func gradientsAreFinite() -> Bool {
        let g = model.gradients.data
        var sum: Float = 0
        for i in 0..<model.gradients.count { sum += g[i] * 0 }
        return sum == 0
    }

    private func addProximalGradient(anchor: [Float], mu: Float) {
        let g = model.gradients.data, p = model.parameters.data
        for slice in model.layout.slices where slice.trainable {
            for i in slice.range { g[i] += mu * (p[i] - anchor[i]) }
        }
    }
}

/// Predictions of the last forward pass that match `labels`.
func correctPredictions(_ model: SimbaCNN, labels: [Int]) -> Int {
    let k = model.configuration.classes
    return labels.enumerated().reduce(0) { count, item in
        let row = model.logits.data + item.offset * k
        let predicted = (0..<k).max { row[$0] < row[$1] }!
        return count + (predicted == item.element ? 1 : 0)
    }
}
