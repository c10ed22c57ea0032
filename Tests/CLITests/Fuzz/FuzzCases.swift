import Experiment
import Foundation
import Synthesis
import Volumes
import YAMLConfig

/// The four kinds of input, their valid seeds, and what each case does
/// with a mutation: the library calls `simba` makes on such a file.
/// A case returns or throws; a trap would end the test process.
enum FuzzKind: String, CaseIterable {
    case yaml, nifti, gzip, hdf5
}

struct FuzzSeeds {
    /// Every preset's whole experiment, as `simba config` prints it.
    let yaml: [String]
    /// A float image and an int16 label map, uncompressed and gzipped.
    let nifti: [[UInt8]]
    let gzip: [[UInt8]]

    init(folder: URL) throws {
        yaml = CohortPreset.allCases.map { ExperimentConfig.preset($0).yaml(title: $0.rawValue) }
        let grid = Grid(dims: SIMD3(6, 7, 5), spacing: SIMD3(2, 2.5, 3), origin: SIMD3(-6, -8, -6))
        let image = Volume<Float>(grid: grid) { x, y, z in Float((x * y + z) % 9) }
        let labels = Volume<Int32>(grid: grid) { x, y, z in Int32((x + y + z) % 3) }
        var nifti: [[UInt8]] = [], gzip: [[UInt8]] = []
        for suffix in [".nii", ".nii.gz"] {
            let imagePath = folder.appendingPathComponent("seed-image" + suffix).path
            let labelPath = folder.appendingPathComponent("seed-labels" + suffix).path
            try NIfTI.write(image, path: imagePath)
            try NIfTI.write(labels, path: labelPath)
            let files = try [imagePath, labelPath].map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))) }
            if suffix == ".nii" { nifti = files } else { gzip = files }
        }
        self.nifti = nifti
        self.gzip = gzip
    }

    /// A mutation of one seed of `kind`, as the bytes of a file.
    func mutated(_ kind: FuzzKind, _ mutator: inout FuzzMutator) -> [UInt8] {
        switch kind {
        case .yaml: return Array(mutator.mutate(yaml: mutator.pick(yaml)).utf8)
        // Most edits in the 352 header bytes, where the sizes are.
        case .nifti: return mutator.mutate(mutator.pick(nifti), focus: 0..<352)
        case .gzip:
            var bytes = mutator.pick(gzip)
            if mutator.chance(0.2) {
                // More members after the image: a stream inflating past what its header needs.
                bytes += (try? Gzip.compress([UInt8](repeating: 0, count: 1 << 16), level: 9)) ?? []
            }
            return mutator.chance(0.9) ? mutator.mutate(bytes, focus: 0..<24) : bytes
        case .hdf5: return []  // built from a recipe (see `FuzzCase.hdf5`)
        }
    }
}

enum FuzzCase {
    /// `simba config FILE`: the whole experiment read and checked, and a
    /// small cohort designed.
    static func yaml(_ bytes: [UInt8]) throws {
        let config = try ExperimentConfig.read(try ConfigNode.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz.yaml"))
        try config.check()
        _ = config.yaml(title: "fuzz")
        if config.cohort.cohort.size <= 500 { _ = try CohortDesign(config.cohort) }
    }

    /// A template image (and, read as labels, its atlas) decoded and, when
    /// small, resampled and cropped as `simba generate` does.
    static func nifti(_ bytes: [UInt8]) throws {
        let image = try NIfTI.decode(bytes, path: "fuzz.nii")
        let volume = Volume(grid: image.grid, voxels: image.floatVoxels())
        let labels = (try? image.labelVoxels()).map { Volume(grid: image.grid, voxels: $0) } ?? volume.map { _ in Int32(1) }
        // Resampling is bounded by this machine's memory, not by the fuzz
        // budget: only grids that stay small at 2 mm go through it.
        let extent = SIMD3<Double>(image.grid.dims) * image.grid.spacing / 2
        guard extent.x * extent.y * extent.z < 200_000 else { return }
        _ = try Anatomy.prepare(image: volume, labels: labels, names: LabelNames(names: [1: "one", 2: "two"]),
                                voxelMM: 2, marginMM: 2, description: "fuzz")
    }

    static func gzip(_ bytes: [UInt8]) throws {
        _ = try Gzip.decompress(bytes, limit: 1 << 22)
        try nifti(bytes)
    }

    /// `simba inspect FILE`: the dataset opened, checked and summarised,
    /// an image, the label map and the label names read.
    static func hdf5(_ path: String) throws {
        let reader = try DatasetReader(path: path)
        defer { try? reader.close() }
        _ = try reader.image(reader.samples.count - 1)
        _ = try reader.templateLabels()
        _ = try reader.labelNames()
        if reader.config.cohort.size <= 500 { _ = try DatasetInspection.summary(dataset: path) }
    }
}
