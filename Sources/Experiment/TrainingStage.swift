import Cluster
import Foundation
import Training

/// Training as a stage: the trainer under the stall watchdog, a progress
/// line on rank 0 and a closing summary line.
public enum TrainingStage {
    /// `label` names the run in the log ("train" for `simba train`, the arm in an experiment).
    @discardableResult
    public static func train(_ run: TrainingRun, world: Communicator, label: String, stall: StallGuard,
                             log: ExperimentLog) throws -> TrainingOutcome {
        let config = run.config
        let meter = StageMemory.Meter()
        let trainer = try Trainer(run: run, world: world)
        let unit = config.strategy == .central ? "epochs" : "rounds"
        let progress = log.progress(label, total: config.epochs, unit: unit, enabled: world.rank == 0)
        let outcome = try stall.writing([run.runPath], command: label == "train" ? "simba train" : "simba run",
                                        world: world, unit: String(unit.dropLast())) { watchdog in
            try trainer.train { update in
                watchdog?.beat(step: update.epochsDone)
                progress.update(done: update.epochsDone, extra: String(format: "validation loss %.4f", update.lastValidationLoss))
            }
        }
        if outcome.epochsRunNow > 0 { try meter.record("training", in: run.runPath, world: world) }
        if world.rank == 0 {
            log.say((label == "train" ? "" : "\(label): ") + "trained \(outcome.epochsRun) \(unit) (\(config.strategy.rawValue)) on \(world.size) rank\(world.size == 1 ? "" : "s"): "
                    + String(format: "best validation loss %.4f at ", outcome.bestValidationLoss)
                    + "\(unit.dropLast()) \(outcome.bestEpoch), "
                    + String(format: "last validation accuracy %.3f; ", outcome.lastValidationAccuracy)
                    + "\(outcome.stopReason); wrote \(run.runPath)")
            if let matrix = outcome.crossSite { log.say(matrix.table) }
        }
        return outcome
    }
}
