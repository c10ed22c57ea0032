import Cluster
import Foundation
import Synthesis

/// Synthesises a cohort (and its no-bias twin) into dataset files on every
/// rank; the first stage of an experiment, and all of `simba generate`.
public struct CohortGeneration {
    public let config: CohortConfig
    /// The configuration text stored in the files.
    public let yaml: String
    public let output: String
    public let twin: Bool
    public let overwrite: Bool
    public var compression: Int?
    public var log: ExperimentLog

    public init(config: CohortConfig, yaml: String, output: String, twin: Bool, overwrite: Bool,
                compression: Int? = nil, log: ExperimentLog) {
        self.config = config
        self.yaml = yaml
        self.output = output
        self.twin = twin
        self.overwrite = overwrite
        self.compression = compression
        self.log = log
    }

    /// dataset.h5 → dataset-nobias.h5, in the same folder.
    public static func twinPath(for output: String) -> String {
        let path = output as NSString
        let ext = path.pathExtension.isEmpty ? "h5" : path.pathExtension
        let stem = (path.lastPathComponent as NSString).deletingPathExtension
        return (path.deletingLastPathComponent as NSString).appendingPathComponent("\(stem)-nobias.\(ext)")
    }

    public func run(world: Communicator) throws {
        let (generator, design) = try world.unanimously { () -> (SampleGenerator, CohortDesign) in
            let design = try CohortDesign(config)
            guard world.size <= design.samples.count else {
                throw DatasetError("\(world.size) ranks for \(design.samples.count) samples: use at most \(design.samples.count) ranks")
            }
            let anatomy = try Anatomy.load(config.template)
            let generator = try SampleGenerator(config: config, anatomy: anatomy)
            try generator.checkLeakage(design.samples)
            return (generator, design)
        }
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
            let progress = log.progress("generate", total: design.samples.count, unit: "samples", enabled: world.rank == 0)
            var jacobians: [Int: Float] = [:]
            var twinJacobians: [Int: Float] = [:]
            var leakage: [Int: [Double]] = [:]
            var twinLeakage: [Int: [Double]] = [:]
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
                    leakage[index] = made.0.leakage
                    twinLeakage[index] = (made.1 ?? made.0).leakage
                }
                try biased.write(index: index, volume: made?.0.image.cOrderVoxels())
                try twinWriter?.write(index: index, volume: made.map { ($0.1 ?? $0.0).image.cOrderVoxels() })
                progress.update(done: min(design.samples.count, (round + 1) * world.size), extra: "")
            }
            let typical = generator.typicalDiseaseChangeMM3
            try biased.finish(minimumJacobians: jacobians, leakage: leakage, typicalDiseaseChangeMM3: typical)
            try twinWriter?.finish(minimumJacobians: twinJacobians, leakage: twinLeakage, typicalDiseaseChangeMM3: typical)
        } catch where error is CollectiveFailure || error is StopRequested {
            // Every rank knows: remove the partial files before reporting.
            biased.abandon()
            twinWriter?.abandon()
            throw error
        }
        if world.rank == 0 {
            log.say("wrote \(output)" + (twin ? " and \(Self.twinPath(for: output))" : "")
                  + ": \(design.samples.count) images of \(snapshot.shape.map(String.init).joined(separator: "×")) voxels at \(config.template.voxelMM) mm")
        }
    }
}
