@testable import Synthesis
import Foundation
import Volumes
import XCTest

final class IntensityAndSiteTests: XCTestCase {
    let anatomy = SyntheticAnatomy.make()

    func record(site: Int = 0, bias: Bool) -> SampleRecord {
        SampleRecord(index: 5, split: .train, label: 0, site: site, biasFlags: [bias], biasCoefficients: [bias ? 1 : 0],
                     subjectCoefficients: [0, 0, 0], diseaseCoefficient: 0)
    }

    /// A regional intensity bias brightens its region by `change` (the
    /// smooth edge fading it out) and leaves distant voxels alone.
    func testRegionalIntensityBiasActsInItsRegion() throws {
        var config = SyntheticAnatomy.config()
        config.biases = [Bias(name: "glow", effect: .regionalIntensity(region: "Nucleus_R", change: 0.3, edgeMM: 2),
                              prevalence: ClassPrevalence(disease: 0.7, healthy: 0.3))]
        let generator = try SampleGenerator(config: config, anatomy: anatomy)
        let plain = try generator.generate(record(bias: false)).image
        let glowing = try generator.generate(record(bias: true)).image
        let twin = try generator.generate(record(bias: true), variant: .twin).image
        XCTAssertEqual(twin.voxels, plain.voxels)
        var inside: [Float] = [], far: [Float] = []
        for n in plain.voxels.indices where plain.voxels[n] > 0.05 {
            let ratio = glowing.voxels[n] / plain.voxels[n]
            if anatomy.labels.voxels[n] == SyntheticAnatomy.bias { inside.append(ratio) }
            if anatomy.labels.voxels[n] == SyntheticAnatomy.disease { far.append(ratio) }
        }
        XCTAssertEqual(Double(inside.max()!), 1.3, accuracy: 0.01)
        XCTAssertGreaterThan(Double(inside.reduce(0, +)) / Double(inside.count), 1.2)
        XCTAssertEqual(far.max()!, 1, accuracy: 1e-6)
    }

    /// The global contrast bias changes the whole image of a bias-group
    /// sample; its twin is the unbiased image.
    func testGlobalContrastBiasChangesTheWholeImage() throws {
        var config = SyntheticAnatomy.config()
        config.biases = [Bias(name: "contrast", effect: .globalContrast(factor: 1.2),
                              prevalence: ClassPrevalence(disease: 0.7, healthy: 0.3))]
        let generator = try SampleGenerator(config: config, anatomy: anatomy)
        let plain = try generator.generate(record(bias: false)).image
        let contrasted = try generator.generate(record(bias: true)).image
        XCTAssertEqual(try generator.generate(record(bias: true), variant: .twin).image.voxels, plain.voxels)
        let brain = plain.voxels.indices.filter { plain.voxels[$0] > 0.05 }
        let changed = brain.filter { abs(plain.voxels[$0] - contrasted.voxels[$0]) > 1e-4 }.count
        XCTAssertGreaterThan(Double(changed) / Double(brain.count), 0.9)
        XCTAssertEqual(contrasted.voxels.min()!, 0)
        XCTAssertEqual(contrasted.voxels.max()!, 1)
    }

    /// Scanners: gamma, bias field, blur and Rician noise make each site's
    /// images differ, reproducibly, and noise keeps intensities non-negative.
    func testSiteScannersChangeImagesReproducibly() throws {
        var config = SyntheticAnatomy.config()
        var noisy = Site(name: "noisy")
        noisy.scanner.noise = 0.05
        var shaded = Site(name: "shaded")
        shaded.scanner.gamma = 0.8
        shaded.scanner.biasField = 0.3
        shaded.scanner.blurMM = 2
        config.sites = [Site(name: "clean"), noisy, shaded]
        let generator = try SampleGenerator(config: config, anatomy: anatomy)
        let clean = try generator.generate(record(site: 0, bias: false)).image
        let withNoise = try generator.generate(record(site: 1, bias: false)).image
        let withShading = try generator.generate(record(site: 2, bias: false)).image
        XCTAssertEqual(try generator.generate(record(site: 1, bias: false)).image.voxels, withNoise.voxels)
        XCTAssertTrue(withNoise.voxels.allSatisfy { $0 >= 0 })
        // Rician noise in the empty background has mean σ·√(π/2).
        let background = clean.voxels.indices.filter { clean.voxels[$0] == 0 }
        let mean = background.map { Double(withNoise.voxels[$0]) }.reduce(0, +) / Double(background.count)
        XCTAssertEqual(mean, 0.05 * (Double.pi / 2).squareRoot(), accuracy: 0.005)
        let difference = zip(clean.voxels, withShading.voxels).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(difference, 0.05)
    }

    /// Any NIfTI template + label map + names file works; a label map on
    /// another grid is refused with a message that says so.
    func testCustomTemplateFilesAndGridMismatch() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("t1.nii.gz").path
        let labels = folder.appendingPathComponent("labels.nii.gz").path
        let names = folder.appendingPathComponent("names.txt").path
        let shifted = folder.appendingPathComponent("shifted.nii.gz").path
        try NIfTI.write(anatomy.image, path: image)
        try NIfTI.write(anatomy.labels, path: labels)
        try "1 Lesion_L\n2 Nucleus_R\n".write(toFile: names, atomically: true, encoding: .utf8)
        var settings = TemplateSettings()
        settings.image = image
        settings.labels = labels
        settings.names = names
        settings.voxelMM = 2
        let loaded = try Anatomy.load(settings)
        XCTAssertEqual(try loaded.region("Nucleus_R").label, 2)
        XCTAssertEqual(try loaded.region("1").name, "Lesion_L")
        XCTAssertEqual(loaded.description, "t1.nii.gz + labels.nii.gz")

        let moved = Volume(grid: Grid(dims: anatomy.labels.dims, spacing: SIMD3(repeating: 2), origin: SIMD3(5, 0, 0)),
                           voxels: anatomy.labels.voxels)
        try NIfTI.write(moved, path: shifted)
        settings.labels = shifted
        XCTAssertThrowsError(try Anatomy.load(settings)) { error in
            XCTAssertTrue("\(error)".contains("is on another grid"), "\(error)")
        }
    }

    /// The real default template, when installed (CI installs mricron-data).
    func testColin27AndAALLoadAtFourMillimetres() throws {
        guard DefaultTemplate.isInstalled else { throw XCTSkip("mricron-data is not installed") }
        var settings = TemplateSettings()
        settings.voxelMM = 4
        let colin = try Anatomy.load(settings)
        XCTAssertEqual(colin.grid.spacing.x, 4, accuracy: 1e-9)
        XCTAssertEqual(try colin.region("Insula_R").label, 30)
        XCTAssertEqual(try colin.region("74").name, "Putamen_R")
        let statistics = colin.regionStatistics()
        XCTAssertEqual(statistics.count, 116)
        let insula = statistics.first { $0.region.name == "Insula_R" }!
        XCTAssertEqual(insula.volumeML, 14, accuracy: 3)
        XCTAssertGreaterThan(insula.centroidMM.x, 20, "right hemisphere is +x in RAS")
        XCTAssertThrowsError(try colin.region("Insula_X")) { error in
            XCTAssertTrue("\(error)".contains("closest: Insula_L, Insula_R"), "\(error)")
        }
    }
}

final class CropTests: XCTestCase {
    func testCroppingAroundRegionsKeepsThemWithTheMargin() throws {
        let anatomy = SyntheticAnatomy.make()
        let cropped = try anatomy.cropped(around: ["Nucleus_R"], marginMM: 4)
        let box = anatomy.labels.boundingBox { $0 == SyntheticAnatomy.bias }!
        XCTAssertEqual(cropped.grid.dims, box.size &+ 4)  // 2 voxels (4 mm) on each side
        XCTAssertEqual(cropped.labels.voxels.filter { $0 == SyntheticAnatomy.bias }.count,
                       anatomy.labels.voxels.filter { $0 == SyntheticAnatomy.bias }.count)
        // World positions are kept: the cropped grid's first voxel is the box corner less the margin.
        let corner = anatomy.grid.world(voxel: SIMD3<Double>(box.lower &- 2))
        XCTAssertEqual(cropped.grid.world(voxel: .zero), corner)
        XCTAssertThrowsError(try anatomy.cropped(around: ["Nowhere"], marginMM: 4))
    }
}
