import ArgumentParser
import Cluster
import Foundation
import Synthesis
import Volumes

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
    @Option(name: .shortAndLong, help: "Output dataset file.") var output: String = "dataset.h5"
    @Flag(help: "Also write the counterfactual no-bias twin.") var twin = false
    @Flag(help: "Replace existing output files.") var overwrite = false
    @Option(help: "Deflate level 1-9 for the images (smaller, slower files).") var compression: Int?

    func validate() throws {
        if let compression, !(1...9).contains(compression) {
            throw ValidationError("--compression must be 1 to 9, got \(compression)")
        }
    }

    /// dataset.h5 → dataset-nobias.h5, in the same folder.
    static func twinPath(for output: String) -> String {
        let path = output as NSString
        let ext = path.pathExtension.isEmpty ? "h5" : path.pathExtension
        let stem = (path.lastPathComponent as NSString).deletingPathExtension
        return (path.deletingLastPathComponent as NSString).appendingPathComponent("\(stem)-nobias.\(ext)")
    }

    func run(world: Communicator) throws {
        let (config, generator, design) = try world.unanimously { () -> (CohortConfig, SampleGenerator, CohortDesign) in
            let config = try source.cohortConfig()
            let design = try CohortDesign(config)
            guard world.size <= design.samples.count else {
                throw DatasetError("\(world.size) ranks for \(design.samples.count) samples: use at most \(design.samples.count) ranks")
            }
            let anatomy = try Anatomy.load(config.template)
            return (config, try SampleGenerator(config: config, anatomy: anatomy), design)
        }
        let yaml = source.describedYAML(config)
        let snapshot = generator.anatomy.snapshot(voxelMM: config.template.voxelMM)
        let generatorName = "simba \(SimbaVersion.current)"
        let biased = try DatasetWriter(path: output, overwrite: overwrite, communicator: world, design: design,
                                       template: snapshot, variant: .biased, configYAML: yaml,
                                       generator: generatorName, compression: compression)
        let twinWriter = twin ? try DatasetWriter(path: Self.twinPath(for: output), overwrite: overwrite,
                                                  communicator: world, design: design, template: snapshot,
                                                  variant: .twin, configYAML: yaml, generator: generatorName,
                                                  compression: compression) : nil
        do {
            let share = DatasetWriter.share(of: design.samples.count, rank: world.rank, size: world.size)
            let progress = Progress("generate", total: design.samples.count, unit: "samples", enabled: world.rank == 0)
            var jacobians: [Int: Float] = [:]
            var twinJacobians: [Int: Float] = [:]
            for round in 0..<biased.rounds {
                try world.stopIfRequested()
                let index = share.lowerBound + round < share.upperBound ? share.lowerBound + round : nil
                let made = try world.unanimously { () -> (SampleGenerator.Output, SampleGenerator.Output?)? in
                    guard let index else { return nil }
                    let record = design.samples[index]
                    let output = try generator.generate(record)
                    let differs = twin && record.biasFlags.contains(true)
                    return (output, differs ? try generator.generate(record, variant: .twin) : nil)
                }
                if let index, let made {
                    jacobians[index] = made.0.minimumJacobian
                    twinJacobians[index] = (made.1 ?? made.0).minimumJacobian
                }
                try biased.write(index: index, volume: made?.0.image.cOrderVoxels())
                try twinWriter?.write(index: index, volume: made.map { ($0.1 ?? $0.0).image.cOrderVoxels() })
                progress.update(done: min(design.samples.count, (round + 1) * world.size))
            }
            try biased.finish(minimumJacobians: jacobians)
            try twinWriter?.finish(minimumJacobians: twinJacobians)
        } catch where error is CollectiveFailure || error is StopRequested {
            // Every rank knows: remove the partial files before reporting.
            biased.abandon()
            twinWriter?.abandon()
            throw error
        }
        if world.rank == 0 {
            print("wrote \(output)" + (twin ? " and \(Self.twinPath(for: output))" : "")
                  + ": \(design.samples.count) images of \(snapshot.shape.map(String.init).joined(separator: "×")) voxels at \(config.template.voxelMM) mm")
        }
    }
}
