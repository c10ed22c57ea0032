import ArgumentParser
import Cluster
import Experiment
import Synthesis

struct GenerateCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Synthesise a cohort with known biases into one HDF5 file (all ranks in parallel).",
        discussion: """
            Each rank makes its share of the samples; the file is written \
            collectively and appears under its name only when complete. \
            With --twin the counterfactual no-bias twin is written beside it \
            (dataset.h5 → dataset-nobias.h5): the same subjects, coefficients, \
            splits and noise, without the bias.

            Example:
              mpirun -q -np 4 simba generate --preset quickstart -o dataset.h5 --twin
              simba generate my.yaml -o cohort.h5 --overwrite
            """)

    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var source: ConfigSource
    @OptionGroup var stall: StallOptions
    @Option(name: .shortAndLong, help: "Output dataset file.") var output: String = "dataset.h5"
    @Flag(help: "Also write the counterfactual no-bias twin.") var twin = false
    @Flag(help: "Replace existing output files.") var overwrite = false
    @Option(help: "Deflate level 1-9 for the images (smaller, slower files).") var compression: Int?

    func validate() throws {
        if let compression, !(1...9).contains(compression) {
            throw ValidationError("--compression must be 1 to 9, got \(compression)")
        }
    }

    func run(world: Communicator) throws {
        let config = try world.unanimously { try source.cohortConfig() }
        try CohortGeneration(config: config, yaml: source.describedYAML(config), output: output, twin: twin,
                             overwrite: overwrite, compression: compression, stall: stall.watchdog,
                             log: TerminalLog()).run(world: world)
    }
}
