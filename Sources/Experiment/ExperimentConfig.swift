import Synthesis
import Training
import YAMLConfig

/// A whole experiment's configuration as one YAML file: the cohort keys,
/// then the `training:`, `analysis:` and (for `simba sweep`) `sweep:`
/// sections. `simba config` prints and checks it; printed for a preset, it
/// reads back as that preset, so `simba run FILE` repeats `--preset NAME`.
public struct ExperimentConfig: Equatable, Sendable {
    public var cohort: CohortConfig
    public var training: TrainingConfig
    public var analysis: AnalysisConfig
    public var sweep: SweepConfig?

    public init(cohort: CohortConfig, training: TrainingConfig, analysis: AnalysisConfig, sweep: SweepConfig? = nil) {
        self.cohort = cohort
        self.training = training
        self.analysis = analysis
        self.sweep = sweep
    }

    /// A preset's cohort with the training and analysis that go with it.
    public static func preset(_ preset: CohortPreset) -> ExperimentConfig {
        ExperimentConfig(cohort: preset.config, training: .preset(preset), analysis: .preset(preset), sweep: .preset(preset))
    }

    /// Reads every section (an absent one: its defaults), each validated;
    /// unknown keys anywhere are refused.
    public static func read(_ root: ConfigNode) throws -> ExperimentConfig {
        let config = ExperimentConfig(cohort: try CohortConfig.read(root), training: try TrainingConfig.read(root),
                                      analysis: try AnalysisConfig.read(root), sweep: try SweepConfig.read(root))
        try root.finish()
        return config
    }

    /// The checks beyond each section's own: the cohort's strata can be
    /// filled, and every experiment of the sweep can be made.
    public func check() throws {
        _ = try CohortDesign(cohort)
        if let sweep { _ = try sweep.experiments(base: cohort, training: training) }
    }

    /// The whole file, every key commented, in the order `simba run` writes
    /// experiment.yaml; reading it back gives the same configuration.
    public func yaml(title: String) -> String {
        cohort.yaml(title: title) + "\n" + training.yaml + "\n" + analysis.yaml + (sweep.map { "\n" + $0.yaml } ?? "")
    }
}
