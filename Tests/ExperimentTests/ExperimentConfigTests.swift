import Synthesis
import Training
import XCTest
import YAMLConfig
@testable import Experiment

/// The whole experiment as one YAML file: what `simba config --preset NAME`
/// prints reads back as exactly the preset, so `simba run FILE` repeats it.
final class ExperimentConfigTests: XCTestCase {
    func read(_ yaml: String) throws -> ExperimentConfig {
        try ExperimentConfig.read(try ConfigNode.parse(yaml, source: "test.yaml"))
    }

    func testEveryPrintedPresetReadsBackAsThePreset() throws {
        for preset in CohortPreset.allCases {
            let expected = ExperimentConfig.preset(preset)
            let text = expected.yaml(title: "simba preset '\(preset.rawValue)': \(preset.summary)")
            let config = try read(text)
            XCTAssertEqual(config.cohort, preset.config, preset.rawValue)
            XCTAssertEqual(config.training, TrainingConfig.preset(preset), preset.rawValue)
            XCTAssertEqual(config.analysis, AnalysisConfig.preset(preset), preset.rawValue)
            XCTAssertEqual(config.sweep, SweepConfig.preset(preset), preset.rawValue)
            XCTAssertEqual(config, expected, "preset \(preset.rawValue):\n\(text)")
        }
    }

    /// Every key of the training and analysis sections carries its comment.
    func testTrainingAndAnalysisKeysAreCommented() {
        let text = ExperimentConfig.preset(.quickstart).yaml(title: "quickstart")
        let sections = text.components(separatedBy: "\ntraining:")[1]
        let keyLines = sections.split(separator: "\n").dropFirst().filter { $0.hasPrefix("  ") }
        XCTAssertEqual(keyLines.count, TrainingConfig.schema.fields.count - 1 + AnalysisConfig.schema.fields.count,
                       "initialize_from is left out while unset")
        for line in keyLines { XCTAssertTrue(line.contains(" # "), "no comment: \(line)") }
        XCTAssertTrue(text.contains("\ntraining:") && text.contains("\nanalysis:"), text)
        XCTAssertTrue(text.contains("  epochs: 40 "), "the quickstart's epochs, not SimBA's 1000:\n\(text)")
    }

    /// Doubles, odd paths and a sweep survive the round trip too.
    func testAWholeFileRoundTripsExactly() throws {
        var config = ExperimentConfig.preset(.tiny)
        config.training.learningRate = 1e-5
        config.training.dropout = 0.1 + 0.2
        config.training.strategy = .local
        config.training.initializeFrom = "out/a \"b\": c\\d #1.h5"
        config.analysis.confidenceLevel = 0.9
        config.analysis.saliencyThreshold = 1.0 / 3
        config.analysis.checkpoint = "latest"
        var sweep = SweepConfig()
        sweep.factor = .prevalence
        sweep.values = ["0.5", "0.9", "1"]
        config.sweep = sweep
        let text = config.yaml(title: "round trip")
        XCTAssertEqual(try read(text), config, text)
        XCTAssertTrue(text.contains("values: [0.5, 0.9, 1]"), text)
        var names = sweep
        names.factor = .proximity
        names.values = ["Caudate_R", "yes", "1.50", "a, b"]
        config.sweep = names
        XCTAssertEqual(try read(config.yaml(title: "names")).sweep, names)
    }

    func testEverySectionIsChecked() {
        let base = ExperimentConfig.preset(.tiny).yaml(title: "tiny")
        let cases: [(String, String)] = [
            ("batch: 6", "batch: 0"),
            ("batch: 6", "batchsize: 6"),
            ("bootstrap: 200", "bootstrap: 10"),
            ("arms: [biased, twin]", "arms: [twin]"),
        ]
        let messages = ["training.batch: must be at least 1, got 0", "training: unknown key 'batchsize'",
                        "analysis.bootstrap: must be at least 100 resamples, got 10",
                        "analysis.arms: must include biased (or central for a multi-site experiment), got [\"twin\"]"]
        for ((old, new), message) in zip(cases, messages) {
            let text = base.replacingOccurrences(of: old, with: new)
            XCTAssertNotEqual(text, base)
            XCTAssertThrowsError(try read(text), new) { error in
                XCTAssertTrue(String(describing: error).contains(message), "\(error) should contain \(message)")
            }
        }
        XCTAssertThrowsError(try read(base + "sweep:\n  factor: salience\n")) { error in
            XCTAssertEqual(String(describing: error), "sweep.values: must list the values to sweep")
        }
    }

    /// Command-line overrides go through the same table and its messages.
    func testOverridesAreCheckedLikeTheFile() throws {
        var training = TrainingConfig.preset(.tiny)
        try TrainingConfig.schema.override("epochs", with: 5, in: &training)
        try TrainingConfig.schema.override("learning_rate", with: 0.1 + 0.2, in: &training)
        try TrainingConfig.schema.override("strategy", with: "federated", in: &training)
        try TrainingConfig.schema.override("sites", with: nil as Int?, in: &training)
        XCTAssertEqual([training.epochs, training.sites], [5, 0])
        XCTAssertEqual(training.learningRate, 0.1 + 0.2)
        XCTAssertEqual(training.strategy, .federated)
        let refusals: [(String, String, String)] = [
            ("epochs", "0", "training.epochs: must be at least 1, got 0"),
            ("batch", "two", "training.batch: must be a whole number, got 'two'"),
            ("strategy", "gossip", "training.strategy: must be one of central, federated, travelling, local, fedtm, got 'gossip'"),
            ("unlearning_beta", "0", "training.unlearning_beta: must be in (0, 1000], got 0.0"),
        ]
        for (key, text, message) in refusals {
            XCTAssertThrowsError(try TrainingConfig.schema.override(key, with: text, in: &training)) { error in
                XCTAssertEqual(String(describing: error), message)
            }
        }
        var unlearning = TrainingConfig.preset(.tiny)
        unlearning.strategy = .federated
        try TrainingConfig.schema.override("unlearn", with: "bias", in: &unlearning)
        XCTAssertThrowsError(try unlearning.validate()) { error in
            XCTAssertEqual(String(describing: error), "training.unlearn: bias unlearning trains strategy central, not federated")
        }
        var harmony = TrainingConfig.preset(.tiny)
        harmony.strategy = .travelling
        try TrainingConfig.schema.override("unlearn", with: "site", in: &harmony)
        try TrainingConfig.schema.override("unlearning_reweigh", with: "all", in: &harmony)
        XCTAssertThrowsError(try harmony.validate()) { error in
            XCTAssertTrue(String(describing: error).hasPrefix("training.unlearning_reweigh: all also reweighs the disease loss by bias group"))
        }
        XCTAssertThrowsError(try TrainingConfig.schema.override("unlearning_reweigh", with: "disease", in: &harmony)) { error in
            XCTAssertEqual(String(describing: error), "training.unlearning_reweigh: must be one of none, adversary, all, got 'disease'")
        }
        // It was true or false before 'all' came: older files and run files still read.
        for (old, now) in [("false", UnlearningReweighing.none), ("true", .adversary)] {
            let read = try TrainingConfig.read(try ConfigNode.parse("training:\n  unlearning_reweigh: \(old)\n", source: "old.yaml"))
            XCTAssertEqual(read.unlearningReweigh, now)
            XCTAssertTrue(read.yaml.contains("unlearning_reweigh: \(now.rawValue) "), read.yaml)
        }
        // Only bias unlearning weighs the disease loss through unlearning_reweigh.
        try TrainingConfig.schema.override("unlearning_reweigh", with: "adversary", in: &harmony)
        XCTAssertFalse(harmony.reweighsDiseaseLoss)
        unlearning.strategy = .central
        try TrainingConfig.schema.override("unlearning_reweigh", with: "all", in: &unlearning)
        XCTAssertTrue(unlearning.reweighsDiseaseLoss)
        var analysis = AnalysisConfig()
        try AnalysisConfig.schema.override("arms", with: "biased, reweighed,group-models", in: &analysis)
        XCTAssertEqual(analysis.arms, [ArmName.biased, ArmName.reweighed, ArmName.groupModels])
        XCTAssertThrowsError(try AnalysisConfig.schema.override("arms", with: "group-models,biased", in: &analysis)) { error in
            XCTAssertTrue(String(describing: error).hasPrefix("analysis.arms: group-models fine-tunes the biased arm's model"))
        }
        XCTAssertThrowsError(try AnalysisConfig.schema.override("arms", with: "unlearning,biased", in: &analysis)) { error in
            XCTAssertTrue(String(describing: error).hasPrefix("analysis.arms: unlearning unlearns the bias from the biased arm's model"))
        }
    }
}
