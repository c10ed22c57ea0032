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
    /// Adversarial unlearning: its two extra steps after every disease step
    /// (or, while it trains its head alone, instead of it).
    var unlearner: Unlearner?

    /// Spatial parallelism: this rank's group, which trains each sample together.
    let slabs: SlabGroup?

    init(model: SimbaCNN, communicator: Communicator, loader: ImageSource, batch: Int, learningRate: Float, seed: UInt64,
         slabs: SlabGroup? = nil) {
        self.model = model
        self.slabs = slabs
        model.slabExchange = slabs
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
        unlearner?.setLearningRate(rate)
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
        let syncBefore = (sync?.seconds ?? 0) + (slabs?.seconds ?? 0)
        for step in 0..<plan.steps {
            try beforeStep()
            let share = try loadShare(table, plan: plan, step: step)
            let (loss, hits): (Double, Int)
            if let unlearner, unlearner.headOnly {
                let head = try unlearner.trainHead(on: share, table: table, replica: self)
                guard head.finite else {
                    totals.nonFiniteStep = step + 1
                    break
                }
                (loss, hits) = (head.loss, head.hits)
            } else {
                (loss, hits) = try forwardBackward(share, table: table, stream: stream, step: step)
                if !gradientsAreFinite() {
                    totals.nonFiniteStep = step + 1
                    break
                }
                if let proximal { addProximalGradient(anchor: proximal.anchor, mu: proximal.mu) }
                optimizer.update(parameters: model.parameters, gradients: model.gradients)
                if let unlearner, try !unlearner.unlearn(on: share, table: table, step: step, stream: stream, replica: self) {
                    totals.nonFiniteStep = step + 1
                    break
                }
            }
            totals.lossSum += loss
            totals.correct += hits
            totals.steps += 1
            totals.samples += plan.batch
        }
        // Sync BN's allreduces and the slab exchanges ran inside forward and backward: count them as communication.
        let syncSeconds = (sync?.seconds ?? 0) + (slabs?.seconds ?? 0) - syncBefore
        time.compute -= syncSeconds
        time.communication += syncSeconds
        return totals
    }

    /// This rank's share of global batch `step`, loaded on every rank alike.
    func loadShare(_ table: SplitTable, plan: EpochPlan, step: Int) throws -> BatchShare {
        let share = plan.share(step: step, rank: dataRank.rank, size: dataRank.size)
        let positions = Array(share.positions)
        let images = try communicator.unanimously { try loader.load(positions.map { table.indices[$0] }) }
        // The network divides by the local batch; weights scaled by
        // local/global make the summed gradient that of Σ w·loss / global batch.
        return BatchShare(positions: positions, images: images, firstSample: share.start,
                          scale: Float(positions.count) / Float(plan.batch))
    }

    /// Forward and backward of the disease loss on this rank's share, then
    /// the gradient allreduce. Returns this rank's part of the batch loss
    /// (Σ w·nll / global batch) and its correct predictions.
    private func forwardBackward(_ share: BatchShare, table: SplitTable, stream: UInt64, step: Int) throws -> (Double, Int) {
        let labels = share.positions.map { table.labels[$0] }
        let weights = share.positions.map { table.weights[$0] * share.scale }
        let computeStart = Clock.now
        forwardTrain(share, stream: stream, step: step, pass: .disease)
        let loss = model.backward(labels: labels, weights: weights)
        let hits = correctPredictions(model, labels: labels)
        sync?.keepBatchGradientsOnRoot(model.gradients)
        time.compute += Clock.seconds(since: computeStart)
        try allreduceGradients(model.gradients)
        // A spatial group computes one loss: its leader counts it.
        return countsSamples ? (Double(loss), hits) : (0, 0)
    }

    /// Where this rank's share of a batch comes from: its spatial group
    /// among the groups, or (without spatial parallelism) its rank.
    var dataRank: (rank: Int, size: Int) {
        let parts = model.slab?.parts ?? 1
        return (communicator.rank / parts, communicator.size / parts)
    }

    /// Whether this rank adds its samples' losses and scores to the totals
    /// (in a spatial group every rank computes them; the leader counts them).
    var countsSamples: Bool { model.slab?.isLeader ?? true }

    /// Train-mode forward of the share with the dropout masks of `pass`.
    func forwardTrain(_ share: BatchShare, stream: UInt64, step: Int, pass: DropoutPass) {
        model.generator = dropoutGenerator(stream: stream, step: step, firstSample: share.firstSample, pass: pass)
        model.forward(share.images, batch: share.positions.count, mode: .train)
    }

    /// Sums a gradient buffer over the replica's ranks (counted as communication).
    func allreduceGradients(_ gradients: Tensor) throws {
        let commStart = Clock.now
        try sync?.checkFailure()
        try slabs?.checkFailure()
        if communicator.size > 1 {
            try communicator.allreduce(UnsafeMutableBufferPointer(start: gradients.data, count: gradients.count), op: .sum)
        }
        time.communication += Clock.seconds(since: commStart)
    }

    /// Dropout masks as one rank would draw them for the whole global
    /// batch: a stream per (pass, step, forward pass), advanced past the
    /// samples before this rank's share.
    private func dropoutGenerator(stream: UInt64, step: Int, firstSample: Int, pass: DropoutPass) -> SeededGenerator {
        let purpose: StaticString = switch pass {
        case .disease: "dropout"
        case .adversary: "adversary dropout"
        case .confusion: "confusion dropout"
        }
        var seeder = SeededGenerator(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15), stream: UInt64(step), purpose)
        var generator = SeededGenerator(seed: seeder.next())
        for _ in 0..<(firstSample * model.shapes.features) { _ = generator.next() }
        return generator
    }

    /// After the allreduce every rank of the communicator holds the same
    /// gradients, so all agree; a non-finite loss makes them non-finite too.
    /// (x · 0 is NaN exactly when x is NaN or infinite.)
    private func gradientsAreFinite() -> Bool { areFinite(model.gradients) }

    private func addProximalGradient(anchor: [Float], mu: Float) {
        let g = model.gradients.data, p = model.parameters.data
        for slice in model.layout.slices where slice.trainable {
            for i in slice.range { g[i] += mu * (p[i] - anchor[i]) }
        }
    }
}

/// This rank's share of one global batch, loaded.
struct BatchShare {
    /// Positions in the split table.
    let positions: [Int]
    let images: [Float]
    /// The share's first sample within the global batch.
    let firstSample: Int
    /// local / global batch: the factor on per-sample loss weights.
    let scale: Float
}

/// The forward passes of one step, each with its own dropout masks.
enum DropoutPass { case disease, adversary, confusion }

/// Whether every value is finite (x · 0 is NaN exactly when x is NaN or infinite).
func areFinite(_ tensor: Tensor) -> Bool {
    let values = tensor.data
    var sum: Float = 0
    for i in 0..<tensor.count { sum += values[i] * 0 }
    return sum == 0
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
