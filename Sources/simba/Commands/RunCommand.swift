import ArgumentParser
import Cluster
import Experiment
import Foundation
import Synthesis
import Training
import YAMLConfig

struct RunCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a whole counterfactual bias experiment: generate, train, evaluate, probe, report.",
        discussion: """
            Generates the biased cohort and its no-bias twin, trains every arm \
            of the 'analysis:' section (biased, twin, reweighed, group-models) with the same \
            seeds, splits and batch order, evaluates each on the test split, \
            probes where the bias is encoded, and writes into OUTDIR: \
            dataset.h5, dataset-nobias.h5, run-ARM.h5, report.html, \
            summary.json, tables.csv, experiment.yaml and the mean saliency \
            maps as NIfTI in saliency-ARM/. --resume continues \
            a stopped experiment: finished cohorts are kept and training \
            resumes from the latest complete checkpoints.

            Example:
              mpirun -q -np 2 simba run --preset quickstart -o out
              mpirun -q -np 8 simba run experiment.yaml -o results/exp1 --resume
            """)
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var source: ConfigSource
    @OptionGroup var stall: StallOptions
    @Option(name: .shortAndLong, help: "Output folder.") var output: String = "out"
    @Flag(help: "Continue the experiment in OUTDIR (kept cohorts, training from the latest checkpoints).") var resume = false
    @Flag(help: "Replace the experiment in OUTDIR.") var overwrite = false
    @Option(help: "Override the most epochs per arm.") var epochs: Int?
    @Option(help: "Override the arms (comma-separated: \(ArmName.all.joined(separator: ", "))).") var arms: String?

    func validate() throws {
        if resume && overwrite { throw ValidationError("give --resume or --overwrite, not both") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    }

    func run(world: Communicator) throws {
        let experiment = try world.unanimously { () -> ExperimentRun in
            var training = try source.trainingConfig()
            try TrainingConfig.schema.override("epochs", with: epochs, in: &training)
            var analysis = try source.analysisConfig()
            try AnalysisConfig.schema.override("arms", with: arms, in: &analysis)
            try analysis.validate()
            let cohort = try source.cohortConfig()
            return ExperimentRun(cohort: cohort, cohortYAML: source.describedYAML(cohort), training: training,
                                 analysis: analysis, output: output, title: source.config ?? "preset \(source.preset ?? "")",
                                 resume: resume, overwrite: overwrite, stall: stall)
        }
        try experiment.run(world: world)
    }
}

/// One counterfactual experiment in one folder: cohorts, arms trained,
/// evaluated, probed, reported. `simba run` runs one on the whole world;
/// `simba sweep` runs many, each on a group of ranks.
struct ExperimentRun {
    let cohort: CohortConfig
    let cohortYAML: String
    let training: TrainingConfig
    let analysis: AnalysisConfig
    let output: String
    let title: String
    var resume = false
    var overwrite = false
    var stall: StallOptions
    /// Prefix of rank 0's lines (a sweep names the experiment).
    var label = ""

    func path(_ name: String) -> String { (output as NSString).appendingPathComponent(name) }

    /// Checks the plan and the folder; every rank looks before rank 0
    /// writes experiment.yaml, so none sees the new file as an old one.
    func prepare(world: Communicator) throws {
        try world.unanimously { try check() }
        try world.unanimously {
            guard world.rank == 0 else { return }
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
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
    func run(world: Communicator) throws -> ExperimentSummary {
        try prepare(world: world)
        let say: (String) -> Void = { text in if world.rank == 0 { print(label + text) } }
        let dataset = path("dataset.h5")
        let wantsTwin = analysis.arms.contains(ArmName.twin)
        let haveCohorts = try world.unanimously {
            FileManager.default.fileExists(atPath: dataset)
                && (!wantsTwin || FileManager.default.fileExists(atPath: CohortGeneration.twinPath(for: dataset)))
        }
        if !(resume && haveCohorts) {
            try CohortGeneration(config: cohort, yaml: cohortYAML, output: dataset, twin: wantsTwin,
                                 overwrite: overwrite || resume).run(world: world)
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
                // Precise batch norm would pool the sites' data (local calibrates each site on its own).
                if strategy == .federated || strategy == .travelling { config.batchNormCalibration = false }
            }
            try world.unanimously { try config.validate() }
            let data = arm == ArmName.twin ? CohortGeneration.twinPath(for: dataset) : dataset
            let runFile = path("run-\(arm).h5")
            let exists = try world.unanimously { FileManager.default.fileExists(atPath: runFile) }
            _ = try TrainCommand.train(TrainingRun(config: config, datasetPath: data, runPath: runFile,
                                                   resume: resume && exists, overwrite: overwrite),
                                       world: world, label: label + arm, stall: stall)
            guard config.strategy != .local else {
                // One model per site (or bias group): evaluated as deployed, from its cross-site matrix.
                let stored = try Stages.evaluateLocal(runFile: runFile, settings: analysis.bootstrapSettings, world: world)
                say("\(arm): test metrics (\(stored.checkpoint))\n" + ResultText.table(stored.byGroup))
                runFiles.append((arm, runFile))
                continue
            }
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
            runFiles.append((arm, runFile))
        }
        let written = try world.unanimously { () -> [String] in
            guard world.rank == 0 else { return [] }
            return try ReportCommand.write(arms: runFiles, report: path("report.html"), experiment: title,
                                           ranks: world.size)
        }
        let summary = try world.unanimously { try ExperimentSummary.read(from: path("summary.json")) }
        say(ResultText.headline(summary))
        say("wrote \(written.joined(separator: ", "))")
        return summary
    }
}

extension ResultText {
    /// The counterfactual comparison in a few lines.
    static func headline(_ summary: ExperimentSummary) -> String {
        guard !summary.comparisons.isEmpty else { return "no comparison (one arm only)" }
        func text(_ cell: MetricTable.Cell) -> String {
            guard let e = cell.estimate else { return "–" }
            guard let l = cell.lower, let u = cell.upper else { return String(format: "%+.3f", e) }
            return String(format: "%+.3f [%+.3f, %+.3f]", e, l, u)
        }
        return summary.comparisons.map { c in
            "\(c.arm) vs \(c.against), \(c.group) − \(c.reference): \(c.metric) \(text(c.armDisparity)) vs \(text(c.againstDisparity)); difference \(text(c.difference))"
                + (c.difference.excludesZero ? " (beyond the interval)" : "")
        }.joined(separator: "\n")
    }
}
