import Cluster
import Storage

/// FedAvg (FedProx with μ > 0, FedBN with site batch norm): every site
/// starts from the global model with a fresh Adam, trains its local
/// epochs, and the new global model is the mean of the sites' models,
/// batch-norm statistics included — uniform or weighted by training
/// samples. One allreduce over the flat parameter buffer averages them all.
final class FederatedTraining: DistributionStrategy {
    let session: TrainingSession
    let sites: HostedSites
    /// FedBN: the batch-norm slices of the flat buffer, and each hosted
    /// site's own values of them once it has trained.
    let batchNormRanges: [Range<Int>]
    var siteBatchNorm: [Int: [Float]] = [:]

    init(setup: TrainingSetup, world: Communicator) throws {
        sites = try HostedSites(setup: setup, world: world, ownValidation: false)
        session = try sites.session(setup: setup, world: world)
        batchNormRanges = session.model.layout.batchNormRanges
    }

    func round(_ round: Int) throws -> EpochTotals {
        let model = session.model, replica = session.replica
        let global = model.parameters.array
        let totalSamples = Double(setup.participantSamples.values.reduce(0, +))
        var weighted = [Float](repeating: 0, count: global.count)
        let totals = try world.agreeing(afterSubgroups: { () -> EpochTotals in
            var totals = EpochTotals()
            for (site, table) in sites.training.sorted(by: { $0.key < $1.key }) {
                try model.load(parameters: global)
                if config.fedBN, let own = siteBatchNorm[site] { writeBatchNorm(own) }
                replica.resetOptimizer()
                replica.proximal = config.proximalMu > 0 ? (global, Float(config.proximalMu)) : nil
                totals += try session.visit(site: site, table: table, round: round) {
                    (UInt64(round) << 32) | (UInt64(site) << 16) | UInt64($0)
                }
                if config.fedBN { siteBatchNorm[site] = readBatchNorm() }
                guard replica.communicator.rank == 0 else { continue }
                let share = config.aggregation == .uniform ? 1 / Double(sites.participants.count)
                    : Double(table.count) / totalSamples
                let p = model.parameters.data
                for i in weighted.indices { weighted[i] += Float(share) * p[i] }
            }
            return totals
        })
        try session.communicating { try world.allreduce(&weighted, op: .sum) }
        try model.load(parameters: weighted)
        replica.proximal = nil
        return totals
    }

    /// Precise batch norm. FedBN first: each hosted site's own batch norm,
    /// under the global weights, calibrated on the site's own training
    /// samples (shared among the site's ranks). Then the global model (the
    /// one validated, checkpointed and evaluated): its statistics summed
    /// over every site's training samples, only the sums leaving a site.
    /// Neither changes a trainable weight: a site's next round starts from
    /// the same weights, and the moving statistics that aggregation averages
    /// are replaced here before they are used.
    func calibrateBatchNorm() throws {
        if config.fedBN {
            let model = session.model
            let global = model.parameters.array
            try world.agreeing(afterSubgroups: {
                for (site, table) in sites.training.sorted(by: { $0.key < $1.key }) {
                    if let own = siteBatchNorm[site] { writeBatchNorm(own) }
                    try session.calibrateBatchNorm(on: table, over: session.replica.communicator)
                    siteBatchNorm[site] = readBatchNorm()
                    try model.load(parameters: global)
                }
            })
        }
        try session.calibrateBatchNormAcrossSites(sites.training)
    }

    /// FedBN also keeps each site's own batch norm, one row per site.
    func writeModelState(into group: H5Group) throws {
        try writeReplicatedModel(into: group)
        guard config.fedBN else { return }
        let width = batchNormRanges.reduce(0) { $0 + $1.count }
        try sites.rows.write("site_batch_norm", width: width, into: group) { siteBatchNorm[$0] ?? [] }
    }

    func restore(from checkpoint: Checkpoint) throws {
        try restoreReplicatedModel(from: checkpoint)
        if config.fedBN { siteBatchNorm = try sites.rows.read("site_batch_norm", from: checkpoint.group) }
    }

    // MARK: FedBN

    /// FedBN as deployed: each site's model is the best round's global
    /// weights with the site's own batch norm of that round, scored on every
    /// site's test images (the cross-site matrix, as local training's); the
    /// global model, validated and evaluated, carries the sites' mean.
    func finish(stopping: EarlyStopping, runFile: RunFile) throws -> (stopReason: String, crossSite: CrossSiteMatrix?) {
        let reason = stopReason(stopping)
        guard config.fedBN, runFile.hasCheckpoint else { return (reason, nil) }
        let checkpoint = try world.unanimously { try runFile.checkpoint(link: "best") }
        let rows = try sites.rows.read("site_batch_norm", from: checkpoint.group)
        let bestRounds = [Int](repeating: stopping.bestRound, count: sites.layout.count)
        let crossSite = try sites.crossSite(session: session, bestRounds: bestRounds, partition: config.partition) { site in
            try session.model.load(parameters: checkpoint.parameters)
            if let own = rows[site] { writeBatchNorm(own) }
        }
        try runFile.writeCrossSite(crossSite, description: "FedBN: the best round's global weights with each site's own batch norm of that round, evaluated on every site's test split")
        return (reason, crossSite)
    }

    private func readBatchNorm() -> [Float] {
        let parameters = session.model.parameters
        return batchNormRanges.flatMap { UnsafeBufferPointer(start: parameters.data + $0.lowerBound, count: $0.count) }
    }

    private func writeBatchNorm(_ values: [Float]) {
        let parameters = session.model.parameters
        var offset = 0
        for range in batchNormRanges {
            for i in range { parameters[i] = values[offset + i - range.lowerBound] }
            offset += range.count
        }
    }
}
