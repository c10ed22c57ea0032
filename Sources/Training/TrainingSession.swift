import Cluster
import Network

/// The machinery every strategy trains with: the model and its replica
/// (the ranks that split one batch), the world, and the passes they make
/// together — site visits, precise batch norm, validation.
final class TrainingSession {
    let setup: TrainingSetup
    var config: TrainingConfig { setup.config }
    let world: Communicator
    let model: SimbaCNN
    let replica: Replica

    /// Builds the model (seeded, or from `initialize_from`) for batches split
    /// over `batchRanks` ranks, and the replica over the ranks of `group`
    /// (nil: the whole world; otherwise a color, one per site group).
    init(setup: TrainingSetup, world: Communicator, batchRanks: Int, group: Int?) throws {
        self.setup = setup
        self.world = world
        let config = setup.config
        var communicator = world
        if let group {
            guard let split = try world.split(color: group, key: world.rank) else {
                throw TrainingError("internal error: rank \(world.rank) joined no site group")
            }
            communicator = split
        }
        // Spatial groups form inside the replica (a site's ranks are whole groups: SiteLayout).
        let slabs = try config.spatial > 1
            ? SlabGroup(replica: communicator, parts: config.spatial, configuration: config.model(input: setup.grid)) : nil
        model = try world.unanimously {
            let model = try SimbaCNN(configuration: config.model(input: setup.grid),
                                     maxBatch: setup.largestShare(over: batchRanks / config.spatial), seed: config.seed,
                                     slab: slabs?.partition)
            if let start = config.initializeFrom {
                let stored: StoredModel
                do { stored = try StoredModel.read(path: start, link: "best") } catch {
                    throw TrainingError("training.initialize_from: \(error)")
                }
                try stored.check(fits: model.configuration, key: "training.initialize_from")
                try model.load(parameters: stored.parameters)
            }
            return model
        }
        replica = Replica(model: model, communicator: communicator, loader: setup.loader, batch: config.batch,
                          learningRate: Float(config.learningRate), seed: config.seed, slabs: slabs)
    }

    /// Runs a communication and counts its seconds as such.
    func communicating<T>(_ body: () throws -> T) rethrows -> T {
        let started = Clock.now
        defer { replica.time.communication += Clock.seconds(since: started) }
        return try body()
    }

    /// `localEpochs` passes over one site's training table, continuing from
    /// the replica's current model and optimizer; `stream(localEpoch)`
    /// numbers each pass's shuffle and dropout.
    func visit(site: Int, table: SplitTable, round: Int, stream: (Int) -> UInt64) throws -> EpochTotals {
        var totals = EpochTotals()
        for localEpoch in 0..<config.localEpochs {
            let pass = stream(localEpoch)
            // A tiny site trains on batches of all its samples.
            let plan = EpochPlan(splitCount: table.count, batch: min(config.batch, table.count), seed: config.seed, stream: pass)
            let passTotals = try replica.trainEpoch(table, plan: plan, stream: pass)
            try passTotals.checkFinite("round \(round) at site \(site), local epoch \(localEpoch + 1)")
            totals += passTotals
        }
        return totals
    }

    // MARK: inference over shares

    /// Runs `body` on this rank's even share of `table`, in chunks that fit
    /// every rank's model; every rank takes part in the same number of
    /// agreed loads. `positions` index the table.
    func forEachShareChunk(of table: SplitTable, over communicator: Communicator? = nil,
                           _ body: (_ positions: [Int], _ images: [Float]) throws -> Void) throws {
        let communicator = communicator ?? world
        // A spatial group shares one part (its ranks are consecutive in every communicator here).
        let groupSize = model.slab?.parts ?? 1
        let chunk = (config.batch + communicator.size / groupSize - 1) / (communicator.size / groupSize)
        try ShareChunks(count: table.count, chunk: chunk, communicator: communicator, groupSize: groupSize).forEach(
            load: { positions in try setup.loader.load(positions.map { table.indices[$0] }) },
            { positions, images in
                let computeStart = Clock.now
                try body(Array(positions), images)
                replica.time.compute += Clock.seconds(since: computeStart)
            })
    }

    /// The (row, position) pairs of a forwarded chunk this rank scores into
    /// sums that are then added over the ranks: all of them, or none on a
    /// spatial group's other ranks (a group computes each sample's logits
    /// on every rank alike; its leader counts them once).
    func scoredRows(_ positions: [Int]) -> EnumeratedSequence<[Int]> {
        (replica.countsSamples ? positions : []).enumerated()
    }

    /// Precise batch norm: each rank of `communicator` runs its share of
    /// `table` through calibrate-mode forwards; one allreduce sums the statistics.
    func calibrateBatchNorm(on table: SplitTable, over communicator: Communicator) throws {
        model.beginBatchNormCalibration()
        try forEachShareChunk(of: table, over: communicator) { positions, images in
            model.forward(images, batch: positions.count, mode: .calibrate)
        }
        var sums = model.batchNormCalibrationSums
        try communicating { try communicator.allreduce(&sums, op: .sum) }
        model.finishBatchNormCalibration(sums: sums)
    }

    /// Precise batch norm across sites, for the one model every rank holds
    /// (FedAvg's global model, the travelling model): each rank runs
    /// calibrate-mode forwards over its share of each of `tables` (the
    /// training samples of the sites it hosts, a site's samples shared among
    /// the site's ranks, each batch from one site), and one allreduce over
    /// the world sums the per-channel statistics (Σ batch means, Σ batch
    /// variances, batch count). No image leaves its site; the result is the
    /// calibration over every site's training samples pooled, in the same
    /// site-local batches.
    func calibrateBatchNormAcrossSites(_ tables: [Int: SplitTable]) throws {
        model.beginBatchNormCalibration()
        try world.agreeing(afterSubgroups: {
            for (_, table) in tables.sorted(by: { $0.key < $1.key }) {
                try forEachShareChunk(of: table, over: replica.communicator) { positions, images in
                    model.forward(images, batch: positions.count, mode: .calibrate)
                }
            }
        })
        var sums = model.batchNormCalibrationSums
        try communicating { try world.allreduce(&sums, op: .sum) }
        model.finishBatchNormCalibration(sums: sums)
    }

    /// Empty per-bucket validation totals (overall, groups, sites).
    func emptyValidationTotals() -> ValidationTotals {
        ValidationTotals(groups: setup.groups, sites: setup.layout.count)
    }

    /// Scores the current model on this rank's share of `table` (over
    /// `communicator`'s ranks) into `totals`.
    /// `alsoScore` sees each chunk's positions right after its forward (an
    /// unlearning run scores its adversary on the same encoder output).
    func addValidation(of table: SplitTable, over communicator: Communicator? = nil,
                       to totals: inout ValidationTotals, alsoScore: ((_ positions: [Int]) -> Void)? = nil) throws {
        try forEachShareChunk(of: table, over: communicator) { positions, images in
            model.forward(images, batch: positions.count, mode: .eval)
            for (n, position) in scoredRows(positions) {
                totals.add(model.logitRow(sample: n), label: table.labels[position], weight: table.weights[position],
                           group: table.groups[position], site: table.sites[position])
            }
            alsoScore?(positions)
        }
    }

    /// Sums every rank's totals into the result (one allreduce over the world).
    func result(of totals: ValidationTotals) throws -> ValidationResult {
        var totals = totals
        try communicating { try world.allreduce(&totals.values, op: .sum) }
        return ValidationResult(totals: totals)
    }
}
