import Synthesis
@testable import Training
import XCTest
import YAMLConfig

/// `training.site_samples`: the training split dealt into tiny sites.
final class SiteDealingTests: XCTestCase {
    /// 23 training, 5 validation and 4 test samples in sorted index order,
    /// validation and test at dataset sites 1 and 2.
    func samples() -> [SampleRecord] {
        (0..<32).map { index in
            let split: Split = index < 23 ? .train : index < 28 ? .validation : .test
            return SampleRecord(index: index, split: split, label: index % 2, site: split == .train ? 0 : index % 2 + 1,
                                biasFlags: [index % 3 == 0], biasCoefficients: [0], subjectCoefficients: [], diseaseCoefficient: 0)
        }
    }

    func dealt(_ siteSamples: Int, seed: UInt64 = 1) -> [SampleRecord] {
        var config = TrainingConfig()
        config.siteSamples = siteSamples
        config.seed = seed
        var samples = samples()
        config.dealSites(&samples)
        return samples
    }

    func testEverySiteHasThatManyTrainingSamplesAndTheOtherSplitsKeepTheirSites() {
        for size in [1, 2, 5, 23, 40] {
            let samples = dealt(size)
            let training = samples.filter { $0.split == .train }
            let counts = Dictionary(grouping: training, by: \.site).mapValues(\.count)
            let sites = (23 + size - 1) / size
            XCTAssertEqual(counts.keys.sorted(), Array(0..<sites), "size \(size)")
            for site in 0..<(sites - 1) { XCTAssertEqual(counts[site], size, "size \(size), site \(site)") }
            XCTAssertEqual(counts[sites - 1], 23 - (sites - 1) * size, "size \(size): the last site holds the rest")
            XCTAssertEqual(samples.filter { $0.split != .train }, self.samples().filter { $0.split != .train })
        }
    }

    func testTheSitesAreAShuffleOfTheTrainingSplitDrawnFromTheSeed() {
        XCTAssertEqual(dealt(2, seed: 4).map(\.site), dealt(2, seed: 4).map(\.site))
        XCTAssertNotEqual(dealt(2, seed: 4).map(\.site), dealt(2, seed: 5).map(\.site))
        // Not the index order: consecutive training samples do not fill the sites in turn.
        XCTAssertNotEqual(dealt(1).filter { $0.split == .train }.map(\.site), Array(0..<23))
    }

    func testOffLeavesTheDatasetsSites() {
        XCTAssertEqual(dealt(0), samples())
    }

    func testCombinationsThatNeedTheSitesOtherSplitsAreRefused() {
        let cases: [(String, String)] = [
            ("training:\n  site_samples: 2\n  sites: 4\n", "give one"),
            ("training:\n  site_samples: 2\n  strategy: local\n", "training.site_samples: deals only training samples into sites, but local models"),
            ("training:\n  site_samples: 2\n  strategy: federated\n  fedbn: true\n", "but FedBN"),
            ("training:\n  site_samples: 2\n  strategy: travelling\n  unlearn: site\n", "but HarmonyTM"),
            ("training:\n  site_samples: 2\n  strategy: federated\n  partition: bias_group\n", "site_samples: 2 deals samples into sites, partition: bias_group"),
            ("training:\n  site_samples: -1\n", "training.site_samples: must be at least 0"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try TrainingConfig.read(try ConfigNode.parse(yaml, source: "test.yaml")), yaml) { error in
                XCTAssertTrue(String(describing: error).contains(expected), "\(error) should contain \(expected)")
            }
        }
        for strategy in ["central", "federated", "travelling", "fedtm\n  federated_rounds: 2"] {
            XCTAssertNoThrow(try TrainingConfig.read(try ConfigNode.parse("training:\n  site_samples: 1\n  strategy: \(strategy)\n", source: "t.yaml")))
        }
    }
}
