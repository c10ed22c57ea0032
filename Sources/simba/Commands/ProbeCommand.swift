import ArgumentParser
import Cluster
import Experiment

struct ProbeCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Measure where in the network the bias is encoded (layer-wise probes) and where it looks (saliency).",
        discussion: """
            Each block's test-set activations (and the pooled features) → PCA \
            keeping 99% of the variance → logistic regression predicting the \
            bias label and the disease label, cross-validated; ranks share the \
            layers; each probe's sample count, power and Holm-adjusted p-value \
            (over the layers) are stored with it. Results go to the run \
            file's /encoding; with --data OTHER.h5 (another cohort's test \
            images, e.g. the twin's model on the biased cohort), to \
            /encoding_biased_images or /encoding_twin_images, by what the \
            other images are, never replacing /encoding. With --saliency N \
            (after 'simba evaluate'), SmoothGrad maps of up to N correctly \
            classified test images per bias group and outcome are averaged \
            and scored per atlas region into /saliency (--nifti DIR also \
            writes the mean maps as NIfTI).

            Example:
              mpirun -q -np 2 simba probe run.h5
              mpirun -q -np 2 simba probe run-twin.h5 --data dataset.h5
              mpirun -q -np 2 simba probe run.h5 --saliency 10 --nifti saliency/
            """)
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var trained: TrainedRunOptions
    @OptionGroup var stall: StallOptions
    @Option(help: "Cross-validation folds.") var folds: Int = 5
    @Option(name: .customLong("memory-mib"), help: "Memory (MiB) for one layer's test-set activations; a layer that needs more is average-pooled until it fits.")
    var memoryMiB: Int = AnalysisConfig().probeMemoryMiB
    @Option(help: "Saliency maps of up to N correct test images per bias group and outcome (0: none).") var saliency: Int = 0
    @Option(help: "Lower threshold on mean saliency maps before region scoring.") var saliencyThreshold: Double = 0.2
    @Option(help: "Folder for the mean saliency maps as NIfTI.") var nifti: String?

    func validate() throws {
        if folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
        if memoryMiB < 1 { throw ValidationError("--memory-mib must be at least 1, got \(memoryMiB)") }
        if saliency < 0 { throw ValidationError("--saliency must be 0 or more, got \(saliency)") }
        if !(0..<1).contains(saliencyThreshold) { throw ValidationError("--saliency-threshold must be in [0, 1), got \(saliencyThreshold)") }
        if nifti != nil && saliency == 0 { throw ValidationError("--nifti needs --saliency N") }
    }

    func run(world: Communicator) throws {
        try stall.watchdog.writing([trained.run], into: true, command: "simba probe", world: world, unit: "stage") { watchdog in
            let table = try Stages.probe(runFile: trained.run, dataset: trained.data, checkpoint: trained.checkpoint,
                                         folds: folds, memoryMiB: memoryMiB, world: world)
            let section = try world.unanimously {
                try Stages.encodingSection(of: trained.data, for: TrainedRun.read(path: trained.run, link: trained.checkpoint))
            }
            if world.rank == 0 {
                print(ResultText.encoding(table))
                print("stored in \(trained.run): /\(section.rawValue)")
            }
            watchdog?.beat(step: 1)
            if saliency > 0 {
                let maps = try Stages.saliency(runFile: trained.run, dataset: trained.data, checkpoint: trained.checkpoint,
                                               perCell: saliency, threshold: Float(saliencyThreshold), niftiFolder: nifti,
                                               world: world)
                if world.rank == 0 { print(ResultText.saliency(maps)) }
            }
        }
    }
}
