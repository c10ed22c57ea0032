import Cluster
import Foundation
import Network
import Storage

/// Trains the SimBA CNN with one of the strategies: one loop (epochs or
/// rounds, validation, early stopping, metrics, checkpoints) around the
/// rounds that the strategy makes.
public final class Trainer {
    let run: TrainingRun
    var config: TrainingConfig { run.config }
    let world: Communicator
    let strategy: DistributionStrategy
    var session: TrainingSession { strategy.session }
    var setup: TrainingSetup { session.setup }

    /// Opens the dataset on every rank, prepares the strategy and builds the
    /// model; failures are agreed, so every rank reports the same one-line error.
    public init(run: TrainingRun, world: Communicator) throws {
        self.run = run
        self.world = world
        let setup = try TrainingSetup(run: run, world: world)
        strategy = try run.config.strategy.make(setup, world: world)
    }

    /// Trains to the budget or early stop, writing metrics and a checkpoint
    /// after every epoch or round; `progress` is called on every rank then.
    public func train(progress: (TrainingProgress) -> Void = { _ in }) throws -> TrainingOutcome {
        let runFile = try openRunFile()
        do {
            let outcome = try train(into: runFile, progress: progress)
            try runFile.finish(stopReason: outcome.stopReason)
            try runFile.close()
            return outcome
        } catch let stop as StopRequested {
            try? runFile.close()
            throw stop
        } catch let full as InsufficientSpace {
            // Nothing more is written: the file ends at its last complete checkpoint.
            try? runFile.close()
            throw full
        } catch let failure as AgreedError {
            // Every rank knows: record why the run stopped (its checkpoints stay valid).
            try runFile.finish(stopReason: String(describing: failure))
            try runFile.close()
            throw failure
        } catch {
            // This rank alone failed (e.g. an HDF5 error): the others may wait
            // in a collective, so no collective close; the launcher aborts.
            runFile.abandon()
            throw error
        }
    }

    private func openRunFile() throws -> RunFile {
        try world.unanimously {
            let exists = FileManager.default.fileExists(atPath: run.runPath)
            if run.resume && !exists { throw TrainingError("--resume: \(run.runPath) does not exist") }
            if !run.resume && exists && !run.overwrite {
                throw TrainingError("\(run.runPath) exists: use --resume to continue it or --overwrite to replace it")
            }
            try OutputTarget.refuseSameFile(run.runPath, as: [run.datasetPath] + [config.initializeFrom].compactMap { $0 })
            if run.overwrite && exists { try OutputTarget.checkReplaceable(run.runPath, format: RunFile.format) }
        }
        // The HDF5 calls below are collective and fail on every rank alike.
        let model = session.model
        if run.resume {
            return try RunFile.openForResume(path: run.runPath, communicator: world, config: config,
                                             dataset: run.datasetPath, input: model.configuration.input,
                                             groups: setup.groups, sites: setup.layout.count)
        }
        return try RunFile.create(path: run.runPath, overwrite: run.overwrite, communicator: world, config: config,
                                  layout: model.layout, input: model.configuration.input, inputMean: setup.inputMean,
                                  dataset: run.datasetPath,
                                  groups: setup.groups, sites: setup.layout.count)
    }

    private func train(into runFile: RunFile, progress: (TrainingProgress) -> Void) throws -> TrainingOutcome {
        var state = TrainingState()
        // A run stopped before its first checkpoint (e.g. a stop signal at
        // its first step) starts from the beginning: the model is seeded, so
        // that is the same computation as a fresh run.
        if run.resume && runFile.hasCheckpoint {
            let checkpoint = try runFile.latestCheckpoint()
            try strategy.restore(from: checkpoint)
            state = checkpoint.state
        }
        if run.resume { try runFile.truncateMetrics(toEpochs: state.epochsDone) }
        let epochsBefore = state.epochsDone
        let replica = session.replica, loader = setup.loader
        var lastValidation = ValidationResult(totals: session.emptyValidationTotals())
        while state.epochsDone < config.epochs && !state.stopping.stopped(patience: config.patience) {
            try world.stopIfRequested()
            let epoch = state.epochsDone + 1
            let started = Clock.now
            let (ioBefore, timeBefore) = (loader.seconds, replica.time)
            try InjectedFault.check("round", epoch, rank: world.rank)
            if config.learningRateDecay > 0 {
                // A function of the epoch alone, so a resumed run continues the schedule.
                replica.setLearningRate(Float(config.learningRate * exp(-config.learningRateDecay * Double(epoch - 1))))
            }
            let totals = try strategy.round(epoch)
            // Train loss and accuracy over every site's steps (each site's
            // steps counted once, by its first rank).
            let countsSteps = replica.communicator.rank == 0
            var sums = [totals.lossSum, Double(totals.correct), countsSteps ? Double(totals.steps) : 0,
                        countsSteps ? Double(totals.samples) : 0]
            try session.communicating { try world.allreduce(&sums, op: .sum) }
            if config.batchNormCalibration { try strategy.calibrateBatchNorm() }
            lastValidation = try strategy.validate()
            let elapsed = Clock.seconds(since: started)
            state.globalStep += Int(sums[2])
            strategy.record(lastValidation, round: epoch, into: &state.stopping)
            try ensureSpaceForCheckpoint(after: state.epochsDone)
            state.epochsDone = epoch
            try runFile.append(EpochMetrics(
                epoch: epoch, step: state.globalStep,
                trainLoss: sums[0] / max(sums[2], 1),
                trainAccuracy: sums[1] / max(sums[3], 1),
                validationLoss: lastValidation.loss, validationAccuracy: lastValidation.accuracy,
                validationLossByGroup: lastValidation.lossByGroup, validationAccuracyByGroup: lastValidation.accuracyByGroup,
                validationLossBySite: lastValidation.lossBySite, validationAccuracyBySite: lastValidation.accuracyBySite,
                samplesPerSecond: sums[3] / max(elapsed, 1e-9),
                computeSeconds: replica.time.compute - timeBefore.compute,
                communicationSeconds: replica.time.communication - timeBefore.communication,
                ioSeconds: loader.seconds - ioBefore,
                validationAdversaryAccuracy: strategy.validationAdversaryAccuracy))
            try runFile.writeCheckpoint(state: state, isBest: state.stopping.bestRound == epoch,
                                        contents: strategy.writeModelState)
            progress(TrainingProgress(epochsDone: epoch, epochsTotal: config.epochs, lastValidationLoss: lastValidation.loss))
            TestPacing.finishEpoch(startedAt: started)
        }
        let (stopReason, crossSite) = try strategy.finish(stopping: state.stopping, runFile: runFile)
        return TrainingOutcome(epochsRun: state.epochsDone, epochsRunNow: state.epochsDone - epochsBefore, stopReason: stopReason, bestEpoch: state.stopping.bestRound,
                               bestValidationLoss: state.stopping.bestValidationLoss,
                               lastValidationAccuracy: lastValidation.accuracy, crossSite: crossSite)
    }

    /// Refuses, on every rank alike, to start writing an epoch's metrics and
    /// checkpoint without room for them: a write that fails half-way inside
    /// a collective HDF5 call could leave ranks waiting for each other.
    private func ensureSpaceForCheckpoint(after epochsDone: Int) throws {
        // The strategy's copies of the parameters, plus room for metadata and the metrics rows.
        let needed = Double(strategy.checkpointModels * session.model.parameters.count * MemoryLayout<Float>.stride) + 1_048_576
        try DiskSpace.ensure(needed, for: run.runPath, world: world, purpose: "the next checkpoint",
                             consequence: "stopped, " + (epochsDone > 0
                                ? "the last complete checkpoint /checkpoints/\(RunFile.checkpointName(epoch: epochsDone)) stays valid"
                                : "no checkpoint was written yet"))
    }
}
