import Analysis
import Synthesis
import YAMLConfig

/// The `analysis:` section of an experiment: which arms `simba run`
/// trains and how they are evaluated.
public struct AnalysisConfig: Equatable, Sendable {
    /// Arms to train: biased, twin (the counterfactual no-bias cohort),
    /// reweighed (the biased cohort with reweighing), group-models (the
    /// biased arm's model fine-tuned per bias group); for multi-site
    /// experiments central, federated, travelling (and local): the biased
    /// cohort's sites under each strategy.
    public var arms = [ArmName.biased, ArmName.twin]
    /// Bootstrap resamples for every confidence interval.
    public var bootstrap = 1000
    public var confidenceLevel = 0.95
    /// Layer-wise encoding probes of every arm.
    public var probes = true
    /// Cross-validation folds of the probes.
    public var folds = 5
    /// Memory for one layer's test-set activations in a probe; a layer that
    /// needs more is average-pooled f×f×f with the smallest f that fits.
    public var probeMemoryMiB = 2048
    /// SmoothGrad maps of up to this many correctly classified test images
    /// per bias group × outcome (TP, TN); 0 skips saliency (SimBA: 10).
    public var saliency = 10
    /// Lower threshold on the mean maps before region scoring.
    public var saliencyThreshold = 0.2
    /// Which checkpoint is evaluated: best (lowest validation loss) or latest.
    public var checkpoint = "best"
    /// Seeds the bootstrap and the probes' folds.
    public var seed: UInt64 = 0

    public init() {}

    public var bootstrapSettings: BootstrapSettings {
        BootstrapSettings(resamples: bootstrap, confidenceLevel: confidenceLevel, seed: seed)
    }

    public func validate() throws {
        guard arms.contains(ArmName.biased) || arms.contains(ArmName.central) else {
            throw ConfigError("analysis.arms", "must include \(ArmName.biased) (or \(ArmName.central) for a multi-site experiment), got \(arms)")
        }
        if let unknown = arms.first(where: { !ArmName.all.contains($0) }) {
            throw ConfigError("analysis.arms", "'\(unknown)' is not an arm (arms: \(ArmName.all.joined(separator: ", ")))")
        }
        guard Set(arms).count == arms.count else { throw ConfigError("analysis.arms", "lists an arm twice: \(arms)") }
        if let groupModels = arms.firstIndex(of: ArmName.groupModels),
           !(arms.firstIndex(of: ArmName.biased).map { $0 < groupModels } ?? false) {
            throw ConfigError("analysis.arms", "\(ArmName.groupModels) fine-tunes the \(ArmName.biased) arm's model, so \(ArmName.biased) must come before it: got \(arms)")
        }
        guard bootstrap >= 100 else { throw ConfigError("analysis.bootstrap", "must be at least 100 resamples, got \(bootstrap)") }
        guard confidenceLevel > 0.5, confidenceLevel < 1 else {
            throw ConfigError("analysis.confidence_level", "must be in (0.5, 1), got \(confidenceLevel)")
        }
        guard folds >= 2 else { throw ConfigError("analysis.folds", "must be at least 2, got \(folds)") }
        guard probeMemoryMiB >= 1 else { throw ConfigError("analysis.probe_memory_mib", "must be at least 1, got \(probeMemoryMiB)") }
        guard saliency >= 0 else { throw ConfigError("analysis.saliency", "must be 0 (off) or more images, got \(saliency)") }
        guard saliencyThreshold >= 0, saliencyThreshold < 1 else {
            throw ConfigError("analysis.saliency_threshold", "must be in [0, 1), got \(saliencyThreshold)")
        }
        guard ["best", "latest"].contains(checkpoint) else {
            throw ConfigError("analysis.checkpoint", "must be best or latest, got '\(checkpoint)'")
        }
    }

    /// Reads the `analysis:` section (absent: the defaults); unknown keys are refused.
    public static func read(_ root: ConfigNode, defaults: AnalysisConfig = AnalysisConfig()) throws -> AnalysisConfig {
        let node = try root.sectionOrEmpty("analysis")
        var config = defaults
        config.arms = try node.strings("arms") ?? defaults.arms
        config.bootstrap = try node.int("bootstrap", default: defaults.bootstrap)
        config.confidenceLevel = try node.double("confidence_level", default: defaults.confidenceLevel)
        config.probes = try node.bool("probes", default: defaults.probes)
        config.folds = try node.int("folds", default: defaults.folds)
        config.probeMemoryMiB = try node.int("probe_memory_mib", default: defaults.probeMemoryMiB)
        config.saliency = try node.int("saliency", default: defaults.saliency)
        config.saliencyThreshold = try node.double("saliency_threshold", default: defaults.saliencyThreshold)
        config.checkpoint = try node.string("checkpoint", default: defaults.checkpoint)
        if let seed = try node.int("seed") {
            guard seed >= 0 else { throw ConfigError(node.keyPath("seed"), "must be 0 or more, got \(seed)") }
            config.seed = UInt64(seed)
        }
        try node.finish()
        try config.validate()
        return config
    }

    public var yaml: String {
        """
        analysis:
          arms: [\(arms.joined(separator: ", "))]
          bootstrap: \(bootstrap)
          confidence_level: \(confidenceLevel)
          probes: \(probes)
          folds: \(folds)
          probe_memory_mib: \(probeMemoryMiB)
          saliency: \(saliency)
          saliency_threshold: \(saliencyThreshold)
          checkpoint: \(checkpoint)
          seed: \(seed)

        """
    }

    /// The analysis that goes with each cohort preset.
    public static func preset(_ cohort: CohortPreset) -> AnalysisConfig {
        var config = AnalysisConfig()
        switch cohort {
        case .tiny:
            config.bootstrap = 200
            config.saliency = 2
        case .quickstart, .simbaJAMIA, .multibias:
            config.arms = [ArmName.biased, ArmName.twin, ArmName.reweighed]
        case .multisite:
            config.arms = [ArmName.central, ArmName.federated, ArmName.travelling]
        }
        return config
    }
}
