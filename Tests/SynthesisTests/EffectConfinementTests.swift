@testable import Synthesis
import Volumes
import XCTest

/// Confined effects on the real template: no effect changes another
/// effect's region. Checked here from the images' deformations themselves
/// (region masks pulled back through each sample's whole deformation,
/// subject included), independently of the leakage the generator records.
final class EffectConfinementTests: XCTestCase {
    /// Tiny, quickstart and multibias: for every sample (multibias: every
    /// 200th, its grid is large), the disease region's volume with the
    /// sample's biases equals the twin's, and each morphological bias
    /// region's volume with the disease equals its volume without it,
    /// within the tolerance (a share of the disease's typical change), in
    /// subject space (the subject's deformation composed, as in the images).
    func testPresetsKeepEveryEffectOutOfTheOthersRegions() throws {
        guard DefaultTemplate.isInstalled else { throw XCTSkip("mricron-data is not installed") }
        for (preset, stride) in [(CohortPreset.tiny, 1), (.quickstart, 1), (.multibias, 200)] {
            let config = preset.config
            let anatomy = try Anatomy.load(config.template)
            let generator = try SampleGenerator(config: config, anatomy: anatomy)
            XCTAssertEqual(generator.fields.controlGrid, anatomy.grid, "the check needs masks on the deformation's grid")
            func mask(_ name: String) throws -> Volume<Float> { try anatomy.mask(try anatomy.region(name)) }
            func volume(_ mask: Volume<Float>, _ map: VectorField) -> Double {
                mask.warped(by: map).voxels.reduce(0.0) { $0 + Double($1) } * abs(anatomy.grid.affine.determinant)
            }
            let disease = try mask(config.disease.region)
            let morphological = config.biases.indices.filter { config.biases[$0].isMorphological }
            let biasMasks = try morphological.map { try mask(config.biases[$0].region!) }
            let tolerance = config.effects.leakageTolerance * generator.typicalDiseaseChangeMM3
            var largest = (disease: 0.0, bias: 0.0), checked = 0
            for sample in try CohortDesign(config).samples where sample.index % stride == 0 {
                let carried = morphological.filter { sample.biasFlags[$0] }
                guard !carried.isEmpty else { continue }
                let withBias = generator.deformation(sample, activeBiases: carried)
                let twin = generator.deformation(sample, activeBiases: [])
                largest.disease = max(largest.disease, abs(volume(disease, withBias) - volume(disease, twin)))
                // The same sample without its disease, exponentiated with the
                // same steps (a record with coefficient 0 would take fewer,
                // and differ by the method's error alone).
                let effects = generator.effectMaps(sample, activeBiases: carried)
                let withoutDisease = generator.deformation(effects: effects.without(0), sample, clock: nil)
                for biasMask in biasMasks {
                    largest.bias = max(largest.bias, abs(volume(biasMask, withBias) - volume(biasMask, withoutDisease)))
                }
                checked += 1
            }
            XCTAssertGreaterThan(checked, 0)
            XCTAssertLessThanOrEqual(largest.disease, tolerance, "\(preset): a bias changed the disease region by \(largest.disease) mm³")
            XCTAssertLessThanOrEqual(largest.bias, tolerance, "\(preset): the disease changed a bias region by \(largest.bias) mm³")
            // And the disease still does its work: it changes its region by over half a millilitre.
            XCTAssertGreaterThan(generator.typicalDiseaseChangeMM3, 500, "\(preset)")
        }
    }

    /// Coupled effects (the opt-in) are the previous generator: there the
    /// quickstart's bias visibly changes the disease region, which is what
    /// confinement removes.
    func testCoupledEffectsLeakAndConfinedOnesDoNot() throws {
        guard DefaultTemplate.isInstalled else { throw XCTSkip("mricron-data is not installed") }
        var config = CohortPreset.quickstart.config
        config.cohort.size = 100
        let anatomy = try Anatomy.load(config.template)
        for coupled in [false, true] {
            config.effects.allowLeakage = coupled
            let generator = try SampleGenerator(config: config, anatomy: anatomy)
            let intoDisease = generator.leakagePairs.firstIndex { $0.from == 1 && $0.into == 0 }!
            let carriers = try CohortDesign(config).samples.filter { $0.biasFlags[0] }
            let leaks = try carriers.map { abs(try generator.generate($0).leakage[intoDisease]) / generator.typicalDiseaseChangeMM3 }
            if coupled {
                XCTAssertGreaterThan(leaks.reduce(0, +) / Double(leaks.count), 0.05, "coupled: the bias moves the insula")
            } else {
                XCTAssertLessThan(leaks.max()!, config.effects.leakageTolerance)
            }
        }
    }

    /// A regional intensity bias next to the disease never reaches into it:
    /// its weight is 0 on every disease voxel, though it is 1 inside its own region.
    func testAnIntensityBiasKeepsOutOfTheDiseaseRegion() throws {
        let anatomy = SyntheticAnatomy.make()
        var config = SyntheticAnatomy.config()
        config.biases[0].effect = .regionalIntensity(region: "Nucleus_R", change: 0.3, edgeMM: 12)
        let fields = try EffectFields(config: config, anatomy: anatomy)
        let weight = try XCTUnwrap(fields.intensityWeights[0])
        let disease = anatomy.labels.voxels.indices.filter { anatomy.labels.voxels[$0] == SyntheticAnatomy.disease }
        XCTAssertEqual(disease.map { weight.voxels[$0] }.max(), 0)
        XCTAssertEqual(weight.voxels.max()!, 1, accuracy: 1e-6)
        // Coupled, its 12 mm edge does reach the disease region.
        config.effects.allowLeakage = true
        let coupled = try EffectFields(config: config, anatomy: anatomy).intensityWeights[0]!
        XCTAssertGreaterThan(disease.map { coupled.voxels[$0] }.max()!, 0.01)
    }

    /// Two effects in one region cannot be kept apart: refused in one line.
    func testTwoEffectsInOneRegionAreRefused() throws {
        var config = SyntheticAnatomy.config()
        config.biases.append(Bias(name: "shade", effect: .regionalIntensity(region: "Nucleus_R", change: 0.2, edgeMM: 2),
                                  prevalence: ClassPrevalence(disease: 0.5, healthy: 0.5)))
        XCTAssertThrowsError(try EffectFields(config: config, anatomy: SyntheticAnatomy.make())) { error in
            XCTAssertTrue("\(error)".contains("both in Nucleus_R"), "\(error)")
        }
    }
}
