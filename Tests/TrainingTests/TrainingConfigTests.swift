import Synthesis
import Training
import XCTest
import YAMLConfig

final class TrainingConfigTests: XCTestCase {
    func read(_ yaml: String) throws -> TrainingConfig {
        try TrainingConfig.read(try ConfigNode.parse(yaml, source: "test.yaml"))
    }

    func testDefaultsAreSimBAs() throws {
        let config = try read("seed: 3\n")
        XCTAssertEqual(config.widths, [32, 64, 128, 256, 512])
        XCTAssertEqual(config.batch, 2)
        XCTAssertEqual(config.learningRate, 1e-4)
        XCTAssertEqual(config.patience, 15)
        XCTAssertEqual(config.activation, .sigmoid)
        XCTAssertEqual(config.strategy, .central)
    }

    func testReadsEveryKeyAndRoundTripsThroughYAML() throws {
        let config = try read("""
            training:
              widths: [4, 8]
              activation: relu
              dropout: 0.1
              epochs: 7
              batch: 3
              learning_rate: 0.001
              patience: 2
              reweighing: true
              seed: 9
              strategy: federated
              sites: 4
              local_epochs: 2
              aggregation: samples
              proximal_mu: 0.01
              fedbn: true
            """)
        XCTAssertEqual(config.widths, [4, 8])
        XCTAssertEqual(config.activation, .relu)
        XCTAssertEqual(config.dropout, 0.1)
        XCTAssertEqual(config.epochs, 7)
        XCTAssertEqual(config.batch, 3)
        XCTAssertEqual(config.learningRate, 0.001)
        XCTAssertEqual(config.patience, 2)
        XCTAssertTrue(config.reweighing)
        XCTAssertEqual(config.seed, 9)
        XCTAssertEqual(config.strategy, .federated)
        XCTAssertEqual(config.sites, 4)
        XCTAssertEqual(config.localEpochs, 2)
        XCTAssertEqual(config.aggregation, .samples)
        XCTAssertEqual(config.proximalMu, 0.01)
        XCTAssertTrue(config.fedBN)
        XCTAssertEqual(try read(config.yaml), config)
        let calibrated = try read("training:\n  batchnorm_calibration: true\n")
        XCTAssertTrue(calibrated.batchNormCalibration)
        XCTAssertEqual(try read(calibrated.yaml), calibrated)
        let local = try read("training:\n  strategy: local\n  sites: 3\n  local_epochs: 2\n  batchnorm_calibration: true\n")
        XCTAssertEqual(local.strategy, .local)
        XCTAssertTrue(local.batchNormCalibration, "local calibrates each site on its own data")
        // Federated (FedAvg, FedProx, FedBN) and travelling calibrate from the sites' summed statistics.
        for strategy in ["federated", "travelling"] {
            let site = try read("training:\n  strategy: \(strategy)\n  sites: 3\n  batchnorm_calibration: true\n")
            XCTAssertTrue(site.batchNormCalibration, strategy)
            XCTAssertEqual(try read(site.yaml), site)
        }
        XCTAssertTrue(try read("training:\n  strategy: federated\n  fedbn: true\n  batchnorm_calibration: true\n").fedBN)
        XCTAssertEqual(try read(local.yaml), local)
        let groups = try read("training:\n  strategy: local\n  partition: bias_group\n  initialize_from: 'out/a \"b\": c\\\\d.h5'\n")
        XCTAssertEqual(groups.partition, .biasGroup)
        XCTAssertEqual(groups.initializeFrom, "out/a \"b\": c\\\\d.h5")
        XCTAssertEqual(try read(groups.yaml), groups)
        XCTAssertNil(local.initializeFrom)
        XCTAssertEqual(local.partition, .site)
    }

    func testErrorsNameTheKey() {
        let cases: [(String, String)] = [
            ("training:\n  batch: 0\n", "training.batch: must be at least 1"),
            ("training:\n  widths: [4, 2.5]\n", "training.widths: must be whole positive filter counts"),
            ("training:\n  dropout: 1\n", "training.dropout: must be in [0, 1)"),
            ("training:\n  learning_rate: -1\n", "training.learning_rate: must be positive"),
            ("training:\n  strategy: gossip\n", "training.strategy: must be one of central, federated, travelling, local"),
            ("training:\n  strategy: local\n  fedbn: true\n", "apply to strategy federated only, not local"),
            ("training:\n  partition: bias_group\n", "training.partition: applies to the site strategies"),
            ("training:\n  strategy: local\n  partition: bias_group\n  sites: 2\n", "give one"),
            ("training:\n  strategy: local\n  partition: scanner\n", "training.partition: must be one of site, bias_group"),
            ("training:\n  initialize_from: ''\n", "training.initialize_from: must name a run file"),
            ("training:\n  epoch: 3\n", "unknown key 'epoch' (did you mean 'epochs'?)"),
            ("training:\n  activation: tanh\n", "training.activation: must be one of sigmoid, relu"),
            ("training:\n  local_epochs: 0\n", "training.local_epochs: must be at least 1"),
            ("training:\n  aggregation: median\n", "training.aggregation: must be one of uniform, samples"),
            ("training:\n  strategy: federated\n  proximal_mu: -0.1\n", "training.proximal_mu: must be 0 or more"),
            ("training:\n  fedbn: true\n", "training: proximal_mu and fedbn apply to strategy federated only, not central"),
            ("training:\n  strategy: fedtm\n", "training.federated_rounds: strategy fedtm needs at least 1 FedAvg round before travelling, got 0"),
            ("training:\n  strategy: fedtm\n  federated_rounds: -1\n", "training.federated_rounds: must be at least 0"),
            ("training:\n  strategy: fedtm\n  federated_rounds: 2\n  fedbn: true\n", "apply to strategy federated only, not fedtm"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try read(yaml), yaml) { error in
                XCTAssertTrue(String(describing: error).contains(expected), "\(error) should contain \(expected)")
            }
        }
    }

    func testEveryCohortPresetHasAValidTraining() throws {
        for preset in CohortPreset.allCases { try TrainingConfig.preset(preset).validate() }
        XCTAssertEqual(TrainingConfig.preset(.simbaJAMIA), TrainingConfig())
        XCTAssertLessThan(TrainingConfig.preset(.tiny).widths.count, 5)
    }
}
