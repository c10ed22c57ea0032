import Cluster
import Foundation
import Network
import Randomness
import Storage
import Synthesis

/// What a finished (or early-stopped) run reports.
public struct TrainingOutcome: Sendable {
    public var epochsRun: Int
    public var stopReason: String
    public var bestEpoch: Int
    public var bestValidationLoss: Double
    public var lastValidationAccuracy: Double
    /// Local training: every site's best model on every site's test split.
    public var crossSite: CrossSiteMatrix?
}

/// Where the trainer stands, after every epoch (or round) on every rank.
public struct TrainingProgress: Sendable {
    public var epochsDone: Int
    public var epochsTotal: Int
    public var lastValidationLoss: Double
}

/// The run's inputs: configuration, files and what to do with an existing run file.
public struct TrainingRun: Sendable {
    public var config: TrainingConfig
    public var datasetPath: String
    public var runPath: String
    public var resume = false
    public var overwrite = false

    public init(config: TrainingConfig, datasetPath: String, runPath: String, resume: Bool = false, overwrite: Bool = false) {
        self.config = config
        self.datasetPath = datasetPath
        self.runPath = runPath
        self.resume = resume
        self.overwrite = overwrite
    }
}

/// Trains the SimBA CNN with one of the strategies: one loop (epochs or
/// rounds, validation, early stopping, metrics, checkpoints) around a round
/// that each strategy fills in.
public final class Trainer {
    let run: TrainingRun
    var config: TrainingConfig { run.config }
    let world: Communicator
    let loader: ImageLoader
    let training: SplitTable, validation: SplitTable
    let groups: Int
    let layout: SiteLayout
    /// Training samples of each site this rank hosts (site strategies).
    let siteTables: [Int: SplitTable]
    /// Sites with at least one full batch of training samples, and their
    /// sample counts; the others (e.g. held-out test sites) sit out.
    let participants: [Int]
    let participantSamples: [Int: Int]
    let model: SimbaCNN
    let replica: Replica
    /// FedBN: the batch-norm slices of the flat buffer, and each hosted
    /// site's own values of them once it has trained.
    let batchNormRanges: [Range<Int>]
    var siteBatchNorm: [Int: [Float]] = [:]
    /// Per-site checkpoint tables: which rank writes and reads which row.
    let siteRows: SiteRows
    /// Local training: validation samples of each site this rank hosts
    /// (weighted with the site's own counts), every site's state, and the
    /// test split for the cross-site matrix.
    let siteValidation: [Int: SplitTable]
    var localSites: LocalSites?
    let test: SplitTable

    /// Opens the dataset on every rank and builds the model; failures are
    /// agreed, so every rank reports the same one-line error.
    public init(run: TrainingRun, world: Communicator) throws {
        self.run = run
        self.world = world
        let config = run.config
        let setup = try world.unanimously { () -> (ImageLoader, [SampleRecord], Grid3) in
            guard FileManager.default.fileExists(atPath: run.datasetPath) else {
                throw TrainingError("dataset \(run.datasetPath) does not exist (make one with 'simba generate')")
            }
            let reader: DatasetReader
            do { reader = try DatasetReader(path: run.datasetPath) } catch {
                throw TrainingError("cannot read dataset \(run.datasetPath): \(error)")
            }
            let labels = Set(reader.samples.map(\.label))
            guard labels.isSubset(of: [0, 1]) else {
                throw TrainingError("\(run.datasetPath) has labels \(labels.sorted()); the SimBA CNN has two classes (0, 1)")
            }
            var samples = reader.samples
            if config.sites > 0 {
                for i in samples.indices { samples[i].site = samples[i].index % config.sites }
            }
            if config.partition == .biasGroup {
                for i in samples.indices { samples[i].site = samples[i].group }
            }
            return (ImageLoader(reader: reader), samples, Grid3(reader.shape))
        }
        let samples: [SampleRecord]
        let grid: Grid3
        (loader, samples, grid) = setup
        groups = (samples.map(\.group).max() ?? 0) + 1
        layout = SiteLayout(count: (samples.map(\.site).max() ?? 0) + 1, worldSize: world.size)
        let layout = self.layout
        let trainingCounts = Dictionary(grouping: samples.filter { $0.split == .train }, by: \.site).mapValues(\.count)
        participantSamples = trainingCounts.filter { $0.value >= config.batch }
        participants = participantSamples.keys.sorted()
        let participants = self.participants
        let hosted = config.strategy == .central ? [] : layout.sites(hostedBy: world.rank)
        (training, validation, siteTables, siteValidation, test, model) = try world.unanimously {
            let reweighing = config.reweighing ? try SplitTable.reweighing(trainingSamples: samples) : nil
            let training = try SplitTable(split: .train, samples: samples, reweighing: reweighing)
            let validation = try SplitTable(split: .validation, samples: samples, reweighing: reweighing)
            guard validation.count > 0 else {
                throw TrainingError("\(run.datasetPath) has no validation samples, which early stopping needs")
            }
            var siteTables: [Int: SplitTable] = [:], siteValidation: [Int: SplitTable] = [:]
            let test = try SplitTable(split: .test, samples: samples, reweighing: nil)
            if config.strategy == .central {
                guard training.count >= config.batch else {
                    throw TrainingError("\(run.datasetPath) has \(training.count) training samples, fewer than one batch of \(config.batch)")
                }
                guard config.batch >= world.size else {
                    throw TrainingError("a global batch of \(config.batch) on \(world.size) ranks leaves ranks without samples: use --batch \(world.size) or more, or at most \(config.batch) ranks")
                }
            } else {
                guard !participants.isEmpty else {
                    throw TrainingError("no site of \(run.datasetPath) has a full batch of \(config.batch) training samples")
                }
                let siteRanks = layout.hosts(of: hosted.first ?? 0).count
                guard config.batch >= siteRanks else {
                    throw TrainingError("a batch of \(config.batch) on a site of \(siteRanks) ranks leaves ranks without samples: use --batch \(siteRanks) or more, or more sites")
                }
                for site in hosted where participants.contains(site) {
                    let siteSamples = samples.filter { $0.site == site }
                    // A site reweighs with its own counts: it sees no other site's data.
                    let siteReweighing = config.reweighing ? try SplitTable.reweighing(trainingSamples: siteSamples) : nil
                    siteTables[site] = try SplitTable(split: .train, samples: siteSamples, reweighing: siteReweighing)
                    if config.strategy == .local {
                        siteValidation[site] = try SplitTable(split: .validation, samples: siteSamples, reweighing: siteReweighing)
                    }
                }
                if config.strategy == .local {
                    let unvalidated = participants.filter { site in !samples.contains { $0.site == site && $0.split == .validation } }
                    guard unvalidated.isEmpty else {
                        throw TrainingError("strategy local: site\(unvalidated.count == 1 ? "" : "s") \(unvalidated.map(String.init).joined(separator: ", ")) of \(run.datasetPath) \(unvalidated.count == 1 ? "has" : "have") no validation samples, which each site's own early stopping needs")
                    }
                    guard test.count > 0 else {
                        throw TrainingError("strategy local: \(run.datasetPath) has no test samples for the cross-site evaluation")
                    }
                }
            }
            // The largest share of a batch this rank can get.
            let ranksPerBatch = config.strategy == .central ? world.size : layout.hosts(of: hosted[0]).count
            let model = try SimbaCNN(configuration: config.model(input: grid),
                                     maxBatch: (config.batch + ranksPerBatch - 1) / ranksPerBatch, seed: config.seed)
            if let start = config.initializeFrom {
                let stored: StoredModel
                do { stored = try StoredModel.read(path: start, link: "best") } catch {
                    throw TrainingError("training.initialize_from: \(error)")
                }
                try stored.check(fits: model.configuration, key: "training.initialize_from")
                try model.load(parameters: stored.parameters)
            }
            return (training, validation, siteTables, siteValidation, test, model)
        }
        let communicator: Communicator
        if config.strategy == .central {
            communicator = world
        } else {
            // Every rank hosts at least one site or belongs to one site's group.
            let color = layout.count >= world.size ? world.rank : hosted[0]
            communicator = try world.split(color: color, key: world.rank)!
        }
        replica = Replica(model: model, communicator: communicator, loader: loader, batch: config.batch,
                          learningRate: Float(config.learningRate), seed: config.seed)
        batchNormRanges = model.layout.slices.filter { $0.name.contains(".bn.") }.map(\.range)
        siteRows = SiteRows(layout: layout, participants: participants, rank: world.rank)
        if config.strategy == .local {
            localSites = LocalSites(rows: siteRows, patience: config.patience, initial: model.parameters.array)
        }
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
        } catch let failure as CollectiveFailure {
            // Every rank knows: record why the run stopped (its checkpoints stay valid).
            try runFile.finish(stopReason: failure.message)
            try runFile.close()
            throw failure
        } catch let stop as StopRequested {
            try? runFile.close()
            throw stop
        } catch let full as InsufficientSpace {
            // Nothing more is written: the file ends at its last complete checkpoint.
            try? runFile.close()
            throw full
        } catch {
            // This rank alone failed (e.g. an HDF5 error): the others may wait
            // in a collective, so no collective close; the launcher aborts.
            runFile.abandon()
            throw error
        }
    }

    /// Refuses, on every rank alike, to start writing an epoch's metrics and
    /// checkpoint without room for them: a write that fails half-way inside
    /// a collective HDF5 call could leave ranks waiting for each other.
    private func ensureSpaceForCheckpoint(after epochsDone: Int) throws {
        let directory = URL(fileURLWithPath: run.runPath).deletingLastPathComponent().path
        var local = -1.0
        if world.rank == 0 {
            var status = statvfs()
            if statvfs(directory, &status) == 0 { local = Double(status.f_bavail) * Double(status.f_frsize) }
        }
        let free = try world.broadcast(local, root: 0)
        // Parameters and both Adam moments (local: and the best parameters,
        // per site), plus room for metadata and the metrics rows.
        let models = config.strategy == .local ? 4 * layout.count : 3
        let needed = Double(models * model.parameters.count * MemoryLayout<Float>.stride) + 1_048_576
        if free >= 0 && free < needed {
            throw InsufficientSpace(directory: directory, free: free, needed: needed,
                                    lastCheckpoint: epochsDone > 0 ? RunFile.checkpointName(epoch: epochsDone) : nil)
        }
    }

    private func openRunFile() throws -> RunFile {
        try world.unanimously {
            let exists = FileManager.default.fileExists(atPath: run.runPath)
            if run.resume && !exists { throw TrainingError("--resume: \(run.runPath) does not exist") }
            if !run.resume && exists && !run.overwrite {
                throw TrainingError("\(run.runPath) exists: use --resume to continue it or --overwrite to replace it")
            }
        }
        // The HDF5 calls below are collective and fail on every rank alike.
        if run.resume {
            return try RunFile.openForResume(path: run.runPath, communicator: world, config: config,
                                             dataset: run.datasetPath, input: model.configuration.input,
                                             groups: groups, sites: layout.count)
        }
        return try RunFile.create(path: run.runPath, overwrite: run.overwrite, communicator: world, config: config,
                                  layout: model.layout, input: model.configuration.input, dataset: run.datasetPath,
                                  groups: groups, sites: layout.count)
    }

    /// Runs `body` on every rank and lets all agree on its failure (stop
    /// requests are agreed already: they come from a collective check).
    func agreed<T>(_ body: () throws -> T) throws -> T {
        let outcome = Result { try body() }
        if case .failure(let error) = outcome, error is StopRequested { throw error }
        return try world.unanimously { try outcome.get() }
    }

    private func train(into runFile: RunFile, progress: (TrainingProgress) -> Void) throws -> TrainingOutcome {
        var state = TrainingState()
        // A run stopped before its first checkpoint (e.g. a stop signal at
        // its first step) starts from the beginning: the model is seeded, so
        // that is the same computation as a fresh run.
        if run.resume && runFile.hasCheckpoint {
            let checkpoint = try runFile.latestCheckpoint()
            if localSites != nil {
                try localSites!.read(from: checkpoint.group)
            } else {
                try world.unanimously {
                    try model.load(parameters: checkpoint.parameters)
                    try replica.optimizer.load(firstMoment: checkpoint.firstMoment, secondMoment: checkpoint.secondMoment,
                                               step: checkpoint.adamStep)
                }
            }
            state = checkpoint.state
            if config.fedBN { siteBatchNorm = try siteRows.read("site_batch_norm", from: checkpoint.group) }
        }
        if run.resume { try runFile.truncateMetrics(toEpochs: state.epochsDone) }
        var lastValidation = ValidationResult.empty(groups: groups, sites: layout.count)
        while state.epochsDone < config.epochs && state.epochsWithoutImprovement < config.patience {
            try world.stopIfRequested()
            let epoch = state.epochsDone + 1
            let started = Clock.now
            let (ioBefore, timeBefore) = (loader.seconds, replica.time)
            let totals = try round(epoch)
            // Train loss and accuracy over every site's steps (each site's
            // steps counted once, by its first rank).
            let countsSteps = replica.communicator.rank == 0
            var sums = [totals.lossSum, Double(totals.correct), countsSteps ? Double(totals.steps) : 0]
            let commStart = Clock.now
            try world.allreduce(&sums, op: .sum)
            replica.time.communication += Clock.seconds(since: commStart)
            if config.batchNormCalibration {
                if localSites == nil { try calibrateBatchNorm(on: training, over: world) } else { try calibrateSites() }
            }
            lastValidation = localSites == nil ? try validate() : try validateSites()
            let elapsed = Clock.seconds(since: started)
            state.globalStep += Int(sums[2])
            if lastValidation.loss < state.bestValidationLoss {
                state.bestValidationLoss = lastValidation.loss
                state.bestEpoch = epoch
                state.epochsWithoutImprovement = 0
            } else {
                state.epochsWithoutImprovement += 1
            }
            if localSites != nil {
                // Each site stops on its own; the run goes on while one still trains.
                localSites!.record(lossBySite: lastValidation.lossBySite, round: epoch)
                state.epochsWithoutImprovement = localSites!.fewestRoundsWithoutImprovement
            }
            try ensureSpaceForCheckpoint(after: state.epochsDone)
            state.epochsDone = epoch
            try runFile.append(EpochMetrics(
                epoch: epoch, step: state.globalStep,
                trainLoss: sums[0] / max(sums[2], 1),
                trainAccuracy: sums[1] / max(sums[2] * Double(config.batch), 1),
                validationLoss: lastValidation.loss, validationAccuracy: lastValidation.accuracy,
                validationLossByGroup: lastValidation.lossByGroup, validationAccuracyByGroup: lastValidation.accuracyByGroup,
                validationLossBySite: lastValidation.lossBySite, validationAccuracyBySite: lastValidation.accuracyBySite,
                samplesPerSecond: sums[2] * Double(config.batch) / max(elapsed, 1e-9),
                computeSeconds: replica.time.compute - timeBefore.compute,
                communicationSeconds: replica.time.communication - timeBefore.communication,
                ioSeconds: loader.seconds - ioBefore))
            try runFile.writeCheckpoint(state: state, isBest: state.bestEpoch == epoch, contents: writeModelState)
            progress(TrainingProgress(epochsDone: epoch, epochsTotal: config.epochs, lastValidationLoss: lastValidation.loss))
        }
        let unit = config.strategy == .central ? "epochs" : "rounds"
        var stopReason = state.epochsWithoutImprovement >= config.patience
            ? "early stop: no lower validation loss for \(config.patience) \(unit) (best at \(state.bestEpoch))"
            : "budget of \(config.epochs) \(unit) reached"
        var crossSite: CrossSiteMatrix?
        if let localSites {
            let bests = localSites.participants.map { "site \($0) at \(localSites.stopping[$0].bestRound)" }.joined(separator: ", ")
            stopReason = (state.epochsWithoutImprovement >= config.patience
                ? "early stop: no site's own validation loss fell for \(config.patience) rounds"
                : "budget of \(config.epochs) rounds reached") + " (bests: \(bests))"
            crossSite = try evaluateCrossSite()
            try runFile.writeCrossSite(crossSite!)
        }
        return TrainingOutcome(epochsRun: state.epochsDone, stopReason: stopReason, bestEpoch: state.bestEpoch,
                               bestValidationLoss: state.bestValidationLoss,
                               lastValidationAccuracy: lastValidation.accuracy, crossSite: crossSite)
    }

    /// What a checkpoint holds of the model: the replicated model and its
    /// Adam state (FedBN: and each site's batch norm), or, in local runs,
    /// every site's own model.
    private func writeModelState(into group: H5Group) throws {
        if let localSites {
            try localSites.write(into: group, width: model.parameters.count)
            return
        }
        try RunFile.writeModel(model, optimizer: replica.optimizer, into: group)
        if config.fedBN {
            let width = batchNormRanges.reduce(0) { $0 + $1.count }
            try siteRows.write("site_batch_norm", width: width, into: group) { siteBatchNorm[$0]! }
        }
    }

    // MARK: strategies

    /// One epoch (central) or round (federated, travelling); returns this
    /// rank's training totals.
    private func round(_ round: Int) throws -> EpochTotals {
        switch config.strategy {
        case .central: return try centralEpoch(round)
        case .federated: return try federatedRound(round)
        case .travelling: return try travellingCycle(round)
        case .local: return try localRound(round)
        }
    }

    func checkFinite(_ totals: EpochTotals, _ place: String) throws {
        if let step = totals.nonFiniteStep {
            throw TrainingError("training loss or gradients became non-finite (NaN or infinite) at step \(step) of \(place); stopped, keeping the checkpoints before it")
        }
    }

    private func centralEpoch(_ epoch: Int) throws -> EpochTotals {
        try agreed {
            let plan = EpochPlan(splitCount: training.count, batch: config.batch, seed: config.seed, epoch: epoch)
            let totals = try replica.trainEpoch(training, plan: plan, stream: UInt64(epoch)) { try world.stopIfRequested() }
            try checkFinite(totals, "epoch \(epoch)")
            return totals
        }
    }

    /// `localEpochs` passes over one site's training data, continuing from
    /// the replica's current model and optimizer. Local training numbers the
    /// passes as the site's own epochs, so a site trains exactly as central
    /// training on its data alone would (same shuffles, same dropout masks).
    func visit(site: Int, round: Int) throws -> EpochTotals {
        var totals = EpochTotals()
        let table = siteTables[site]!
        for localEpoch in 0..<config.localEpochs {
            let stream = config.strategy == .local ? UInt64((round - 1) * config.localEpochs + localEpoch + 1)
                : (UInt64(round) << 32) | (UInt64(site) << 16) | UInt64(localEpoch)
            let plan = EpochPlan(splitCount: table.count, batch: config.batch, seed: config.seed, stream: stream)
            let pass = try replica.trainEpoch(table, plan: plan, stream: stream)
            try checkFinite(pass, "round \(round) at site \(site), local epoch \(localEpoch + 1)")
            totals.lossSum += pass.lossSum
            totals.correct += pass.correct
            totals.steps += pass.steps
        }
        return totals
    }

    /// FedAvg (FedProx with μ > 0): every site starts from the global model
    /// with a fresh Adam, trains its local epochs, and the new global model
    /// is the mean of the sites' models, batch-norm statistics included —
    /// uniform or weighted by training samples. One allreduce over the
    /// flat parameter buffer averages them all.
    private func federatedRound(_ round: Int) throws -> EpochTotals {
        let global = model.parameters.array
        let totalSamples = Double(participantSamples.values.reduce(0, +))
        var weighted = [Float](repeating: 0, count: global.count)
        let totals = try agreed { () -> EpochTotals in
            var totals = EpochTotals()
            for site in siteTables.keys.sorted() {
                try model.load(parameters: global)
                if config.fedBN, let own = siteBatchNorm[site] { writeBatchNorm(own) }
                replica.resetOptimizer()
                replica.proximal = config.proximalMu > 0 ? (global, Float(config.proximalMu)) : nil
                let visited = try visit(site: site, round: round)
                if config.fedBN { siteBatchNorm[site] = readBatchNorm() }
                totals.lossSum += visited.lossSum
                totals.correct += visited.correct
                totals.steps += visited.steps
                guard replica.communicator.rank == 0 else { continue }
                let share = config.aggregation == .uniform ? 1 / Double(participants.count)
                    : Double(siteTables[site]!.count) / totalSamples
                let p = model.parameters.data
                for i in weighted.indices { weighted[i] += Float(share) * p[i] }
            }
            return totals
        }
        let commStart = Clock.now
        try world.allreduce(&weighted, op: .sum)
        replica.time.communication += Clock.seconds(since: commStart)
        try model.load(parameters: weighted)
        replica.proximal = nil
        return totals
    }

    /// Travelling model: the model and its Adam state visit every site once
    /// per cycle, in an order reshuffled from the seed each cycle; after each
    /// visit the site's first rank hands both to every rank (one broadcast
    /// of the parameters, one of each Adam moment).
    private func travellingCycle(_ cycle: Int) throws -> EpochTotals {
        var order = participants
        var generator = SeededGenerator(seed: config.seed, stream: UInt64(cycle), "site order")
        order.deterministicShuffle(using: &generator)
        var totals = EpochTotals()
        for site in order {
            let visited = try agreed { siteTables[site] == nil ? EpochTotals() : try visit(site: site, round: cycle) }
            totals.lossSum += visited.lossSum
            totals.correct += visited.correct
            totals.steps += visited.steps
            let commStart = Clock.now
            let carrier = layout.hosts(of: site).lowerBound
            let optimizer = replica.optimizer
            for tensor in [model.parameters, optimizer.firstMoment, optimizer.secondMoment] {
                try world.broadcast(UnsafeMutableBufferPointer(start: tensor.data, count: tensor.count), root: carrier)
            }
            let step = try world.broadcast(optimizer.step, root: carrier)
            try optimizer.load(firstMoment: optimizer.firstMoment.array, secondMoment: optimizer.secondMoment.array, step: step)
            replica.time.communication += Clock.seconds(since: commStart)
        }
        return totals
    }

    // MARK: FedBN

    private func readBatchNorm() -> [Float] {
        batchNormRanges.flatMap { UnsafeBufferPointer(start: model.parameters.data + $0.lowerBound, count: $0.count) }
    }

    private func writeBatchNorm(_ values: [Float]) {
        var offset = 0
        for range in batchNormRanges {
            for i in range { model.parameters[i] = values[offset + i - range.lowerBound] }
            offset += range.count
        }
    }

    // MARK: validation

    /// Precise batch norm: each rank of `communicator` runs its share of
    /// `table` through calibrate-mode forwards; one allreduce sums the statistics.
    func calibrateBatchNorm(on table: SplitTable, over communicator: Communicator) throws {
        model.beginBatchNormCalibration()
        try forEachShareChunk(of: table, over: communicator) { positions, images in
            model.forward(images, batch: positions.count, mode: .calibrate)
        }
        var sums = model.batchNormCalibrationSums
        let commStart = Clock.now
        try communicator.allreduce(&sums, op: .sum)
        replica.time.communication += Clock.seconds(since: commStart)
        model.finishBatchNormCalibration(sums: sums)
    }

    /// Runs `body` on this rank's even share of `table`, in chunks that fit
    /// every rank's model; every rank takes part in the same number of
    /// agreed loads. `positions` index the table.
    func forEachShareChunk(of table: SplitTable, over communicator: Communicator? = nil,
                           _ body: (_ positions: [Int], _ images: [Float]) throws -> Void) throws {
        let communicator = communicator ?? world
        let share = evenShare(of: table.count, rank: communicator.rank, size: communicator.size)
        let chunk = (config.batch + communicator.size - 1) / communicator.size
        let chunks = (evenShare(of: table.count, rank: 0, size: communicator.size).count + chunk - 1) / chunk
        var start = share.lowerBound
        for _ in 0..<chunks {
            let end = min(start + chunk, share.upperBound)
            let positions = Array(start..<end)
            let images = try communicator.unanimously { try loader.load(positions.map { table.indices[$0] }) }
            start = end
            if positions.isEmpty { continue }
            let computeStart = Clock.now
            try body(positions, images)
            replica.time.compute += Clock.seconds(since: computeStart)
        }
    }

    /// Weighted loss and accuracy of the current (global) model on the
    /// validation split, overall, per bias group and per site; each rank
    /// evaluates its share, one allreduce sums.
    private func validate() throws -> ValidationResult {
        let sites = layout.count
        // Per bucket (overall, groups, sites): Σ w·nll, correct, count.
        var totals = [Double](repeating: 0, count: 3 * (1 + groups + sites))
        try forEachShareChunk(of: validation) { positions, images in
            model.forward(images, batch: positions.count, mode: .eval)
            addValidationTotals(of: positions, in: validation, to: &totals)
        }
        let commStart = Clock.now
        try world.allreduce(&totals, op: .sum)
        replica.time.communication += Clock.seconds(since: commStart)
        return ValidationResult(totals: totals, groups: groups, sites: sites)
    }

    /// Adds the last eval-mode forward's weighted loss, hits and count for
    /// `positions` of `table` to the overall, group and site buckets.
    func addValidationTotals(of positions: [Int], in table: SplitTable, to totals: inout [Double]) {
        let k = model.configuration.classes
        for (n, position) in positions.enumerated() {
            let row = model.logits.data + n * k
            let label = table.labels[position]
            let largest = (0..<k).map { Double(row[$0]) }.max()!
            let logSumExp = largest + log((0..<k).reduce(0.0) { $0 + exp(Double(row[$1]) - largest) })
            let loss = Double(table.weights[position]) * (logSumExp - Double(row[label]))
            let predicted = (0..<k).max { row[$0] < row[$1] }!
            for bucket in [0, 1 + table.groups[position], 1 + groups + table.sites[position]] {
                totals[3 * bucket] += loss
                totals[3 * bucket + 1] += predicted == label ? 1 : 0
                totals[3 * bucket + 2] += 1
            }
        }
    }
}

/// Validation loss and accuracy, overall and per bucket (NaN for an empty bucket).
struct ValidationResult {
    var loss: Double, accuracy: Double
    var lossByGroup: [Double], accuracyByGroup: [Double]
    var lossBySite: [Double], accuracyBySite: [Double]

    init(totals: [Double], groups: Int, sites: Int) {
        func loss(_ bucket: Int) -> Double { totals[3 * bucket + 2] > 0 ? totals[3 * bucket] / totals[3 * bucket + 2] : .nan }
        func accuracy(_ bucket: Int) -> Double { totals[3 * bucket + 2] > 0 ? totals[3 * bucket + 1] / totals[3 * bucket + 2] : .nan }
        self.loss = loss(0)
        self.accuracy = accuracy(0)
        lossByGroup = (0..<groups).map { loss(1 + $0) }
        accuracyByGroup = (0..<groups).map { accuracy(1 + $0) }
        lossBySite = (0..<sites).map { loss(1 + groups + $0) }
        accuracyBySite = (0..<sites).map { accuracy(1 + groups + $0) }
    }

    static func empty(groups: Int, sites: Int) -> ValidationResult {
        ValidationResult(totals: [Double](repeating: 0, count: 3 * (1 + groups + sites)), groups: groups, sites: sites)
    }
}

/// Not enough disk space for the next checkpoint; the run stops before writing it.
public struct InsufficientSpace: Error, CustomStringConvertible, Sendable {
    public let directory: String
    public let free: Double, needed: Double
    public let lastCheckpoint: String?
    public var description: String {
        "disk full: " + String(format: "%.1f", free / 1_048_576) + " MiB free in \(directory), the next checkpoint needs "
            + String(format: "%.1f", needed / 1_048_576) + " MiB; stopped, "
            + (lastCheckpoint.map { "the last complete checkpoint /checkpoints/\($0) stays valid" } ?? "no checkpoint was written yet")
    }
}
