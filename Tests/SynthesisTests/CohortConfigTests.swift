import Synthesis
import YAMLConfig
import XCTest

final class CohortConfigTests: XCTestCase {
    func read(_ yaml: String) throws -> CohortConfig {
        let root = try ConfigNode.parse(yaml, source: "test.yaml")
        let config = try CohortConfig.read(root)
        try root.finish()
        return config
    }

    func testEveryPresetRoundTripsThroughItsCommentedYAML() throws {
        for preset in CohortPreset.allCases {
            let text = preset.config.yaml(title: preset.summary)
            XCTAssertEqual(try read(text), preset.config, "preset \(preset.rawValue):\n\(text)")
            XCTAssertTrue(text.contains("# "), "no comments")
        }
    }

    func testDefaultsFillWhatTheFileLeavesOut() throws {
        let config = try read("""
            cohort: {size: 100}
            biases:
              - {name: contrast, type: intensity, factor: 1.3}
              - {name: insula_glow, type: intensity, scope: regional, region: Insula_L, change: 0.1}
            """)
        XCTAssertEqual(config.cohort.size, 100)
        XCTAssertEqual(config.cohort.splits, SplitFractions(train: 0.5, validation: 0.25, test: 0.25))
        XCTAssertEqual(config.biases[0].effect, .globalContrast(factor: 1.3))
        XCTAssertEqual(config.biases[0].prevalence, ClassPrevalence(disease: 0.7, healthy: 0.3))
        XCTAssertEqual(config.biases[1].region, "Insula_L")
        XCTAssertEqual(config.disease.region, "Insula_R")
    }

    func testGeneratedSitesFromRanges() throws {
        let config = try read("""
            sites:
              count: 5
              scanner: {gamma: [0.8, 1.2], noise: [0, 0.05]}
              disease_prevalence: [0.3, 0.7]
              held_out: [site-5]
            """)
        XCTAssertEqual(config.sites.count, 5)
        XCTAssertEqual(config.sites.map(\.heldOut), [false, false, false, false, true])
        for site in config.sites {
            XCTAssertTrue((0.8...1.2).contains(site.scanner.gamma))
            XCTAssertTrue((0...0.05).contains(site.scanner.noise))
            XCTAssertTrue((0.3...0.7).contains(site.diseasePrevalence ?? -1))
        }
        XCTAssertEqual(try read("sites: {count: 5, scanner: {gamma: [0.8, 1.2]}}").sites,
                       try read("sites: {count: 5, scanner: {gamma: [0.8, 1.2]}}").sites, "seeded")
    }

    func testBadConfigurationsAreRefusedWithTheKeyPath() {
        let cases: [(String, String)] = [
            ("biases: [{name: b, region: Insula_R}]", "both in 'Insula_R'"),
            ("biases: [{name: b, prevalence: {disease: 1.2}}]", "biases[0].prevalence.disease: must be between 0 and 1"),
            ("cohort: {splits: {train: 0.5, validation: 0.3, test: 0.3}}", "must sum to 1"),
            ("cohort: {size: 0}", "cohort.size: must be at least 1"),
            ("cohort: {sise: 10}", "unknown key 'sise' (did you mean 'size'?)"),
            ("template: {voxel_mm: 8}", "template.voxel_mm: must be between 1 and 4"),
            ("twin: {switch_off: [ghost]}", "no bias is named 'ghost'"),
            ("sites: [{name: a, held_out: true}]", "every site is held out"),
            ("disease: {kind: shrink}", "disease.kind: must be one of atrophy, expansion"),
            ("biases: [{name: a}, {name: a, region: Caudate_R}]", "the name 'a' is used twice"),
            ("seed: -3", "seed: must be 0 or more"),
            ("cohort: {size: ten}", "cohort.size: must be a whole number, got 'ten'"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try read(yaml), yaml) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(yaml) → \(error)")
                XCTAssertFalse("\(error)".contains("\n"), "\(error)")
            }
        }
    }
}
