import Cluster
import Foundation
import Storage
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
    public var stall: StallGuard
    public var log: ExperimentLog

    public init(config: CohortConfig, yaml: String, output: String, twin: Bool, overwrite: Bool,
                compression: Int? = nil, stall: StallGuard, log: ExperimentLog) {
        self.config = config
        self.yaml = yaml
        self.output = output
        self.twin = twin
        self.overwrite = overwrite
        self.compression = compression
        self.stall = stall
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
        let outputs = [output] + (twin ? [Self.twinPath(for: output)] : [])
        let (generator, design) = try world.unanimously { () -> (SampleGenerator, CohortDesign) in
            let design = try CohortDesign(config)
            guard world.size <= design.samples.count else {
                throw DatasetError("\(world.size) ranks for \(design.samples.count) samples: use at most \(design.samples.count) ranks")
            }
            let template = [config.template.image, config.template.labels, config.template.names].compactMap { $0 }
            for output in outputs { try OutputTarget.refuseSameFile(output, as: template) }
            let anatomy = try Anatomy.load(config.template)
            let generator = try SampleGenerator(config: config, anatomy: anatomy)
            try generator.checkLeakage(design.samples)
            return (generator, design)
        }
        let meter = StageMemory.Meter()
        let snapshot = generator.anatomy.snapshot(voxelMM: config.template.voxelMM)
        try stall.writing(outputs, command: "simba generate", world: world, unit: "round") { watchdog in
            try write(design, generator: generator, snapshot: snapshot, world: world, watchdog: watchdog)
        }
        try meter.record("generation", in: output, world: world)
        if world.rank == 0 {
            log.say("wrote \(output)" + (twin ? " and \(Self.twinPath(for: output))" : "")
                  + ": \(design.samples.count) images of \(snapshot.shape.map(String.init).joined(separator: "×")) voxels at \(config.template.voxelMM) mm")
        }
    }

    /// Refuses, on every rank alike, to start a cohort the disk cannot hold
    /// (uncompressed: with deflate the size is not known in advance, and a
    /// write that fails is agreed instead).
    private func ensureSpace(_ design: CohortDesign, _ snapshot: TemplateSnapshot, world: Communicator) throws {
        guard compression == nil else { return }
        let voxels = Double(snapshot.shape.reduce(1, *))
        let perFile = (Double(design.samples.count) + 2) * voxels * Double(MemoryLayout<Float>.stride) + 1_048_576
        try DiskSpace.ensure(perFile * (twin ? 2 : 1), for: output, world: world,
                             purpose: "the cohort (\(design.samples.count) images" + (twin ? " and their twins" : "") + ")",
                             consequence: "nothing was written: free space or write elsewhere")
    }

    /// Before each round: room for its images uncompressed. MPI-IO does
    /// not always report a write that failed for want of space (a full disk
    /// on 3 ranks left a file that looked complete), so the job stops
    /// before the disk fills rather than trusting the write to fail.
    private func ensureSpace(forRoundOf snapshot: TemplateSnapshot, ranks: Int) throws {
        let voxels = Double(snapshot.shape.reduce(1, *))
        try DiskSpace.check(Double(ranks * (twin ? 2 : 1)) * voxels * Double(MemoryLayout<Float>.stride) + 1_048_576,
                            for: output, purpose: "the next round of images",
                            consequence: "stopped, nothing was kept: free space or write elsewhere")
    }

    private func write(_ design: CohortDesign, generator: SampleGenerator, snapshot: TemplateSnapshot,
                       world: Communicator, watchdog: StallWatchdog?) throws {
        try ensureSpace(design, snapshot, world: world)
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
                    if world.rank == 0 { try ensureSpace(forRoundOf: snapshot, ranks: world.size) }
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
                // Every rank makes both collective writes, then all agree on
                // them: a write that failed on one rank (a full disk) ends
                // the job on every rank instead of leaving them apart.
                let wrote = Result { try biased.write(index: index, volume: made?.0.image.cOrderVoxels()) }
                let wroteTwin = Result { try twinWriter?.write(index: index, volume: made.map { ($0.1 ?? $0.0).image.cOrderVoxels() }) }
                try world.unanimously {
                    try wrote.get()
                    try wroteTwin.get()
                    try InjectedFault.check("write", round + 1, rank: world.rank)
                }
                watchdog?.beat(step: round + 1)
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
    }
}
