import Cluster
import Storage

/// How the ranks share one training run: what one epoch or round does, how
/// the model is validated and checkpointed, and how the run ends. The
/// trainer runs the same loop around every strategy; a new strategy is one
/// new type (and its case in `TrainingStrategy.make`).
///
/// The collective rule: every method is called on every rank in the same
/// order. A method whose collectives go to subgroups of the world (a
/// site's ranks) wraps them in `world.agreeing(afterSubgroups:)`, so that a
/// failure agreed inside one site is raised on every rank together.
protocol DistributionStrategy: AnyObject {
    var session: TrainingSession { get }
    /// The loop's unit: "epochs" or "rounds".
    var unit: String { get }
    /// One epoch or round; returns this rank's training totals.
    func round(_ round: Int) throws -> EpochTotals
    /// Precise batch norm before validation (when configured).
    func calibrateBatchNorm() throws
    func validate() throws -> ValidationResult
    /// Records the round's validation in the run's early stopping.
    func record(_ validation: ValidationResult, round: Int, into stopping: inout EarlyStopping)
    /// What a checkpoint holds of the model (collective).
    func writeModelState(into group: H5Group) throws
    /// Reads back what `writeModelState` wrote (collective).
    func restore(from checkpoint: Checkpoint) throws
    /// Copies of the parameter buffer a checkpoint holds (for the space check).
    var checkpointModels: Int { get }
    /// The adversary's accuracy at the last validation (unlearning runs; nil otherwise).
    var validationAdversaryAccuracy: Double? { get }
    /// Why the run stopped, and what else it has to say at the end.
    func finish(stopping: EarlyStopping, runFile: RunFile) throws -> (stopReason: String, crossSite: CrossSiteMatrix?)
}

extension DistributionStrategy {
    var setup: TrainingSetup { session.setup }
    var config: TrainingConfig { session.config }
    var world: Communicator { session.world }

    var unit: String { "rounds" }

    var validationAdversaryAccuracy: Double? { nil }

    func calibrateBatchNorm() throws {
        try session.calibrateBatchNorm(on: setup.training, over: world)
    }

    /// The current (global) model on the whole validation split, sharded over the world.
    func validate() throws -> ValidationResult {
        var totals = session.emptyValidationTotals()
        try session.addValidation(of: setup.validation, to: &totals)
        return try session.result(of: totals)
    }

    func record(_ validation: ValidationResult, round: Int, into stopping: inout EarlyStopping) {
        stopping.record(loss: validation.loss, round: round, patience: config.patience)
    }

    func writeModelState(into group: H5Group) throws { try writeReplicatedModel(into: group) }

    func restore(from checkpoint: Checkpoint) throws { try restoreReplicatedModel(from: checkpoint) }

    /// The replicated model and its Adam state.
    func writeReplicatedModel(into group: H5Group) throws {
        try RunFile.writeModel(session.model, optimizer: session.replica.optimizer, into: group)
    }

    func restoreReplicatedModel(from checkpoint: Checkpoint) throws {
        try world.unanimously {
            try session.model.load(parameters: checkpoint.parameters)
            try session.replica.optimizer.load(firstMoment: checkpoint.firstMoment, secondMoment: checkpoint.secondMoment,
                                               step: checkpoint.adamStep)
        }
    }

    /// Parameters and both Adam moments.
    var checkpointModels: Int { 3 }

    func finish(stopping: EarlyStopping, runFile: RunFile) throws -> (stopReason: String, crossSite: CrossSiteMatrix?) {
        (stopReason(stopping), nil)
    }

    /// Why a run with one (global) model stopped.
    func stopReason(_ stopping: EarlyStopping) -> String {
        stopping.stopped(patience: config.patience)
            ? "early stop: no lower validation loss for \(config.patience) \(unit) (best at \(stopping.bestRound))"
            : "budget of \(config.epochs) \(unit) reached"
    }
}

extension TrainingStrategy {
    /// The strategy's type, set up for `setup` on this rank.
    func make(_ setup: TrainingSetup, world: Communicator) throws -> DistributionStrategy {
        switch self {
        case .central:
            let central = try CentralTraining(setup: setup, world: world)
            return setup.config.unlearn == .none ? central : try UnlearningTraining(central)
        case .federated: return try FederatedTraining(setup: setup, world: world)
        case .travelling:
            let travelling = try TravellingTraining(setup: setup, world: world)
            return setup.config.unlearn == .none ? travelling : try UnlearningTraining(travelling)
        case .local: return try LocalTraining(setup: setup, world: world)
        case .fedtm: return try FedTMTraining(setup: setup, world: world)
        }
    }
}
