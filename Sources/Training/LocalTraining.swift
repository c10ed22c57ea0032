import Cluster
import Storage

/// Local training: every site trains its own model on its own data, in
/// rounds of `local_epochs`; models are never exchanged. A rank that hosts
/// several sites swaps each site's model and Adam state into the shared
/// network in turn; a site spanning several ranks trains data-parallel.
/// Each site stops early on its own validation loss; the run ends with
/// every site's best model scored on the whole test split (the cross-site matrix).
final class LocalTraining: DistributionStrategy {
    let session: TrainingSession
    let sites: HostedSites
    var local: LocalSites

    init(setup: TrainingSetup, world: Communicator) throws {
        sites = try HostedSites(setup: setup, world: world, ownValidation: true)
        try world.unanimously {
            let participants = setup.participants
            let unvalidated = participants.filter { site in
                !setup.samples.contains { $0.site == site && $0.split == .validation }
            }
            guard unvalidated.isEmpty else {
                throw TrainingError("strategy local: site\(unvalidated.count == 1 ? "" : "s") \(unvalidated.map(String.init).joined(separator: ", ")) of \(setup.run.datasetPath) \(unvalidated.count == 1 ? "has" : "have") no validation samples, which each site's own early stopping needs")
            }
            guard setup.test.count > 0 else {
                throw TrainingError("strategy local: \(setup.run.datasetPath) has no test samples for the cross-site evaluation")
            }
        }
        session = try sites.session(setup: setup, world: world)
        local = LocalSites(rows: sites.rows, patience: setup.config.patience, initial: session.model.parameters.array)
    }

    /// The hosted sites that still train, with their training tables.
    private var activeHosted: [(site: Int, table: SplitTable)] {
        local.active.compactMap { site in sites.training[site].map { (site, $0) } }
    }

    /// One round: every hosted site that has not stopped trains its local
    /// epochs, numbered as the site's own epochs, so a site trains exactly
    /// as central training on its data alone would (same shuffles, same
    /// dropout masks).
    func round(_ round: Int) throws -> EpochTotals {
        let localEpochs = config.localEpochs
        return try world.agreeing(afterSubgroups: {
            var totals = EpochTotals()
            for (site, table) in activeHosted {
                try local.install(site: site, in: session.model, optimizer: session.replica.optimizer)
                totals += try session.visit(site: site, table: table, round: round) {
                    UInt64((round - 1) * localEpochs + $0 + 1)
                }
                local.collect(site: site, from: session.model, optimizer: session.replica.optimizer)
            }
            return totals
        })
    }

    /// Precise batch norm, site by site: each training site's model gets the
    /// average batch statistics of its own training samples (shared among
    /// the site's ranks), so no site sees another's data.
    func calibrateBatchNorm() throws {
        try world.agreeing(afterSubgroups: {
            for (site, table) in activeHosted {
                try session.model.load(parameters: local.parameters(of: site))
                try session.calibrateBatchNorm(on: table, over: session.replica.communicator)
                local.setParameters(of: site, session.model.parameters.array)
            }
        })
    }

    /// Each site's current model on its own validation samples (weighted
    /// with its own counts), split over the site's ranks; one allreduce
    /// gathers the buckets. Overall and per-group figures pool every
    /// sample as scored by its own site's model; sites that sit out have
    /// no model and are left out.
    func validate() throws -> ValidationResult {
        var totals = session.emptyValidationTotals()
        try world.agreeing(afterSubgroups: {
            for (site, table) in sites.validation.sorted(by: { $0.key < $1.key }) {
                try session.model.load(parameters: local.parameters(of: site))
                try session.addValidation(of: table, over: session.replica.communicator, to: &totals)
            }
        })
        return try session.result(of: totals)
    }

    /// Each site stops on its own; the run goes on while one still trains.
    func record(_ validation: ValidationResult, round: Int, into stopping: inout EarlyStopping) {
        stopping.record(loss: validation.loss, round: round, patience: config.patience)
        local.record(lossBySite: validation.lossBySite, round: round)
        stopping.roundsWithoutImprovement = local.fewestRoundsWithoutImprovement
    }

    func writeModelState(into group: H5Group) throws {
        try local.write(into: group, width: session.model.parameters.count)
    }

    func restore(from checkpoint: Checkpoint) throws {
        try local.read(from: checkpoint.group)
    }

    /// Every site's parameters, both Adam moments and best parameters.
    var checkpointModels: Int { 4 * sites.layout.count }

    func finish(stopping: EarlyStopping, runFile: RunFile) throws -> (stopReason: String, crossSite: CrossSiteMatrix?) {
        let bests = local.participants.map { "site \($0) at \(local.stopping[$0].bestRound)" }.joined(separator: ", ")
        let reason = (stopping.stopped(patience: config.patience)
            ? "early stop: no site's own validation loss fell for \(config.patience) rounds"
            : "budget of \(config.epochs) rounds reached") + " (bests: \(bests))"
        let crossSite = try evaluateCrossSite()
        try runFile.writeCrossSite(crossSite)
        return (reason, crossSite)
    }

    /// Every site's best model on every test sample.
    func evaluateCrossSite() throws -> CrossSiteMatrix {
        try sites.crossSite(session: session, bestRounds: local.stopping.map(\.bestRound), partition: config.partition) { site in
            try session.model.load(parameters: local.bestParameters(of: site))
        }
    }
}
