import Cluster
import Storage

/// Central training with adversarial unlearning of the bias group
/// (`training.unlearn: bias`; SimBA's bias_mitigation/unlearning.py). The
/// first `unlearning_head_epochs` train the adversary alone on the frozen
/// encoder, so it can read the bias before the encoder is pushed to hide
/// it; every later epoch takes the three steps of `Unlearner` per batch.
/// Model selection is SimBA's: an epoch's model is kept when its validation
/// disease accuracy rose and the adversary's validation accuracy fell
/// (against the last kept model; the first unlearning epoch is always
/// kept), and `patience` epochs without one stop the run.
final class UnlearningTraining: DistributionStrategy {
    private let central: CentralTraining
    let unlearner: Unlearner
    var session: TrainingSession { central.session }
    /// The kept model's validation accuracies (checkpointed with it).
    private var keptAccuracy = -Double.infinity, keptAdversaryAccuracy = Double.infinity
    private(set) var validationAdversaryAccuracy: Double?

    init(_ central: CentralTraining) throws {
        self.central = central
        let session = central.session
        unlearner = try session.world.unanimously {
            try Unlearner(model: session.model, classes: session.setup.groups, config: session.config,
                          target: { table, position in table.groups[position] })
        }
        session.replica.unlearner = unlearner
    }

    var unit: String { "epochs" }

    private func headOnly(_ epoch: Int) -> Bool { epoch <= config.unlearningHeadEpochs }

    func round(_ epoch: Int) throws -> EpochTotals {
        unlearner.headOnly = headOnly(epoch)
        return try central.round(epoch)
    }

    /// The disease model as every strategy validates it, and the adversary
    /// on the same encoder output (one allreduce more).
    func validate() throws -> ValidationResult {
        var totals = session.emptyValidationTotals()
        var adversary = [0.0, 0.0]
        let table = setup.validation, model = session.model, head = unlearner.head, target = unlearner.target
        try session.addValidation(of: table, to: &totals) { positions in
            head.forward(model.encoderOutput, batch: positions.count)
            for (n, position) in positions.enumerated() where head.logitRow(sample: n).predicted == target(table, position) {
                adversary[0] += 1
            }
            adversary[1] += Double(positions.count)
        }
        let result = try session.result(of: totals)
        try session.communicating { try world.allreduce(&adversary, op: .sum) }
        validationAdversaryAccuracy = adversary[0] / max(adversary[1], 1)
        return result
    }

    func record(_ validation: ValidationResult, round: Int, into stopping: inout EarlyStopping) {
        guard !headOnly(round), let adversaryAccuracy = validationAdversaryAccuracy else { return }
        let improved = stopping.bestRound == 0
            || (validation.accuracy > keptAccuracy && adversaryAccuracy < keptAdversaryAccuracy)
        if stopping.record(improved: improved, loss: validation.loss, round: round, patience: config.patience) {
            (keptAccuracy, keptAdversaryAccuracy) = (validation.accuracy, adversaryAccuracy)
        }
    }

    func writeModelState(into group: H5Group) throws {
        try writeReplicatedModel(into: group)
        try unlearner.write(into: group)
        try group.setAttribute("kept_validation_accuracy", keptAccuracy)
        try group.setAttribute("kept_validation_adversary_accuracy", keptAdversaryAccuracy)
    }

    func restore(from checkpoint: Checkpoint) throws {
        try restoreReplicatedModel(from: checkpoint)
        try world.unanimously {
            try unlearner.restore(from: checkpoint.group)
            keptAccuracy = try checkpoint.group.attribute("kept_validation_accuracy", as: Double.self)
            keptAdversaryAccuracy = try checkpoint.group.attribute("kept_validation_adversary_accuracy", as: Double.self)
        }
    }

    /// The replicated model, its Adam, and the confusion Adam's two moments.
    var checkpointModels: Int { 5 }

    func finish(stopping: EarlyStopping, runFile: RunFile) throws -> (stopReason: String, crossSite: CrossSiteMatrix?) {
        // A budget within the head epochs (a run to be resumed) keeps no model yet.
        guard stopping.bestRound > 0 else {
            return ("budget of \(config.epochs) epochs reached within the \(config.unlearningHeadEpochs) that train the adversary alone: no model kept yet (resume with more epochs)", nil)
        }
        let reason = stopping.stopped(patience: config.patience)
            ? "early stop: for \(config.patience) epochs no model raised validation accuracy while lowering the adversary's (kept: epoch \(stopping.bestRound))"
            : "budget of \(config.epochs) epochs reached (kept: epoch \(stopping.bestRound))"
        return (reason, nil)
    }
}
