import Cluster
import Foundation
import Synthesis

/// A small dataset file in simba's format, of made-up samples: 12³ noise
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

    /// Writes the samples `keep` (all by default) to `path` with simba's
    /// own writer; `variant(i)` picks sample i's noise; `biased(i)` puts
    /// sample i in the bias group of a bias named "morph" (the flag only:
    /// the images do not change).
    static func write(_ path: String, keep: (Int) -> Bool = { _ in true },
                      variant: (Int) -> UInt64 = { _ in 0 }, biased: (Int) -> Bool = { _ in false }) throws {
        let chosen = (0..<count).filter(keep)
        let records = chosen.enumerated().map { position, index in
            SampleRecord(index: position, split: Split(rawValue: split(index))!, label: label(index), site: site(index),
                         biasFlags: [biased(index)], biasCoefficients: [0], subjectCoefficients: [0],
                         diseaseCoefficient: 0)
        }
        let config = config(samples: chosen.count)
        let writer = try DatasetWriter(path: path, overwrite: true, communicator: try Cluster.start(), config: config,
                                       samples: records, template: template, variant: .biased,
                                       configYAML: config.yaml(title: "mini cohort"), generator: "MiniCohort")
        for (position, index) in chosen.enumerated() {
            try writer.write(index: position, volume: image(index, variant: variant(index)))
        }
        try writer.finish(minimumJacobians: [:])
    }

    /// The configuration the file declares: its three sites, the "morph"
    /// bias and one subject mode, as the sample table has them (nothing is
    /// generated from it).
    static func config(samples: Int) -> CohortConfig {
        var config = CohortConfig()
        config.template.voxelMM = 4
        config.cohort.size = samples
        config.subject.modes = 1
        config.biases = [Bias(name: "morph", effect: .globalContrast(factor: 1.2),
                              prevalence: ClassPrevalence(disease: 0.5, healthy: 0.5))]
        config.sites = (1...3).map { Site(name: "site-\($0)") }
        return config
    }

    /// A blank 4 mm template of the images' grid.
    static var template: TemplateSnapshot {
        TemplateSnapshot(shape: [side, side, side], image: [Float](repeating: 0, count: side * side * side),
                         labels: [Int32](repeating: 0, count: side * side * side), labelNumbers: [], labelNames: [],
                         affine: [4.0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1], voxelMM: 4,
                         description: "blank")
    }
}
