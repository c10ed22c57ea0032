import Cluster
import Randomness

/// Travelling model: the model and its Adam state visit every site once
/// per cycle, in an order reshuffled from the seed each cycle; after each
/// visit the site's first rank hands both to every rank (one broadcast of
/// the parameters, one of each Adam moment; with `unlearn: site`, the
/// adversary and its optimizers too).
final class TravellingTraining: DistributionStrategy {
    let session: TrainingSession
    let sites: HostedSites

    init(setup: TrainingSetup, world: Communicator) throws {
        sites = try HostedSites(setup: setup, world: world, ownValidation: false)
        session = try sites.session(setup: setup, world: world)
    }

    /// The travelling model of another strategy's sites and network (FedTM).
    init(sites: HostedSites, session: TrainingSession) {
        self.sites = sites
        self.session = session
    }

    func round(_ cycle: Int) throws -> EpochTotals {
        var order = sites.participants
        var generator = SeededGenerator(seed: config.seed, stream: UInt64(cycle), "site order")
        order.deterministicShuffle(using: &generator)
        var totals = EpochTotals()
        let model = session.model, optimizer = session.replica.optimizer
        for site in order {
            totals += try world.agreeing(afterSubgroups: {
                guard let table = sites.training[site] else { return EpochTotals() }
                return try session.visit(site: site, table: table, round: cycle) {
                    (UInt64(cycle) << 32) | (UInt64(site) << 16) | UInt64($0)
                }
            })
            try session.communicating {
                let carrier = sites.layout.hosts(of: site).lowerBound
                try world.broadcast(UnsafeMutableBufferPointer(start: model.parameters.data, count: model.parameters.count),
                                    root: carrier)
                try optimizer.broadcast(from: carrier, over: world)
                // HarmonyTM: the adversary and its optimizers travel with the model.
                try session.replica.unlearner?.broadcast(from: carrier, over: world)
            }
        }
        return totals
    }

    /// Precise batch norm for the travelling model: its batch statistics
    /// summed over every site it visits, each site forwarding its own
    /// training samples.
    func calibrateBatchNorm() throws {
        try session.calibrateBatchNormAcrossSites(sites.training)
    }
}
