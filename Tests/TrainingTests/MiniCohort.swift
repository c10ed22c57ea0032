import Foundation
import Storage
import Synthesis

/// A small dataset file in simba's format, written directly: 12³ noise
/// images with a bright centre in the disease class, three sites (sample i
/// at site i % 3) whose splits and classes are balanced, so every site has
/// 8 training, 4 validation and 4 test samples, two of each class in the
/// latter. Fast enough to train on in a unit test.
enum MiniCohort {
    static let side = 12
    static let count = 48

    static func site(_ index: Int) -> Int { index % 3 }
    static func split(_ index: Int) -> Int { [0, 0, 1, 2][(index / 3) % 4] }
    static func label(_ index: Int) -> Int { (index / 12) % 2 }

    /// The image of sample `index`; `variant` changes the noise.
    static func image(_ index: Int, variant: UInt64 = 0) -> [Float] {
        var state = UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15 ^ variant &* 0xD1B5_4A32_D192_ED03
        let centre = Double(side - 1) / 2
        var voxels = [Float]()
        voxels.reserveCapacity(side * side * side)
        for x in 0..<side { for y in 0..<side { for z in 0..<side {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Double(state >> 40) / Double(1 << 24)
            let r2 = [x, y, z].reduce(0.0) { $0 + (Double($1) - centre) * (Double($1) - centre) }
            let blob = label(index) == 1 ? exp(-r2 / 8) : 0
            voxels.append(Float(0.5 * noise + blob + 0.1 * Double(site(index))))
        } } }
        return voxels
    }

    /// Writes the samples `keep` (all by default) to `path`; `variant(i)`
    /// picks sample i's noise; `biased(i)` puts sample i in the bias group
    /// of a bias named "morph" (the flag only: the images do not change).
    static func write(_ path: String, keep: (Int) -> Bool = { _ in true },
                      variant: (Int) -> UInt64 = { _ in 0 }, biased: (Int) -> Bool = { _ in false }) throws {
        let chosen = (0..<count).filter(keep)
        let file = try H5File.create(path, existing: .overwrite)
        let root = try file.root
        try root.setAttribute("format", DatasetFile.format)
        try root.setAttribute("format_version", DatasetFile.formatVersion)
        try root.setAttribute("variant", "biased")
        try root.setAttribute("config", CohortConfig().yaml(title: "mini cohort"))
        try root.writeDataset("images", chosen.flatMap { image($0, variant: variant($0)) },
                              shape: [chosen.count, side, side, side])
        let samples = try root.createGroup("samples")
        try samples.writeDataset("split", chosen.map { Int32(split($0)) })
        try samples.writeDataset("label", chosen.map { Int32(label($0)) })
        try samples.writeDataset("site", chosen.map { Int32(site($0)) })
        try samples.writeDataset("disease_coefficient", chosen.map { _ in 0.0 })
        try samples.writeDataset("subject_coefficients", chosen.map { _ in 0.0 }, shape: [chosen.count, 1])
        try samples.writeStrings("bias_names", ["morph"])
        try samples.writeDataset("bias_morph", chosen.map { Int32(biased($0) ? 1 : 0) })
        try samples.writeDataset("bias_morph_coefficient", chosen.map { _ in 0.0 })
        let template = try root.createGroup("template")
        try template.setAttribute("affine", [4.0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1])
        try root.setAttribute("complete", 1)
        try file.close()
    }
}
