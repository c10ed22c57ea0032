import ArgumentParser
import Cluster
import Experiment
import Foundation
import Storage
import Training

struct TrainCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the SimBA CNN across the ranks: central, federated, travelling model or local (one model per site).",
        discussion: """
            The configuration's 'training:' section (or the training that goes \
            with a preset) sets the model, batch, learning rate and early \
            stopping. Metrics per epoch and checkpoints (latest and best, each \
            marked complete only once every rank's part is on disk) go to the \
            run file; --resume continues its latest complete checkpoint on the \
            same rank count, bit for bit as if never stopped (a larger \
            --epochs continues a finished run). Federated, travelling and local \
            runs split the data into sites (the dataset's, --sites N \
            simulated ones, or the training split in tiny sites of \
            --site-samples N images each); ranks host sites in turn, or a site spans several \
            ranks. With --spatial P each sample trains on P ranks together, each \
            holding a slab of the volume (halo exchange, the late blocks \
            gathered); batches are dealt to the groups of P, and sites to them. Local runs end with a cross-site matrix (every site's best \
            model on every site's test split), printed and stored in the run file.

            Example:
              mpirun -q -np 4 simba train experiment.yaml --data dataset.h5 -o run.h5
              simba train --preset tiny --data tiny.h5 -o run.h5 --epochs 2
              mpirun -q -np 2 simba train --preset tiny --data tiny.h5 -o fed.h5 --strategy federated --sites 3

            Exit codes: 0 done; 1 error (one line); 64 bad command line; \
            69 a rank stalled (named; after --stall-timeout seconds without \
            progress); 75 stopped by SIGTERM, SIGINT or SIGUSR1 after the \
            last complete checkpoint (continue with --resume).
            """)
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var source: ConfigSource
    @OptionGroup var stall: StallOptions
    @Option(help: "Dataset file written by 'simba generate'.") var data: String = "dataset.h5"
    @Option(name: .shortAndLong, help: "Run file for metrics and checkpoints.") var output: String = "run.h5"
    @Flag(help: "Continue from the latest complete checkpoint in the run file.") var resume = false
    @Flag(help: "Replace an existing run file.") var overwrite = false
    @Option(help: "Override the most epochs to run.") var epochs: Int?
    @Option(help: "Override the global batch (summed over all ranks).") var batch: Int?
    @Option(help: "Override the learning rate.") var lr: Double?
    @Option(help: "Override the strategy (\(TrainingStrategy.allCases.map(\.rawValue).joined(separator: ", "))).")
    var strategy: String?
    @Option(help: "Override the number of simulated sites (0: the dataset's sites).") var sites: Int?
    @Option(help: "Override the training samples per simulated tiny site (0: off).") var siteSamples: Int?
    @Option(help: "Override the ranks that train each sample together, each on a slab (1: off).") var spatial: Int?

    func validate() throws {
        if resume && overwrite { throw ValidationError("give --resume or --overwrite, not both") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive, got \(lr)") }
        if let sites, sites < 0 { throw ValidationError("--sites must be 0 or more, got \(sites)") }
        if let siteSamples, siteSamples < 0 { throw ValidationError("--site-samples must be 0 or more, got \(siteSamples)") }
        if let spatial, spatial < 1 { throw ValidationError("--spatial must be at least 1, got \(spatial)") }
        if let strategy, TrainingStrategy(rawValue: strategy) == nil {
            throw ValidationError("--strategy must be one of \(TrainingStrategy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(strategy)'")
        }
    }

    /// The training configuration with the command line's overrides applied.
    func trainingConfig() throws -> TrainingConfig {
        var config = try source.trainingConfig()
        try TrainingConfig.schema.override("epochs", with: epochs, in: &config)
        try TrainingConfig.schema.override("batch", with: batch, in: &config)
        try TrainingConfig.schema.override("learning_rate", with: lr, in: &config)
        try TrainingConfig.schema.override("strategy", with: strategy, in: &config)
        try TrainingConfig.schema.override("sites", with: sites, in: &config)
        try TrainingConfig.schema.override("site_samples", with: siteSamples, in: &config)
        try TrainingConfig.schema.override("spatial", with: spatial, in: &config)
        try config.validate()
        return config
    }

    func run(world: Communicator) throws {
        let config = try world.unanimously { () throws -> TrainingConfig in
            try OutputFolder.check(for: output)
            return try trainingConfig()
        }
        let run = TrainingRun(config: config, datasetPath: data, runPath: output, resume: resume, overwrite: overwrite)
        try TrainingStage.train(run, world: world, label: "train", stall: stall.watchdog, log: TerminalLog())
    }
}
