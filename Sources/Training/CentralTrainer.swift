import Cluster
import Foundation
import Network
import Randomness
import Synthesis

/// What a finished (or early-stopped) run reports.
public struct TrainingOutcome: Sendable {
    public var epochsRun: Int
    public var stopReason: String
    public var bestEpoch: Int
    public var bestValidationLoss: Double
    public var lastValidationAccuracy: Double
}

/// Where the trainer reports progress (rank 0 only draws it).
public struct TrainingProgress: Sendable {
    public var stepsDone: Int
    public var stepsTotal: Int
    public var epoch: Int
    public var lastValidationLoss: Double?
}

/// The run's inputs: configuration, files and what to do with an existing run file.
public struct TrainingRun: Sendable {
    public var config: TrainingConfig
    public var datasetPath: String
    public var runPath: String
    public var resume = false
    public var overwrite = false

    public init(config: TrainingConfig, datasetPath: String, runPath: String, resume: Bool = false, overwrite: Bool = false) {
        self.config = config
        self.datasetPath = datasetPath
        self.runPath = runPath
        self.resume = resume
        self.overwrite = overwrite
    }
}

/// Central (pooled, data-parallel) training: every rank holds the whole
/// model; each global batch is split over the ranks; gradients are summed
/// with one allreduce over the flat gradient buffer per step, and batch
/// norm is synchronised, so any rank count computes what one rank computes
/// on the same global batch.
public final class CentralTrainer {
    let run: TrainingRun
    var config: TrainingConfig { run.config }
    let world: Communicator
    let loader: ImageLoader
    let training: SplitTable, validation: SplitTable
    let groups: Int, sites: Int
    let model: SimbaCNN
    let optimizer: Adam
    let sync: BatchStatisticsSync?

    /// Opens the dataset on every rank and builds the model; failures are
    /// agreed, so every rank reports the same one-line error.
    public init(run: TrainingRun, world: Communicator) throws {
        self.run = run
        self.world = world
        let config = run.config
        (loader, training, validation, groups, sites, model) = try world.unanimously {
            guard FileManager.default.fileExists(atPath: run.datasetPath) else {
                throw TrainingError("dataset \(run.datasetPath) does not exist (make one with 'simba generate')")
            }
            let reader: DatasetReader
            do { reader = try DatasetReader(path: run.datasetPath) } catch {
                throw TrainingError("cannot read dataset \(run.datasetPath): \(error)")
            }
            let reweighing = config.reweighing ? try SplitTable.reweighing(trainingSamples: reader.samples) : nil
            let training = try SplitTable(split: .train, samples: reader.samples, reweighing: reweighing)
            let validation = try SplitTable(split: .validation, samples: reader.samples, reweighing: reweighing)
            guard training.count >= config.batch else {
                throw TrainingError("\(run.datasetPath) has \(training.count) training samples, fewer than one batch of \(config.batch)")
            }
            guard validation.count > 0 else {
                throw TrainingError("\(run.datasetPath) has no validation samples, which early stopping needs")
            }
            guard config.batch >= world.size else {
                throw TrainingError("a global batch of \(config.batch) on \(world.size) ranks leaves ranks without samples: use --batch \(world.size) or more, or at most \(config.batch) ranks")
            }
            let labels = Set(reader.samples.map(\.label))
            guard labels.isSubset(of: [0, 1]) else {
                throw TrainingError("\(run.datasetPath) has labels \(labels.sorted()); the SimBA CNN has two classes (0, 1)")
            }
            let grid = Grid3(reader.shape)
            let perRank = (config.batch + world.size - 1) / world.size
            let model = try SimbaCNN(configuration: config.model(input: grid), maxBatch: perRank, seed: config.seed)
            let groups = (reader.samples.map(\.group).max() ?? 0) + 1
            let sites = (reader.samples.map(\.site).max() ?? 0) + 1
            return (ImageLoader(reader: reader), training, validation, groups, sites, model)
        }
        optimizer = Adam(layout: model.layout, learningRate: Float(config.learningRate))
        if world.size > 1 {
            let sync = BatchStatisticsSync(communicator: world, layout: model.layout)
            sync.install(on: model)
            self.sync = sync
        } else {
            sync = nil
        }
    }

    /// Trains to the epoch budget or early stop, writing metrics and a
    /// checkpoint per epoch; `progress` is called on every rank after each step.
    public func train(progress: (TrainingProgress) -> Void = { _ in }) throws -> TrainingOutcome {
        let runFile = try openRunFile()
        do {
            let outcome = try train(into: runFile, progress: progress)
            try runFile.finish(stopReason: outcome.stopReason)
            try runFile.close()
            return outcome
        } catch let failure as NonFiniteLoss {
            try runFile.finish(stopReason: failure.description)
            try runFile.close()
            throw failure
        } catch where error is StopRequested || error is CollectiveFailure {
            try? runFile.close()
            throw error
        }
    }

    private func openRunFile() throws -> RunFile {
        // HDF5 calls below are collective and fail on every rank alike.
        try world.unanimously {
            let exists = FileManager.default.fileExists(atPath: run.runPath)
            if run.resume && !exists { throw TrainingError("--resume: \(run.runPath) does not exist") }
            if !run.resume && exists && !run.overwrite {
                throw TrainingError("\(run.runPath) exists: use --resume to continue it or --overwrite to replace it")
            }
        }
        if run.resume {
            return try RunFile.openForResume(path: run.runPath, communicator: world, config: config,
                                             dataset: run.datasetPath, groups: groups, sites: sites)
        }
        return try RunFile.create(path: run.runPath, overwrite: run.overwrite, communicator: world,
                                  config: config, layout: model.layout,
                                  input: model.configuration.input, dataset: run.datasetPath,
                                  groups: groups, sites: sites)
    }

    private func train(into runFile: RunFile, progress: (TrainingProgress) -> Void) throws -> TrainingOutcome {
        var state = TrainingState()
        if run.resume {
            let checkpoint = try runFile.latestCheckpoint()
            try world.unanimously {
                try model.load(parameters: checkpoint.parameters)
                try optimizer.load(firstMoment: checkpoint.firstMoment, secondMoment: checkpoint.secondMoment,
                                   step: checkpoint.adamStep)
            }
            state = checkpoint.state
            try runFile.truncateMetrics(toEpochs: state.epochsDone)
        }
        let stepsPerEpoch = training.count / config.batch
        var lastValidation = ValidationResult.empty(groups: groups, sites: sites)
        while state.epochsDone < config.epochs && state.epochsWithoutImprovement < config.patience {
            let epoch = state.epochsDone + 1
            let started = Clock.now
            let (ioBefore, syncBefore) = (loader.seconds, sync?.seconds ?? 0)
            var timing = (compute: 0.0, communication: 0.0)
            let plan = EpochPlan(splitCount: training.count, batch: config.batch, seed: config.seed, epoch: epoch)
            var lossSum = 0.0, correct = 0
            for step in 0..<stepsPerEpoch {
                try world.stopIfRequested()
                let (loss, hits) = try trainStep(plan: plan, step: step, globalStep: state.globalStep, timing: &timing)
                if !gradientsAreFinite() {
                    throw NonFiniteLoss(step: state.globalStep + 1, epoch: epoch, batch: step + 1,
                                        checkpoint: state.epochsDone > 0 ? RunFile.checkpointName(epoch: state.epochsDone) : nil)
                }
                optimizer.update(parameters: model.parameters, gradients: model.gradients)
                state.globalStep += 1
                lossSum += loss
                correct += hits
                progress(TrainingProgress(stepsDone: state.globalStep, stepsTotal: config.epochs * stepsPerEpoch,
                                          epoch: epoch, lastValidationLoss: lastValidation.loss.isFinite ? lastValidation.loss : nil))
            }
            let commStart = Clock.now
            var trainTotals = [lossSum, Double(correct)]
            try world.allreduce(&trainTotals, op: .sum)
            timing.communication += Clock.seconds(since: commStart)
            lastValidation = try validate(timing: &timing)
            let elapsed = Clock.seconds(since: started)
            let syncSeconds = (sync?.seconds ?? 0) - syncBefore
            let improved = lastValidation.loss < state.bestValidationLoss
            if improved {
                state.bestValidationLoss = lastValidation.loss
                state.bestEpoch = epoch
                state.epochsWithoutImprovement = 0
            } else {
                state.epochsWithoutImprovement += 1
            }
            state.epochsDone = epoch
            try runFile.append(EpochMetrics(
                epoch: epoch, step: state.globalStep,
                trainLoss: trainTotals[0] / Double(stepsPerEpoch),
                trainAccuracy: trainTotals[1] / Double(stepsPerEpoch * config.batch),
                validationLoss: lastValidation.loss, validationAccuracy: lastValidation.accuracy,
                validationLossByGroup: lastValidation.lossByGroup, validationAccuracyByGroup: lastValidation.accuracyByGroup,
                validationLossBySite: lastValidation.lossBySite, validationAccuracyBySite: lastValidation.accuracyBySite,
                samplesPerSecond: Double(stepsPerEpoch * config.batch) / max(elapsed, 1e-9),
                computeSeconds: timing.compute - syncSeconds,
                communicationSeconds: timing.communication + syncSeconds,
                ioSeconds: loader.seconds - ioBefore))
            try runFile.writeCheckpoint(model: model, optimizer: optimizer, state: state, isBest: improved)
        }
        let stopReason = state.epochsWithoutImprovement >= config.patience
            ? "early stop: no lower validation loss for \(config.patience) epochs (best at epoch \(state.bestEpoch))"
            : "epoch budget of \(config.epochs) reached"
        return TrainingOutcome(epochsRun: state.epochsDone, stopReason: stopReason, bestEpoch: state.bestEpoch,
                               bestValidationLoss: state.bestValidationLoss,
                               lastValidationAccuracy: lastValidation.accuracy)
    }

    /// One optimizer step's forward and backward on this rank's share of
    /// global batch `step`, then the gradient allreduce. Returns this rank's
    /// part of the batch loss (Σ w·nll / global batch) and its correct predictions.
    private func trainStep(plan: EpochPlan, step: Int, globalStep: Int,
                           timing: inout (compute: Double, communication: Double)) throws -> (Double, Int) {
        let share = plan.share(step: step, rank: world.rank, size: world.size)
        let positions = Array(share.positions)
        let images = try world.unanimously { try loader.load(positions.map { training.indices[$0] }) }
        let labels = positions.map { training.labels[$0] }
        // Weights scaled by local/global batch: the network divides by the
        // local batch, so the summed gradient is that of Σ w·nll / global batch.
        let scale = Float(positions.count) / Float(config.batch)
        let weights = positions.map { training.weights[$0] * scale }

        let computeStart = Clock.now
        model.generator = dropoutGenerator(globalStep: globalStep, firstSample: share.start)
        model.forward(images, batch: positions.count, mode: .train)
        let loss = model.backward(labels: labels, weights: weights)
        let hits = correctPredictions(labels: labels)
        sync?.keepBatchGradientsOnRoot(model.gradients)
        timing.compute += Clock.seconds(since: computeStart)

        let commStart = Clock.now
        try sync?.checkFailure()
        if world.size > 1 {
            try world.allreduce(UnsafeMutableBufferPointer(start: model.gradients.data, count: model.gradients.count),
                                op: .sum)
        }
        timing.communication += Clock.seconds(since: commStart)
        return (Double(loss), hits)
    }

    /// Dropout masks as one rank would draw them for the whole global
    /// batch: a stream per step, advanced past the samples before this rank's.
    private func dropoutGenerator(globalStep: Int, firstSample: Int) -> Xoshiro256 {
        var seeder = SeededGenerator(seed: config.seed, stream: UInt64(globalStep), "dropout")
        var generator = Xoshiro256(seed: seeder.next())
        for _ in 0..<(firstSample * model.shapes.features) { _ = generator.next() }
        return generator
    }

    /// After the allreduce every rank holds the same gradients, so all
    /// agree. A non-finite loss makes the gradients non-finite too.
    /// (x · 0 is NaN exactly when x is NaN or infinite.)
    private func gradientsAreFinite() -> Bool {
        let g = model.gradients.data
        var sum: Float = 0
        for i in 0..<model.gradients.count { sum += g[i] * 0 }
        return sum == 0
    }

    private func correctPredictions(labels: [Int]) -> Int {
        let k = model.configuration.classes
        return labels.enumerated().reduce(0) { count, item in
            let row = model.logits.data + item.offset * k
            let predicted = (0..<k).max { row[$0] < row[$1] }!
            return count + (predicted == item.element ? 1 : 0)
        }
    }

    /// Weighted loss and accuracy on the validation split, overall, per bias
    /// group and per site; each rank evaluates its share, one allreduce sums.
    private func validate(timing: inout (compute: Double, communication: Double)) throws -> ValidationResult {
        let share = evenShare(of: validation.count, rank: world.rank, size: world.size)
        // Per bucket (overall, groups, sites): Σ w·nll, correct, count.
        var totals = [Double](repeating: 0, count: 3 * (1 + groups + sites))
        var start = share.lowerBound
        while start < share.upperBound {
            let end = min(start + model.maxBatch, share.upperBound)
            let positions = Array(start..<end)
            let images = try world.unanimously { try loader.load(positions.map { validation.indices[$0] }) }
            let computeStart = Clock.now
            model.forward(images, batch: positions.count, mode: .eval)
            let k = model.configuration.classes
            for (n, position) in positions.enumerated() {
                let row = model.logits.data + n * k
                let label = validation.labels[position]
                let largest = (0..<k).map { Double(row[$0]) }.max()!
                let logSumExp = largest + log((0..<k).reduce(0.0) { $0 + exp(Double(row[$1]) - largest) })
                let loss = Double(validation.weights[position]) * (logSumExp - Double(row[label]))
                let predicted = (0..<k).max { row[$0] < row[$1] }!
                for bucket in [0, 1 + validation.groups[position], 1 + groups + validation.sites[position]] {
                    totals[3 * bucket] += loss
                    totals[3 * bucket + 1] += predicted == label ? 1 : 0
                    totals[3 * bucket + 2] += 1
                }
            }
            timing.compute += Clock.seconds(since: computeStart)
            start = end
        }
        let commStart = Clock.now
        try world.allreduce(&totals, op: .sum)
        timing.communication += Clock.seconds(since: commStart)
        return ValidationResult(totals: totals, groups: groups, sites: sites)
    }
}

/// Validation loss and accuracy, overall and per bucket (NaN for an empty bucket).
struct ValidationResult {
    var loss: Double, accuracy: Double
    var lossByGroup: [Double], accuracyByGroup: [Double]
    var lossBySite: [Double], accuracyBySite: [Double]

    init(totals: [Double], groups: Int, sites: Int) {
        func loss(_ bucket: Int) -> Double { totals[3 * bucket + 2] > 0 ? totals[3 * bucket] / totals[3 * bucket + 2] : .nan }
        func accuracy(_ bucket: Int) -> Double { totals[3 * bucket + 2] > 0 ? totals[3 * bucket + 1] / totals[3 * bucket + 2] : .nan }
        self.loss = loss(0)
        self.accuracy = accuracy(0)
        lossByGroup = (0..<groups).map { loss(1 + $0) }
        accuracyByGroup = (0..<groups).map { accuracy(1 + $0) }
        lossBySite = (0..<sites).map { loss(1 + groups + $0) }
        accuracyBySite = (0..<sites).map { accuracy(1 + groups + $0) }
    }

    static func empty(groups: Int, sites: Int) -> ValidationResult {
        ValidationResult(totals: [Double](repeating: 0, count: 3 * (1 + groups + sites)), groups: groups, sites: sites)
    }
}

/// The loss or a gradient stopped being a finite number.
public struct NonFiniteLoss: Error, CustomStringConvertible, Sendable {
    public let step: Int, epoch: Int, batch: Int
    public let checkpoint: String?
    public var description: String {
        "training loss or gradients became non-finite (NaN or infinite) at step \(step) (epoch \(epoch), batch \(batch)); "
            + (checkpoint.map { "stopped; the last good checkpoint is /checkpoints/\($0)" } ?? "stopped before the first checkpoint")
    }
}
