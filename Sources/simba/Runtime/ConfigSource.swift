import ArgumentParser
import Experiment
import Synthesis
import Training
import YAMLConfig

/// Where an experiment's settings come from: a YAML file or a named preset.
struct ConfigSource: ParsableArguments {
    @Argument(help: "Configuration file (YAML; 'simba config --preset NAME' prints a starting point).")
    var config: String?

    @Option(help: "Use a named preset instead of a configuration file ('simba config --list').")
    var preset: String?

    @Option(help: "Override the configuration's seed.")
    var seed: Int?

    func validate() throws {
        if config != nil && preset != nil { throw ValidationError("give a configuration file or --preset, not both") }
        if config == nil && preset == nil { throw ValidationError("give a configuration file or --preset NAME") }
        if let preset, CohortPreset(rawValue: preset) == nil {
            throw ValidationError(PresetError(name: preset).description)
        }
        if let seed, seed < 0 { throw ValidationError("--seed must be 0 or more") }
    }

    /// Top-level sections read by later stages; accepted here so one file
    /// can describe a whole experiment.
    static let otherStages = ["training", "analysis", "sweep"]

    /// Reads the cohort part of the configuration (validated).
    func cohortConfig() throws -> CohortConfig {
        var cohort: CohortConfig
        if let config {
            let root = try ConfigNode.load(file: config)
            cohort = try CohortConfig.read(root)
            for key in Self.otherStages { _ = root.contains(key) }
            try root.finish()
        } else {
            cohort = try CohortPreset.named(preset ?? "").config
        }
        if let seed { cohort.seed = UInt64(seed) }
        return cohort
    }

    /// Reads the training part: the file's `training:` section (SimBA's
    /// settings where it is silent) or the training that goes with the preset.
    /// The file's other sections are checked too, so a typo anywhere is refused.
    func trainingConfig() throws -> TrainingConfig {
        var training: TrainingConfig
        if let config {
            let root = try ConfigNode.load(file: config)
            _ = try CohortConfig.read(root)
            training = try TrainingConfig.read(root)
            _ = try AnalysisConfig.read(root)
            _ = try SweepConfig.read(root)
            try root.finish()
        } else {
            training = TrainingConfig.preset(CohortPreset(rawValue: preset ?? "")!)
        }
        if let seed { training.seed = UInt64(seed) }
        return training
    }

    /// Reads the analysis part: the file's `analysis:` section or the
    /// analysis that goes with the preset.
    func analysisConfig() throws -> AnalysisConfig {
        if let config {
            let root = try ConfigNode.load(file: config)
            _ = try CohortConfig.read(root)
            _ = try TrainingConfig.read(root)
            let analysis = try AnalysisConfig.read(root)
            _ = try SweepConfig.read(root)
            try root.finish()
            return analysis
        }
        return AnalysisConfig.preset(CohortPreset(rawValue: preset ?? "")!)
    }

    /// The `sweep:` section, if the file (or the preset: tiny-sites) has one.
    func sweepConfig() throws -> SweepConfig? {
        guard let config else { return SweepConfig.preset(CohortPreset(rawValue: preset ?? "")!) }
        return try SweepConfig.read(try ConfigNode.load(file: config))
    }

    /// The text stored in output files so they say how they were made.
    func describedYAML(_ cohort: CohortConfig) -> String {
        cohort.yaml(title: config.map { "from \($0)" } ?? "preset \(preset ?? "")")
    }
}
