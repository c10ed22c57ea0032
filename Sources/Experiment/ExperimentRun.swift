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
    public let training: TrainingConfig
    public let analysis: AnalysisConfig
    public let output: String
    public let title: String
    public var resume = false
    public var overwrite = false
    public var stall: StallGuard
    public var log: ExperimentLog
    /// Prefix of rank 0's lines and progress labels (a sweep names the experiment).
    public var label = ""

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

    private func check() throws {
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
        try world.unanimously {
            if world.rank == 0 { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
        }
        return try OutputClaim.holding([output], isFolder: true, command: "simba run", world: world) {
            try prepare(world: world)
            return try runStages(world: world)
        }
    }

    private func runStages(world: Communicator) throws -> ExperimentSummary {
        let say: (String) -> Void = { text in if world.rank == 0 { log.say(label + text) } }
        let dataset = path("dataset.h5")
        let wantsTwin = analysis.arms.contains(ArmName.twin)
        let haveCohorts = try world.unanimously {
            FileManager.default.fileExists(atPath: dataset)
                && (!wantsTwin || FileManager.default.fileExists(atPath: CohortGeneration.twinPath(for: dataset)))
        }
        if !(resume && haveCohorts) {
            try CohortGeneration(config: cohort, yaml: cohortYAML, output: dataset, twin: wantsTwin,
                                 overwrite: overwrite || resume, stall: stall, log: log).run(world: world)
        } else {
            say("keeping \(dataset)" + (wantsTwin ? " and \(CohortGeneration.twinPath(for: dataset))" : ""))
        }
        var runFiles: [(name: String, runFile: String)] = []
        for arm in analysis.arms {
            var config = training
            if arm == ArmName.reweighed { config.reweighing = true }
            if arm == ArmName.groupModels {
                // Pretrained on everyone (the biased arm's best model), then
                // one copy per bias group fine-tuned on that group alone.
                config.strategy = .local
                config.partition = .biasGroup
                config.sites = 0
                config.initializeFrom = path("run-\(ArmName.biased).h5")
            }
            if ArmName.strategies.contains(arm), let strategy = TrainingStrategy(rawValue: arm) {
                config.strategy = strategy
            }
            try world.unanimously { try config.validate() }
            let data = arm == ArmName.twin ? CohortGeneration.twinPath(for: dataset) : dataset
            let runFile = path("run-\(arm).h5")
            let exists = try world.unanimously { FileManager.default.fileExists(atPath: runFile) }
            try TrainingStage.train(TrainingRun(config: config, datasetPath: data, runPath: runFile,
                                                resume: resume && exists, overwrite: overwrite),
                                    world: world, label: label + arm, stall: stall, log: log)
            guard config.strategy != .local else {
                // One model per site (or bias group): evaluated as deployed, from its cross-site matrix.
                let stored = try stall.writing([runFile], command: "simba run", world: world, unit: "stage") { _ in
                    try Stages.evaluateLocal(runFile: runFile, settings: analysis.bootstrapSettings, world: world)
                }
                say("\(arm): test metrics (\(stored.checkpoint))\n" + ResultText.table(stored.byGroup))
                runFiles.append((arm, runFile))
                continue
            }
            // Evaluation, probes and maps write into the run file: claimed and watched like training.
            try stall.writing([runFile], command: "simba run", world: world, unit: "stage") { _ in
                // A resumed experiment keeps what is current for the run's checkpoint.
                let done = try world.unanimously { resume ? try FinishedStages.read(runFile: runFile, analysis: analysis) : FinishedStages() }
                if done.evaluation {
                    say("\(arm): keeping its evaluation, \(done.encoding ? "" : "not ")its encoding, \(done.saliency ? "" : "not ")its saliency maps")
                } else {
                    try world.stopIfRequested()
                    let stored = try Stages.evaluate(runFile: runFile, checkpoint: analysis.checkpoint,
                                                     settings: analysis.bootstrapSettings, world: world)
                    say("\(arm): test metrics (\(stored.checkpoint))\n" + ResultText.table(stored.byGroup))
                }
                if analysis.probes && !done.encoding {
                    try world.stopIfRequested()
                    let table = try Stages.probe(runFile: runFile, checkpoint: analysis.checkpoint, folds: analysis.folds,
                                                 seed: analysis.seed, memoryMiB: analysis.probeMemoryMiB, world: world)
                    say("\(arm): encoding\n" + ResultText.encoding(table))
                }
                if analysis.saliency > 0 && !done.saliency {
                    try world.stopIfRequested()
                    let maps = try Stages.saliency(runFile: runFile, checkpoint: analysis.checkpoint, perCell: analysis.saliency,
                                                   threshold: Float(analysis.saliencyThreshold),
                                                   niftiFolder: path("saliency-\(arm)"), world: world)
                    say("\(arm): " + ResultText.saliency(maps))
                }
            }
            runFiles.append((arm, runFile))
        }
        let written = try world.unanimously { () -> [String] in
            guard world.rank == 0 else { return [] }
            return try Stages.report(arms: runFiles, report: path("report.html"), experiment: title,
                                     ranks: world.size)
        }
        let summary = try world.unanimously { try ExperimentSummary.read(from: path("summary.json")) }
        say(ResultText.headline(summary))
        say("wrote \(written.joined(separator: ", "))")
        return summary
    }
}
