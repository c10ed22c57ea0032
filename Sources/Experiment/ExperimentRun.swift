import Cluster
import Foundation
import Storage
import Synthesis
import Training
import YAMLConfig

/// One counterfactual experiment in one folder: cohorts, arms trained,
/// evaluated, probed, reported. `simba run` runs one on the whole world;
/// `simba sweep` runs many, each on a group of ranks.
public struct ExperimentRun {
    public let cohort: CohortConfig
    public let cohortYAML: String
    public private(set) var training: TrainingConfig
    public let analysis: AnalysisConfig
    public let output: String
    public let title: String
    public var resume = false
    public var overwrite = false
    public var stall: StallGuard
    public var log: ExperimentLog
    /// Prefix of rank 0's lines and progress labels (a sweep names the experiment).
    public var label = ""
    /// `--layout GxR`: how the ranks are grouped; nil: simba chooses (`ExperimentLayout.automatic`).
    public var layout: String?

    public init(cohort: CohortConfig, cohortYAML: String, training: TrainingConfig, analysis: AnalysisConfig,
                output: String, title: String, resume: Bool = false, overwrite: Bool = false, stall: StallGuard,
                log: ExperimentLog, label: String = "") {
        self.cohort = cohort
        self.cohortYAML = cohortYAML
        self.training = training
        self.analysis = analysis
        self.output = output
        self.title = title
        self.resume = resume
        self.overwrite = overwrite
        self.stall = stall
        self.log = log
        self.label = label
    }

    public func path(_ name: String) -> String { (output as NSString).appendingPathComponent(name) }

    /// Checks the plan and the folder; every rank looks before rank 0
    /// writes experiment.yaml, so none sees the new file as an old one.
    /// Runs inside the folder's claim, so the folder is checked again once
    /// claimed (another job may have started an experiment there meanwhile).
    public func prepare(world: Communicator) throws {
        try world.unanimously { try check() }
        try world.unanimously {
            guard world.rank == 0 else { return }
            try (cohortYAML + "\n" + training.yaml + "\n" + analysis.yaml)
                .write(toFile: path("experiment.yaml"), atomically: true, encoding: .utf8)
        }
    }

    /// Every arm of every training replicate of cohort `cohort`: what can run side by side.
    func chains(cohort: Int = 1) -> [ArmChain] {
        ArmChain.all(arms: analysis.arms, replicates: (1...analysis.replicates).map { Replicate(cohort: cohort, training: $0) })
    }

    /// The grouping of a world of `ranks` ranks: `layout` if given, else simba's choice.
    public func layout(ranks: Int) throws -> ExperimentLayout {
        let count = chains().count
        try checkWholeSpatialGroups(of: training.spatial, ranks: ranks)
        return try layout.map { try ExperimentLayout.parse($0, chains: count, ranks: ranks, spatial: training.spatial) }
            ?? ExperimentLayout.automatic(chains: count, ranks: ranks, spatial: training.spatial)
    }

    private func check() throws {
        // Each arm's training, checked before any arm trains.
        for arm in analysis.arms {
            do { try armTraining(arm, .first).validate() } catch { throw ExperimentError("arm \(arm): \(error)") }
        }
        if analysis.arms.contains(ArmName.twin) && cohort.biases.isEmpty {
            throw ExperimentError("the cohort has no bias, so the twin arm would repeat the biased one: drop it from analysis.arms")
        }
        let manager = FileManager.default
        let marker = path("experiment.yaml")
        if manager.fileExists(atPath: marker) && !resume && !overwrite {
            throw ExperimentError("\(output) holds an experiment already: use --resume to continue it or --overwrite to replace it")
        }
        if resume && !manager.fileExists(atPath: marker) {
            throw ExperimentError("--resume: \(output) holds no experiment (no experiment.yaml)")
        }
        if resume {
            // The kept cohorts must be the ones this configuration describes.
            let recorded = try CohortConfig.read(try ConfigNode.load(file: marker))
            guard recorded == cohort else {
                throw ExperimentError("--resume: the cohort settings differ from those of the experiment in \(output) (experiment.yaml), whose cohorts would be kept: resume with the same settings, or use --overwrite to start again")
            }
        }
    }

    /// Runs every stage; returns the summary (on every rank).
    @discardableResult
    public func run(world: Communicator) throws -> ExperimentSummary {
        // Checked before the folder is made, so a refused plan leaves no folder behind.
        try world.unanimously { try check() }
        let layout = try world.unanimously { try self.layout(ranks: world.size) }
        // More ranks per group than the batch can share: simba shares each sample too
        // (central arms; a site strategy's batch is shared by a site's ranks, which the sites decide).
        var run = self
        if training.spatial == 1, let spatial = layout.automaticSpatial(
            batch: training.batch, everyRunCentral: analysis.arms.allSatisfy { armTraining($0, .first).strategy == .central }) {
            run.training.spatial = spatial
        }
        try world.unanimously {
            if world.rank == 0 { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
        }
        return try OutputClaim.holding([output], isFolder: true, command: "simba run", world: world) {
            try run.prepare(world: world)
            return try run.runStages(layout: layout, world: world)
        }
    }

    private func runStages(layout: ExperimentLayout, world: Communicator) throws -> ExperimentSummary {
        let runs = chains().map(\.arms.count).reduce(0, +)
        say(world, "layout \(layout): " + (layout.groups == 1
            ? "the \(runs) run\(runs == 1 ? "" : "s") (arms × replicates) one after another on all \(world.size) rank\(world.size == 1 ? "" : "s")"
            : "\(layout.groups) groups of ranks train and analyse the \(runs) runs (arms × replicates) side by side")
            + (training.spatial > 1 ? ", each training sample on \(training.spatial) ranks (spatial)" : "") + " (--layout to choose)")
        var runFiles: [ArmRunFile] = []
        for cohortReplicate in 1...analysis.cohortReplicates {
            let dataset = try generateCohorts(cohortReplicate, world: world)
            try runChains(chains(cohort: cohortReplicate), layout: layout, dataset: dataset, world: world)
            runFiles += (1...analysis.replicates).flatMap { training in
                let replicate = Replicate(cohort: cohortReplicate, training: training)
                return analysis.arms.map { ArmRunFile(name: $0, runFile: runFile(arm: $0, replicate), replicate: replicate) }
            }
        }
        let written = try world.unanimously { () -> [String] in
            guard world.rank == 0 else { return [] }
            return try Stages.report(arms: runFiles, report: path("report.html"), experiment: title,
                                     ranks: world.size, floors: analysis.floors)
        }
        let summary = try world.unanimously { try ExperimentSummary.read(from: path("summary.json")) }
        say(world, ResultText.headline(summary))
        say(world, "wrote \(written.joined(separator: ", "))")
        return summary
    }

    private func say(_ world: Communicator, _ text: String) { if world.rank == 0 { log.say(label + text) } }

    /// The biased cohort of a cohort replicate: dataset.h5, dataset-c2.h5, …
    public func datasetPath(cohortReplicate: Int) -> String {
        path("dataset\(Replicate(cohort: cohortReplicate).suffix).h5")
    }

    /// run-ARM.h5 for the first replicate, run-ARM-r2.h5, run-ARM-c2.h5, … for the others.
    public func runFile(arm: String, _ replicate: Replicate) -> String { path("run-\(arm)\(replicate.suffix).h5") }

    /// Generates (or, resuming, keeps) one cohort replicate's biased cohort
    /// and, with a twin arm, its twin; returns the biased cohort's path.
    private func generateCohorts(_ cohortReplicate: Int, world: Communicator) throws -> String {
        let dataset = datasetPath(cohortReplicate: cohortReplicate)
        let wantsTwin = analysis.arms.contains(ArmName.twin)
        let haveCohorts = try world.unanimously {
            FileManager.default.fileExists(atPath: dataset)
                && (!wantsTwin || FileManager.default.fileExists(atPath: CohortGeneration.twinPath(for: dataset)))
        }
        if resume && haveCohorts {
            say(world, "keeping \(dataset)" + (wantsTwin ? " and \(CohortGeneration.twinPath(for: dataset))" : ""))
            return dataset
        }
        var config = cohort, yaml = cohortYAML
        if cohortReplicate > 1 {
            config.seed = Replicate(cohort: cohortReplicate).cohortSeed(cohort.seed)
            yaml = config.yaml(title: "\(title), cohort replicate \(cohortReplicate) (seed \(config.seed))")
        }
        try CohortGeneration(config: config, yaml: yaml, output: dataset, twin: wantsTwin,
                             overwrite: overwrite || resume, stall: stall, log: log).run(world: world)
        return dataset
    }

    /// Trains and analyses every chain of runs (one cohort's): one after
    /// another on the whole world, or dealt round-robin to the layout's
    /// groups of ranks, side by side.
    private func runChains(_ chains: [ArmChain], layout: ExperimentLayout, dataset: String, world: Communicator) throws {
        guard layout.groups > 1 else {
            for chain in chains { try runArms(chain, dataset: dataset, world: world) }
            return
        }
        let group = layout.group(ofRank: world.rank)
        guard let mine = try world.split(color: group, key: world.rank) else {
            throw ExperimentError("internal error: rank \(world.rank) joined no group of the layout")
        }
        try world.agreeing(afterSubgroups: {
            for (index, chain) in chains.enumerated() where index % layout.groups == group {
                try runArms(chain, dataset: dataset, world: mine)
            }
        })
        try mine.free()
    }

    /// The training of one arm of a replicate: the experiment's, with the
    /// arm's strategy or mitigation and its training seed.
    func armTraining(_ arm: String, _ replicate: Replicate) -> TrainingConfig {
        var config = training
        config.seed = replicate.trainingSeed(training.seed)
        if arm == ArmName.reweighed { config.reweighing = true }
        if arm == ArmName.groupModels {
            // Pretrained on everyone (the biased arm's best model), then
            // one copy per bias group fine-tuned on that group alone.
            config.strategy = .local
            config.partition = .biasGroup
            config.sites = 0
            config.siteSamples = 0
            config.initializeFrom = runFile(arm: ArmName.biased, replicate)
        }
        if arm == ArmName.unlearning {
            // The biased arm's best model, then the adversary's head epochs and unlearning.
            config.unlearn = .bias
            config.initializeFrom = runFile(arm: ArmName.biased, replicate)
        }
        if arm == ArmName.harmonytm {
            // The travelling arm's best model, then the site adversary's head cycles and unlearning.
            config.strategy = .travelling
            config.unlearn = .site
            config.initializeFrom = runFile(arm: ArmName.travelling, replicate)
        }
        if ArmName.strategies.contains(arm), let strategy = TrainingStrategy(rawValue: arm) {
            config.strategy = strategy
        }
        return config
    }

    /// One chain of a replicate's arms: each trained, evaluated on its own
    /// cohort and on the counterfactual one, probed and (first replicate) mapped.
    private func runArms(_ chain: ArmChain, dataset: String, world: Communicator) throws {
        let replicate = chain.replicate
        let twinDataset = CohortGeneration.twinPath(for: dataset)
        let hasTwin = analysis.arms.contains(ArmName.twin)
        let name = { (arm: String) in replicate == .first ? arm : "\(arm) (\(replicate))" }
        for arm in chain.arms {
            let config = armTraining(arm, replicate)
            try world.unanimously { try config.validate() }
            let data = arm == ArmName.twin ? twinDataset : dataset
            // The same subjects with the bias (twin arm) or without it (every other arm).
            let otherCohort: String? = hasTwin ? (arm == ArmName.twin ? dataset : twinDataset) : nil
            let runFile = runFile(arm: arm, replicate)
            let exists = try world.unanimously { FileManager.default.fileExists(atPath: runFile) }
            try TrainingStage.train(TrainingRun(config: config, datasetPath: data, runPath: runFile,
                                                resume: resume && exists, overwrite: overwrite),
                                    world: world, label: label + name(arm), stall: stall, log: log)
            guard config.strategy != .local else {
                // One model per site (or bias group): evaluated as deployed, from its cross-site matrix.
                let stored = try stall.writing([runFile], command: "simba run", world: world, unit: "stage") { _ in
                    try Stages.evaluateLocal(runFile: runFile, settings: analysis.bootstrapSettings, world: world)
                }
                say(world, "\(name(arm)): test metrics (\(stored.checkpoint))\n" + ResultText.table(stored.byGroup))
                continue
            }
            // Evaluation, probes and maps write into the run file: claimed and watched like training.
            try stall.writing([runFile], command: "simba run", world: world, unit: "stage") { _ in
                try analyse(arm: name(arm), runFile: runFile, otherCohort: otherCohort,
                            biasedImages: arm == ArmName.twin ? dataset : nil, mapSaliency: replicate == .first, world: world)
            }
        }
    }

    /// The analysis stages of one trained arm; a resumed experiment keeps
    /// what is current for the run's checkpoint.
    /// `biasedImages` (the twin arm): the biased cohort, whose test images
    /// the twin's model is also probed on — the bias in the input, the
    /// model never trained on it.
    private func analyse(arm: String, runFile: String, otherCohort: String?, biasedImages: String?, mapSaliency: Bool,
                         world: Communicator) throws {
        let done = try world.unanimously {
            resume ? try FinishedStages.read(runFile: runFile, analysis: analysis, otherCohort: otherCohort,
                                             biasedImages: biasedImages) : FinishedStages()
        }
        if done.evaluation {
            let onBiased = biasedImages == nil ? "" : "\(done.encodingOnBiasedImages ? "" : "not ")its encoding on the biased images, "
            say(world, "\(arm): keeping its evaluation, \(done.encoding ? "" : "not ")its encoding, \(onBiased)\(done.saliency ? "" : "not ")its saliency maps")
        } else {
            try world.stopIfRequested()
            let stored = try Stages.evaluate(runFile: runFile, checkpoint: analysis.checkpoint,
                                             settings: analysis.bootstrapSettings, world: world)
            say(world, "\(arm): test metrics (\(stored.checkpoint))\n" + ResultText.table(stored.byGroup))
        }
        if let otherCohort, !done.otherCohortEvaluation {
            try world.stopIfRequested()
            let stored = try Stages.evaluate(runFile: runFile, dataset: otherCohort, checkpoint: analysis.checkpoint,
                                             settings: analysis.bootstrapSettings, world: world)
            say(world, "\(arm): on the other cohort's test images (\((otherCohort as NSString).lastPathComponent))\n"
                + ResultText.table(stored.byGroup))
        }
        if analysis.probes && !done.encoding {
            try world.stopIfRequested()
            let table = try Stages.probe(runFile: runFile, checkpoint: analysis.checkpoint, folds: analysis.folds,
                                         seed: analysis.seed, memoryMiB: analysis.probeMemoryMiB, world: world)
            say(world, "\(arm): encoding\n" + ResultText.encoding(table))
        }
        if analysis.probes, let biasedImages, !done.encodingOnBiasedImages {
            try world.stopIfRequested()
            let table = try Stages.probe(runFile: runFile, dataset: biasedImages, checkpoint: analysis.checkpoint,
                                         folds: analysis.folds, seed: analysis.seed, memoryMiB: analysis.probeMemoryMiB,
                                         world: world)
            say(world, "\(arm): encoding on the biased images (bias in the input, model never trained on it)\n"
                + ResultText.encoding(table))
        }
        if mapSaliency && analysis.saliency > 0 && !done.saliency {
            try world.stopIfRequested()
            let maps = try Stages.saliency(runFile: runFile, checkpoint: analysis.checkpoint, perCell: analysis.saliency,
                                           threshold: Float(analysis.saliencyThreshold),
                                           niftiFolder: path("saliency-\(arm)"), world: world)
            say(world, "\(arm): " + ResultText.saliency(maps))
        }
    }
}
