@testable import Synthesis
import Volumes
import XCTest

final class SampleGeneratorTests: XCTestCase {
    let anatomy = SyntheticAnatomy.make()

    /// A record with only the effects asked for (no subject deformation).
    func record(disease: Double, bias: Double?) -> SampleRecord {
        SampleRecord(index: 3, split: .train, label: 1, site: 0, biasFlags: [bias != nil],
                     biasCoefficients: [bias ?? 0], subjectCoefficients: [0, 0, 0], diseaseCoefficient: disease)
    }

    /// Region volume (mm³) after a warp, with partial voxels: the region's
    /// mask warped trilinearly and summed (2 mm voxels: 8 mm³ each).
    func regionVolume(_ label: Int32, warpedBy displacement: VectorField? = nil) -> Double {
        let mask = anatomy.labels.map { $0 == label ? Float(1) : 0 }
        let moved = displacement.map { mask.warped(by: $0) } ?? mask
        return Double(moved.voxels.reduce(0, +)) * 8
    }

    /// Surface area (mm²) of an ellipsoid with semi-axes a, b, c (Knud
    /// Thomsen's formula, within about 1%).
    func ellipsoidArea(_ a: Double, _ b: Double, _ c: Double) -> Double {
        let p = 1.6075
        return 4 * Double.pi * pow((pow(a * b, p) + pow(a * c, p) + pow(b * c, p)) / 3, 1 / p)
    }

    /// The effect's calibration: moving a region's boundary by s mm changes
    /// its volume by about s × its surface area, and the sign follows the
    /// kind (atrophy shrinks, expansion grows).
    func testRegionVolumeChangeMatchesTheIntendedEffect() throws {
        let generator = try SampleGenerator(config: SyntheticAnatomy.config(strength: 1, biasStrength: 1), anatomy: anatomy)
        let disease = SyntheticAnatomy.disease, bias = SyntheticAnatomy.bias
        // Atrophy with a positive coefficient: the region (semi-axes 7, 9, 8 mm)
        // loses about strength × coefficient × its surface area — exactly so
        // for small effects, a little less for larger ones (the boundary moves
        // into weaker parts of the smooth field).
        for (coefficient, tolerance) in [(0.2, 0.2), (-0.2, 0.2), (1.0, 0.25), (-1.0, 0.25)] {
            let displacement = generator.deformation(record(disease: coefficient, bias: nil), activeBiases: [])
            let change = regionVolume(disease, warpedBy: displacement) - regionVolume(disease)
            let intended = -1 * coefficient * ellipsoidArea(7, 9, 8)
            XCTAssertEqual(change / intended, 1, accuracy: tolerance, "coefficient \(coefficient): \(change) vs \(intended) mm³")
        }
        let biased = generator.deformation(record(disease: 0, bias: 1.5), activeBiases: [0])
        let grown = regionVolume(bias, warpedBy: biased) - regionVolume(bias)
        XCTAssertEqual(grown / (1.5 * ellipsoidArea(6, 8, 7)), 1, accuracy: 0.3)
        // The other region does not move.
        XCTAssertEqual(regionVolume(disease, warpedBy: biased), regionVolume(disease), accuracy: 1)
    }

    /// The effect is local: far from its region the displacement decays to nothing.
    func testEffectDecaysAwayFromTheRegion() throws {
        let generator = try SampleGenerator(config: SyntheticAnatomy.config(strength: 2), anatomy: anatomy)
        let displacement = generator.deformation(record(disease: 2, bias: nil), activeBiases: [])
        let region = points(anatomy.labels.map { $0 == SyntheticAnatomy.disease ? Float(1) : 0 })
        var nearPeak: Float = 0, farPeak: Float = 0
        let dims = anatomy.grid.dims
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                for i in 0..<dims.x {
                    let n = i + dims.x * (j + dims.y * k)
                    let norm = (displacement.x[n] * displacement.x[n] + displacement.y[n] * displacement.y[n]
                        + displacement.z[n] * displacement.z[n]).squareRoot()
                    let distance = distance(region, i, j, k)
                    if distance <= 2 { nearPeak = max(nearPeak, norm) }
                    if distance >= 16 { farPeak = max(farPeak, norm) }
                }
            }
        }
        XCTAssertGreaterThan(nearPeak, 2)
        XCTAssertLessThan(farPeak, 0.05 * nearPeak, "near \(nearPeak) mm, far \(farPeak) mm")
    }

    /// Voxel coordinates of a mask's voxels.
    private func points(_ mask: Volume<Float>) -> [SIMD3<Int>] {
        let dims = mask.dims
        var result: [SIMD3<Int>] = []
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                for i in 0..<dims.x where mask[i, j, k] > 0 { result.append(SIMD3(i, j, k)) }
            }
        }
        return result
    }

    /// Distance (mm, 2 mm voxels) from voxel (i, j, k) to the nearest of `points`.
    private func distance(_ points: [SIMD3<Int>], _ i: Int, _ j: Int, _ k: Int) -> Double {
        let here = SIMD3(i, j, k)
        let best = points.map { p -> Int in let d = p &- here; return (d &* d).wrappedSum() }.min() ?? Int.max
        return Double(best).squareRoot() * 2
    }

    func testSamplesAreDeterministicAndDiffeomorphic() throws {
        var config = SyntheticAnatomy.config()
        config.sites[0].scanner.noise = 0.02
        config.sites[0].scanner.biasField = 0.1
        let generator = try SampleGenerator(config: config, anatomy: anatomy)
        let design = try CohortDesign(config)
        for sample in design.samples.prefix(6) {
            let first = try generator.generate(sample)
            let second = try generator.generate(sample)
            XCTAssertEqual(first.image.voxels, second.image.voxels)
            XCTAssertGreaterThan(first.minimumJacobian, 0)
        }
    }

    /// The twin differs only for samples with the bias, only around the
    /// bias region, and has the same noise everywhere else.
    func testTwinDiffersOnlyWhereTheBiasActs() throws {
        var config = SyntheticAnatomy.config()
        config.sites[0].scanner.noise = 0.01
        let generator = try SampleGenerator(config: config, anatomy: anatomy)
        let biasRegion = points(anatomy.labels.map { $0 == SyntheticAnatomy.bias ? Float(1) : 0 })
        for sample in try CohortDesign(config).samples.prefix(10) {
            let biased = try generator.generate(sample).image
            let twin = try generator.generate(sample, variant: .twin).image
            guard sample.biasFlags[0] else {
                XCTAssertEqual(biased.voxels, twin.voxels)
                continue
            }
            var changed = 0
            let dims = anatomy.grid.dims
            for k in 0..<dims.z {
                for j in 0..<dims.y {
                    for i in 0..<dims.x where biased[i, j, k] != twin[i, j, k] {
                        changed += 1
                        XCTAssertLessThan(distance(biasRegion, i, j, k), 24, "change at \(i),\(j),\(k)")
                    }
                }
            }
            XCTAssertGreaterThan(changed, 10)
        }
    }

    func testContrastBiasFollowsSimBAsFormula() throws {
        let generator = try SampleGenerator(config: SyntheticAnatomy.config(), anatomy: anatomy)
        let grid = Grid(dims: SIMD3(4, 1, 1))
        var image = Volume<Float>(grid: grid, voxels: [0, 0.2, 0.6, 1])
        generator.applyContrast(&image, factor: 1.2)
        // h = 0.5: 1.2·(v − 0.5) + 0.5, clipped to [0, 1], rescaled (range already [0, 1]).
        let expected: [Float] = [0, 0.14, 0.62, 1]
        for (value, target) in zip(image.voxels, expected) { XCTAssertEqual(value, target, accuracy: 1e-6) }
    }

    func testUnknownRegionsAndSharedRegionsAreRefused() throws {
        var config = SyntheticAnatomy.config()
        config.disease.region = "Lesion_X"
        XCTAssertThrowsError(try SampleGenerator(config: config, anatomy: anatomy)) { error in
            XCTAssertTrue("\(error)".contains("unknown region 'Lesion_X' (closest: Lesion_L"), "\(error)")
        }
        config = SyntheticAnatomy.config()
        config.biases[0].effect = .morphological(region: "1", kind: .expansion, strengthMM: 1,
                                                 coefficient: Coefficient(mean: 2, deviation: 1), edgeMM: 3)
        XCTAssertThrowsError(try SampleGenerator(config: config, anatomy: anatomy)) { error in
            XCTAssertTrue("\(error)".contains("both in Lesion_L"), "\(error)")
        }
    }

    func testCOrderRoundTrip() {
        let grid = Grid(dims: SIMD3(3, 4, 5))
        let volume = Volume<Float>(grid: grid) { i, j, k in Float(i * 100 + j * 10 + k) }
        let cOrder = volume.cOrderVoxels()
        XCTAssertEqual(cOrder[0 * 20 + 1 * 5 + 2], 12)  // x=0, y=1, z=2
        XCTAssertEqual(cOrder[2 * 20 + 3 * 5 + 4], 234)
        XCTAssertEqual(Volume(grid: grid, cOrder: cOrder).voxels, volume.voxels)
    }
}
