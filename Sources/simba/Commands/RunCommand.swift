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
            of the 'analysis:' section (biased, twin, reweighed, unlearning, group-models) with the same \
            seeds, splits and batch order, evaluates each on the test split, \
            probes where the bias is encoded, and writes into OUTDIR: \
            dataset.h5, dataset-nobias.h5, run-ARM.h5, report.html, \
            summary.json, tables.csv, experiment.yaml and the mean saliency \
            maps as NIfTI in saliency-ARM/. --resume continues \
            a stopped experiment: finished cohorts are kept and training \
            resumes from the latest complete checkpoints. With 4 ranks or \
            more the arms and replicates run side by side on groups of \
            ranks (printed as the layout; --layout chooses another).

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
    @Option(help: "Override the ranks that train each sample together, each on a slab (1: off).") var spatial: Int?
    @Option(help: ArgumentHelp("Group the ranks: G groups of R ranks run the arms and replicates side by side (1xN: one after another on all N).",
                               valueName: "GxR")) var layout: String?

    func validate() throws {
        if resume && overwrite { throw ValidationError("give --resume or --overwrite, not both") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let spatial, spatial < 1 { throw ValidationError("--spatial must be at least 1, got \(spatial)") }
    }

    func run(world: Communicator) throws {
        let experiment = try world.unanimously { () -> ExperimentRun in
            var training = try source.trainingConfig()
            try TrainingConfig.schema.override("epochs", with: epochs, in: &training)
            try TrainingConfig.schema.override("spatial", with: spatial, in: &training)
            var analysis = try source.analysisConfig()
            try AnalysisConfig.schema.override("arms", with: arms, in: &analysis)
            try analysis.validate()
            let cohort = try source.cohortConfig()
            var run = ExperimentRun(cohort: cohort, cohortYAML: source.describedYAML(cohort), training: training,
                                    analysis: analysis, output: output, title: source.config ?? "preset \(source.preset ?? "")",
                                    resume: resume, overwrite: overwrite, stall: stall.watchdog, log: TerminalLog())
            run.layout = layout
            return run
        }
        try experiment.run(world: world)
    }
}
