import ArgumentParser
import Cluster
import Experiment
import Foundation
import Synthesis
import Training

struct SweepCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run one counterfactual experiment per value of a factor (proximity, salience, prevalence, site_samples), experiment-parallel.",
        discussion: """
            The configuration's 'sweep:' section (or --factor and --values) \
            names the factor of one bias and its values; each value is a whole \
            experiment as 'simba run' makes it, in OUTDIR/NN-FACTOR-VALUE/. \
            The world is split into --groups groups of ranks (default: as many \
            as experiments, at most one per rank); each group runs its share, \
            then rank 0 gathers one table into OUTDIR/sweep.h5, sweep.csv and \
            sweep.html. --layout GxR splits each group again for its \
            experiments' arms and replicates, as 'simba run --layout' does \
            (e.g. --groups 1 --layout 2x1: the experiments one after another, \
            each one's runs on two single ranks). For a Slurm job array, run each task with --only K \
            (0-based) and finish with --merge.

            Example:
              mpirun -q -np 4 simba sweep sweep.yaml -o sweep/
              mpirun -q -np 2 simba sweep --preset quickstart --factor salience --values 0.5,1,2 -o salience/
              mpirun -q -np 2 simba sweep --preset tiny-sites -o tiny-sites/ --groups 1 --layout 2x1
              simba sweep sweep.yaml -o sweep/ --only 3        # one experiment (an array task)
              simba sweep sweep.yaml -o sweep/ --merge         # the table, once all are done
            """)
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var source: ConfigSource
    @OptionGroup var stall: StallOptions
    @Option(name: .shortAndLong, help: "Output folder.") var output: String = "sweep"
    @Option(help: "Override the factor (\(SweepFactor.allCases.map(\.rawValue).joined(separator: ", "))).") var factor: String?
    @Option(help: "Override the values (comma-separated).") var values: String?
    @Option(help: "Groups of ranks running experiments side by side.") var groups: Int?
    @Option(help: ArgumentHelp("Inside each experiment, G groups of R ranks (R × G: a sweep group's ranks) run its arms and replicates side by side.",
                               valueName: "GxR")) var layout: String?
    @Option(help: "Run only experiment K (0-based), e.g. a job-array task.") var only: Int?
    @Flag(help: "Only gather the finished experiments' table.") var merge = false
    @Flag(help: "Continue the experiments in OUTDIR.") var resume = false
    @Flag(help: "Replace the experiments in OUTDIR.") var overwrite = false
    @Option(help: "Override the most epochs per arm.") var epochs: Int?

    func validate() throws {
        if resume && overwrite { throw ValidationError("give --resume or --overwrite, not both") }
        if let factor, SweepFactor(rawValue: factor) == nil {
            throw ValidationError("--factor must be one of \(SweepFactor.allCases.map(\.rawValue).joined(separator: ", ")), got '\(factor)'")
        }
        if let groups, groups < 1 { throw ValidationError("--groups must be at least 1, got \(groups)") }
        if let only, only < 0 { throw ValidationError("--only must be 0 or more, got \(only)") }
        if merge && only != nil { throw ValidationError("give --only or --merge, not both") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    }

    func run(world: Communicator) throws {
        let training = try world.unanimously { () -> TrainingConfig in
            var training = try source.trainingConfig()
            try TrainingConfig.schema.override("epochs", with: epochs, in: &training)
            return training
        }
        let (plan, experiments) = try world.unanimously { () -> (SweepConfig, [SweepExperiment]) in
            var plan = try source.sweepConfig() ?? SweepConfig()
            if let factor { plan.factor = SweepFactor(rawValue: factor)! }
            if let values { plan.values = values.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            guard !plan.values.isEmpty else {
                throw ExperimentError("nothing to sweep: add a 'sweep:' section (factor, values) or give --factor and --values")
            }
            let experiments = try plan.experiments(base: try source.cohortConfig(), training: training)
            if let only, only >= experiments.count {
                throw ExperimentError("--only \(only): the sweep has experiments 0 to \(experiments.count - 1)")
            }
            return (plan, experiments)
        }
        let analysis = try world.unanimously { merge ? AnalysisConfig() : try source.analysisConfig() }
        var sweep = SweepRun(plan: plan, experiments: experiments, analysis: analysis, output: output,
                             resume: resume, overwrite: overwrite, stall: stall.watchdog, log: TerminalLog())
        sweep.experimentLayout = layout
        if !merge {
            try sweep.runExperiments(only.map { [$0] }, groups: groups, world: world)
            if only != nil { return }
            // Every group's experiments finish before rank 0 reads their summaries.
            try world.barrier()
        }
        let written = try sweep.merge(world: world)
        if world.rank == 0 { print("wrote \(written.joined(separator: ", "))") }
    }
}
