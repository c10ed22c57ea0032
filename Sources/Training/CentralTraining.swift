import Cluster

/// Pooled data, data-parallel: every global batch is split over all ranks
/// and the gradients are summed with one allreduce per step.
final class CentralTraining: DistributionStrategy {
    let session: TrainingSession

    init(setup: TrainingSetup, world: Communicator) throws {
        let config = setup.config
        try world.unanimously {
            guard setup.training.count >= config.batch else {
                throw TrainingError("\(setup.run.datasetPath) has \(setup.training.count) training samples, fewer than one batch of \(config.batch)")
            }
            guard config.spatial > 1 || config.batch >= world.size else {
                throw TrainingError("a global batch of \(config.batch) on \(world.size) ranks leaves ranks without samples: use --batch \(world.size) or more, or at most \(config.batch) ranks")
            }
            // Spatial parallelism deals the batch to groups of ranks (the world is a multiple of them: TrainingSetup).
            let groups = world.size / config.spatial
            guard config.spatial == 1 || config.batch >= groups else {
                throw TrainingError("a global batch of \(config.batch) on \(groups) groups of \(config.spatial) ranks leaves groups without samples: use --batch \(groups) or more")
            }
        }
        session = try TrainingSession(setup: setup, world: world, batchRanks: world.size, group: nil)
    }

    var unit: String { "epochs" }

    /// One pass over the pooled training split; the ranks check for stop
    /// requests before every step. The replica's ranks are the world's, so
    /// its failures are agreed already.
    func round(_ epoch: Int) throws -> EpochTotals {
        let plan = EpochPlan(splitCount: setup.training.count, batch: config.batch, seed: config.seed, epoch: epoch)
        let totals = try session.replica.trainEpoch(setup.training, plan: plan, stream: UInt64(epoch)) {
            try world.stopIfRequested()
        }
        try totals.checkFinite("epoch \(epoch)")
        return totals
    }
}
