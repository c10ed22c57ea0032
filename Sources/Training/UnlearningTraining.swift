import Analysis
import Cluster
import Storage
import Synthesis

/// Adversarial unlearning around another strategy's rounds:
/// `unlearn: bias` with central training (SimBA's
/// bias_mitigation/unlearning.py: the bias group), `unlearn: site` with the
/// travelling model (the lab's HarmonyTM: the site, so the features stop
/// telling the hospitals apart). The first `unlearning_head_epochs` epochs
/// (cycles) train the adversary alone on the frozen encoder, so it can read
/// the label before the encoder is pushed to hide it; every later batch
/// takes the three steps of `Unlearner`. Model selection is SimBA's by
/// default: a round's model is kept when its validation disease accuracy
/// rose and the adversary's validation accuracy fell (against the last kept
/// model; the first unlearning round is always kept), and `patience` rounds
/// without one stop the run; `unlearning_selection: last` keeps every round
/// in turn, so the budget's last is kept.
final class UnlearningTraining: DistributionStrategy {
    private let base: DistributionStrategy
    let unlearner: Unlearner
    var session: TrainingSession { base.session }
    /// The kept model's validation accuracies (checkpointed with it).
    private var keptAccuracy = -Double.infinity, keptAdversaryAccuracy = Double.infinity
    private(set) var validationAdversaryAccuracy: Double?

    /// `base`'s replica gets the unlearner; the adversary predicts the bias
    /// group (`unlearn: bias`) or the site (`unlearn: site`).
    init(_ base: DistributionStrategy) throws {
        self.base = base
        let session = base.session, setup = base.session.setup
        let bySite = setup.config.unlearn == .site
        let target: (SplitTable, Int) -> Int = bySite ? { table, position in table.sites[position] }
            : { table, position in table.groups[position] }
        unlearner = try session.world.unanimously {
            try Unlearner(model: session.model, classes: bySite ? setup.layout.count : setup.groups, config: session.config,
                          target: target, weight: try Self.weight(setup: setup, bySite: bySite, target: target))
        }
        session.replica.unlearner = unlearner
    }

    /// Each row's weight in the adversary's losses: 1, or with
    /// `unlearning_reweigh` P(y)·P(c)/P(y, c) over the training split (all
    /// sites' samples: the counts are the same on every rank); a validation
    /// row of a (disease, c) cell no training sample has weighs 0.
    static func weight(setup: TrainingSetup, bySite: Bool, target: @escaping (SplitTable, Int) -> Int) throws -> (SplitTable, Int) -> Float {
        guard setup.config.unlearningReweigh != .none else { return { _, _ in 1 } }
        let training = setup.samples.filter { $0.split == .train }
        let reweighing: Reweighing
        do {
            reweighing = try Reweighing(trainingLabels: training.map(\.label),
                                        trainingGroups: training.map { String(bySite ? $0.site : $0.group) })
        } catch {
            throw TrainingError("unlearning_reweigh: \(error)")
        }
        // Looked up per row of every step: keyed by (label, class) as integers once, not as strings each time.
        var cells: [[Int]: Float] = [:]
        for (cell, weight) in reweighing.weights { if let c = Int(cell.group) { cells[[cell.label, c]] = Float(weight) } }
        return { table, position in cells[[table.labels[position], target(table, position)]] ?? 0 }
    }

    var unit: String { base.unit }

    private func headOnly(_ round: Int) -> Bool { round <= config.unlearningHeadEpochs }

    func round(_ round: Int) throws -> EpochTotals {
        unlearner.headOnly = headOnly(round)
        return try base.round(round)
    }

    func calibrateBatchNorm() throws { try base.calibrateBatchNorm() }

    /// The disease model as every strategy validates it, and the adversary
    /// on the same encoder output (one allreduce more).
    func validate() throws -> ValidationResult {
        var totals = session.emptyValidationTotals()
        var adversary = [0.0, 0.0]
        let table = setup.validation, model = session.model, head = unlearner.head, target = unlearner.target
        let weight = unlearner.weight, session = session
        try session.addValidation(of: table, to: &totals) { positions in
            head.forward(model.encoderOutput, batch: positions.count)
            for (n, position) in session.scoredRows(positions) {
                let rowWeight = Double(weight(table, position))
                if head.logitRow(sample: n).predicted == target(table, position) { adversary[0] += rowWeight }
                adversary[1] += rowWeight
            }
        }
        let result = try session.result(of: totals)
        try session.communicating { try world.allreduce(&adversary, op: .sum) }
        validationAdversaryAccuracy = adversary[0] / max(adversary[1], 1)
        return result
    }

    func record(_ validation: ValidationResult, round: Int, into stopping: inout EarlyStopping) {
        guard !headOnly(round), let adversaryAccuracy = validationAdversaryAccuracy else { return }
        let improved = stopping.bestRound == 0 || config.unlearningSelection == .last
            || (validation.accuracy > keptAccuracy && adversaryAccuracy < keptAdversaryAccuracy)
        if stopping.record(improved: improved, loss: validation.loss, round: round, patience: config.patience) {
            (keptAccuracy, keptAdversaryAccuracy) = (validation.accuracy, adversaryAccuracy)
        }
    }

    func writeModelState(into group: H5Group) throws {
        try base.writeModelState(into: group)
        try unlearner.write(into: group)
        try group.setAttribute("kept_validation_accuracy", keptAccuracy)
        try group.setAttribute("kept_validation_adversary_accuracy", keptAdversaryAccuracy)
    }

    func restore(from checkpoint: Checkpoint) throws {
        try base.restore(from: checkpoint)
        try world.unanimously {
            try unlearner.restore(from: checkpoint.group)
            keptAccuracy = try checkpoint.group.attribute("kept_validation_accuracy", as: Double.self)
            keptAdversaryAccuracy = try checkpoint.group.attribute("kept_validation_adversary_accuracy", as: Double.self)
        }
    }

    /// The base's, and the confusion Adam's two moments.
    var checkpointModels: Int { base.checkpointModels + 2 }

    func finish(stopping: EarlyStopping, runFile: RunFile) throws -> (stopReason: String, crossSite: CrossSiteMatrix?) {
        // A budget within the head epochs (a run to be resumed) keeps no model yet.
        guard stopping.bestRound > 0 else {
            return ("budget of \(config.epochs) \(unit) reached within the \(config.unlearningHeadEpochs) that train the adversary alone: no model kept yet (resume with more)", nil)
        }
        let reason = stopping.stopped(patience: config.patience)
            ? "early stop: for \(config.patience) \(unit) no model raised validation accuracy while lowering the adversary's (kept: \(unit.dropLast()) \(stopping.bestRound))"
            : "budget of \(config.epochs) \(unit) reached (kept: \(unit.dropLast()) \(stopping.bestRound))"
        return (reason, nil)
    }
}
