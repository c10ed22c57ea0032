import Cluster
import Foundation
import Storage

/// The layout of a cohort file (`dataset.h5`), written collectively:
/// - root attributes: `format` ("simba-dataset"), `format_version`,
///   `generator` (simba version), `config` (the full YAML), `seed`,
///   `variant` ("biased" or "twin"), `switched_off` (the twin's biases),
///   `complete` (1, written last);
/// - `/images` float32 [N, X, Y, Z], one chunk per volume;
/// - `/samples/*`: one column per property (see `SampleColumns`);
/// - `/template/{image, labels, label_numbers, label_names}` and the
///   voxel-to-world `affine` (4×4, RAS mm) as an attribute of `/template`;
/// - `/sites/*`: names and scanner parameters.
public enum DatasetFile {
    public static let format = "simba-dataset"
    public static let formatVersion = 1
}

/// The anatomy a cohort was made from, at the experiment's grid.
public struct TemplateSnapshot: Sendable {
    /// Grid size [X, Y, Z].
    public var shape: [Int]
    /// Intensities, C order (z fastest).
    public var image: [Float]
    /// Atlas labels, C order.
    public var labels: [Int32]
    public var labelNumbers: [Int32]
    public var labelNames: [String]
    /// Row-major 4×4 voxel-to-world matrix (mm).
    public var affine: [Double]
    public var voxelMM: Double
    /// Where it came from, e.g. "Colin27 (ch2bet) + AAL".
    public var description: String

    public init(shape: [Int], image: [Float], labels: [Int32], labelNumbers: [Int32], labelNames: [String],
                affine: [Double], voxelMM: Double, description: String) {
        self.shape = shape
        self.image = image
        self.labels = labels
        self.labelNumbers = labelNumbers
        self.labelNames = labelNames
        self.affine = affine
        self.voxelMM = voxelMM
        self.description = description
    }
}

/// Writes one cohort file collectively. Every rank of the communicator
/// creates the writer, calls `write(round:)` the same number of times and
/// then `finish`. The file is written under a temporary name and appears
/// under its real name only once complete.
public final class DatasetWriter {
    public let path: String
    let partialPath: String
    let communicator: Communicator
    let config: CohortConfig
    let samples: [SampleRecord]
    let file: H5File
    let images: H5Dataset
    let volumeSize: Int
    public let shape: [Int]

    public enum Variant: String, Sendable { case biased, twin }

    public convenience init(path: String, overwrite: Bool, communicator: Communicator, design: CohortDesign,
                            template: TemplateSnapshot, variant: Variant, configYAML: String, generator: String,
                            compression: Int? = nil) throws {
        try self.init(path: path, overwrite: overwrite, communicator: communicator, config: design.config,
                      samples: design.samples, template: template, variant: variant, configYAML: configYAML,
                      generator: generator, compression: compression)
    }

    /// A file of these sample records rather than a design's, for callers
    /// that make the table themselves (the tests' small cohorts), so that
    /// the schema is written in this one place. Sample i's `index` should
    /// be i; its bias flags and subject coefficients follow `config`.
    public init(path: String, overwrite: Bool, communicator: Communicator, config: CohortConfig,
                samples: [SampleRecord], template: TemplateSnapshot, variant: Variant, configYAML: String,
                generator: String, compression: Int? = nil) throws {
        let biases = config.biases.count, modes = config.subject.modes
        guard samples.allSatisfy({
            $0.biasFlags.count == biases && $0.biasCoefficients.count == biases && $0.subjectCoefficients.count == modes
        }) else {
            throw DatasetError("sample records need \(biases) bias flags and coefficients and \(modes) subject "
                               + "coefficients, as the configuration says")
        }
        self.path = path
        self.communicator = communicator
        self.config = config
        self.samples = samples
        shape = template.shape
        volumeSize = template.shape.reduce(1, *)
        let partialPath = path + ".partial"
        self.partialPath = partialPath
        try communicator.unanimously {
            if communicator.rank == 0 {
                try Self.checkOutput(path, overwrite: overwrite)
                try? FileManager.default.removeItem(atPath: partialPath)
            }
        }
        file = try H5File.create(partialPath, existing: .overwrite, communicator: communicator)
        let root = try file.root
        try root.setAttribute("format", DatasetFile.format)
        try root.setAttribute("format_version", DatasetFile.formatVersion)
        try root.setAttribute("generator", generator)
        try root.setAttribute("config", configYAML)
        try root.setAttribute("seed", Int(config.seed))
        try root.setAttribute("variant", variant.rawValue)
        let switchedOff = variant == .twin
            ? (config.twinSwitchesOff.isEmpty ? config.biases.map(\.name) : config.twinSwitchesOff)
            : []
        try root.setAttribute("switched_off", switchedOff.joined(separator: ","))
        let count = samples.count
        images = try root.createDataset("images", of: Float.self, shape: [count] + shape,
                                        chunk: [1] + shape, deflate: compression)
        try images.setAttribute("axes", "sample, x, y, z (C order: z varies fastest)")
        try images.setAttribute("units", "template intensity after the effects; scale per image before training")
        try writeTemplate(template, root)
    }

    /// Refuses an existing output unless `overwrite`, and an output folder
    /// that does not exist or cannot be written.
    static func checkOutput(_ path: String, overwrite: Bool) throws {
        try OutputFolder.check(for: path)
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard overwrite else { throw DatasetError("\(path) already exists (use --overwrite to replace it)") }
        try OutputTarget.checkReplaceable(path, format: DatasetFile.format)
    }

    private func writeTemplate(_ template: TemplateSnapshot, _ root: H5Group) throws {
        let group = try root.createGroup("template")
        try group.writeDataset("image", template.image, shape: template.shape, deflate: 4)
        try group.writeDataset("labels", template.labels, shape: template.shape, deflate: 4)
        try group.writeDataset("label_numbers", template.labelNumbers)
        try group.writeStrings("label_names", template.labelNames)
        try group.setAttribute("affine", template.affine)
        try group.setAttribute("voxel_mm", template.voxelMM)
        try group.setAttribute("description", template.description)
    }

    /// The sample indices this rank generates: a contiguous block, the first
    /// `count % size` ranks taking one more.
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// Number of collective write rounds: the largest share.
    public var rounds: Int { (samples.count + communicator.size - 1) / communicator.size }

    /// Writes this rank's volume for one round (nil when its share is used
    /// up). Collective: every rank calls it once per round.
    public func write(index: Int?, volume: [Float]?) throws {
        if let index, let volume {
            guard volume.count == volumeSize else {
                throw DatasetError("volume \(index) has \(volume.count) voxels, the grid \(volumeSize)")
            }
            try images.write(volume, offset: [index, 0, 0, 0], count: [1] + shape)
        } else {
            try images.write([Float](), offset: [0, 0, 0, 0], count: [0, 0, 0, 0])
        }
    }

    /// Writes the sample table (with each sample's minimum Jacobian
    /// determinant and leakage between effects, known to the rank that made
    /// it), marks the file complete and moves it to its real name.
    public func finish(minimumJacobians local: [Int: Float], leakage localLeakage: [Int: [Double]] = [:],
                       typicalDiseaseChangeMM3: Double = 0) throws {
        var jacobians = [Float](repeating: 0, count: samples.count)
        for (index, value) in local { jacobians[index] = value }
        try communicator.allreduce(&jacobians, op: .sum)
        var leakage = LeakageTable(config: config, samples: samples.count, typicalDiseaseChangeMM3: typicalDiseaseChangeMM3)
        for (index, values) in localLeakage where values.count == leakage.pairs.count {
            leakage.values.replaceSubrange(index * values.count..<(index + 1) * values.count, with: values)
        }
        try communicator.allreduce(&leakage.values, op: .sum)
        try SampleColumns.write(samples, config: config, minimumJacobians: jacobians, leakage: leakage,
                                to: try file.root.createGroup("samples"))
        try writeSites(try file.root.createGroup("sites"))
        try file.root.setAttribute("complete", 1)
        // Closed on every rank even if one failed (a full disk), then agreed.
        let closed = Result { try file.close() }
        try communicator.unanimously { try closed.get() }
        // One rename(2): an old file of that name is replaced at once, never removed first.
        try communicator.unanimously {
            if communicator.rank == 0 { try OutputTarget.replace(path, with: partialPath) }
        }
    }

    /// Gives up on the file after a failure every rank knows of: empties
    /// the partial file first (after a full disk, HDF5's closing writes
    /// then have room, so the collective close completes on every rank),
    /// closes it collectively and deletes it, so no litter remains.
    public func abandon() {
        if communicator.rank == 0 { truncate(partialPath, 0) }
        try? communicator.barrier()
        try? file.close()
        if communicator.rank == 0 { unlink(partialPath) }
    }

    private func writeSites(_ group: H5Group) throws {
        let sites = config.sites
        try group.writeStrings("names", sites.map(\.name))
        try group.writeDataset("gamma", sites.map(\.scanner.gamma))
        try group.writeDataset("bias_field", sites.map(\.scanner.biasField))
        try group.writeDataset("noise", sites.map(\.scanner.noise))
        try group.writeDataset("blur_mm", sites.map(\.scanner.blurMM))
        try group.writeDataset("held_out", sites.map { UInt8($0.heldOut ? 1 : 0) })
    }
}

public struct DatasetError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
