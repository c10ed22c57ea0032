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
    /// Training replicates of every arm (training seed, seed + 1, …: other
    /// weights, shuffles and dropout on the same cohorts).
    public var replicates = 1
    /// Cohorts regenerated from other seeds (cohort seed, seed + 1, …), each
    /// with every arm's training replicates.
    public var cohortReplicates = 1
    /// What an arm must reach on its test images (every replicate) before
    /// any fairness verdict is printed for it.
    public var floors = LearningFloors()

    public init() {}

    public var bootstrapSettings: BootstrapSettings {
        BootstrapSettings(resamples: bootstrap, confidenceLevel: confidenceLevel, seed: seed)
    }

    public func validate() throws { try Self.schema.validate(self) }

    /// Reads the `analysis:` section (absent: the defaults); unknown keys are refused.
    public static func read(_ root: ConfigNode, defaults: AnalysisConfig = AnalysisConfig()) throws -> AnalysisConfig {
        try schema.read(root, defaults: defaults)
    }

    /// The section as commented YAML, for experiment.yaml and `simba config`.
    public var yaml: String { Self.schema.yaml(self) }

    /// The analysis that goes with each cohort preset.
    public static func preset(_ cohort: CohortPreset) -> AnalysisConfig {
        var config = AnalysisConfig()
        switch cohort {
        case .tiny:
            config.bootstrap = 200
            config.saliency = 2
        case .quickstart:
            config.arms = [ArmName.biased, ArmName.twin, ArmName.reweighed]
            config.replicates = 3
        case .wholeBrain:
            config.arms = [ArmName.biased, ArmName.twin, ArmName.reweighed]
            config.replicates = 3
        case .quickstartNull:
            // The control needs the biased arm and its twin; nothing to mitigate, no maps.
            config.replicates = 3
            config.saliency = 0
        case .simbaJAMIA, .multibias:
            config.arms = [ArmName.biased, ArmName.twin, ArmName.reweighed]
        case .multisite:
            config.arms = [ArmName.central, ArmName.federated, ArmName.travelling]
        case .tinySites:
            // The question is accuracy and disparity per strategy; no probes or maps.
            config.arms = [ArmName.central, ArmName.federated, ArmName.travelling]
            config.replicates = 3
            config.probes = false
            config.saliency = 0
        }
        return config
    }
}

extension AnalysisConfig {
    /// The `analysis:` keys, once: reading, checks, YAML and overrides follow from it.
    public static let schema = ConfigSchema<AnalysisConfig>("analysis", comment: "the arms simba run trains and how they are evaluated", [
        ConfigField("arms", \.arms, .names, "\(([ArmName.biased, ArmName.twin] + ArmName.mitigations).joined(separator: ", "));"
                    + " multi-site: \(ArmName.strategies.joined(separator: ", "))",
                    check: ConfigCheck(armsProblem)),
        ConfigField("bootstrap", \.bootstrap, .int, "resamples for every confidence interval", check: .within(100...1_000_000, "resamples")),
        ConfigField("confidence_level", \.confidenceLevel, .double, "of every interval, in (0.5, 1)", check: ConfigCheck {
            $0 > 0.5 && $0 < 1 ? nil : "must be in (0.5, 1), got \($0)"
        }),
        ConfigField("probes", \.probes, .bool, "layer-wise encoding probes of every arm"),
        ConfigField("folds", \.folds, .int, "cross-validation folds of the probes", check: .within(2...100)),
        ConfigField("probe_memory_mib", \.probeMemoryMiB, .int, "for one layer's activations; more: pooled",
                    check: .within(1...1 << 30, "MiB")),
        ConfigField("saliency", \.saliency, .int, "SmoothGrad maps per bias group × outcome; 0: none", check: ConfigCheck {
            (0...100_000).contains($0) ? nil : "must be 0 (off) to 100000 images, got \($0)"
        }),
        ConfigField("saliency_threshold", \.saliencyThreshold, .double, "lower threshold on the mean maps, in [0, 1)",
                    check: ConfigCheck { $0 >= 0 && $0 < 1 ? nil : "must be in [0, 1), got \($0)" }),
        ConfigField("checkpoint", \.checkpoint, .text, "evaluated: best (lowest validation loss) or latest",
                    check: ConfigCheck { ["best", "latest"].contains($0) ? nil : "must be best or latest, got '\($0)'" }),
        ConfigField("seed", \.seed, .unsigned, "the bootstrap and the probes' folds"),
        ConfigField("replicates", \.replicates, .int, "training replicates of every arm (training seeds seed, seed+1, …)",
                    check: .within(1...100, "replicates")),
        ConfigField("cohort_replicates", \.cohortReplicates, .int, "cohorts regenerated from cohort seeds seed, seed+1, …",
                    check: .within(1...20, "cohorts")),
        ConfigField("floor_auroc", \.floors.auroc, .double, "test AUROC every replicate of an arm must reach before its verdicts",
                    check: ConfigCheck { (0.5...1).contains($0) ? nil : "must be in [0.5, 1], got \($0)" }),
        ConfigField("floor_balanced_accuracy", \.floors.balancedAccuracy, .double,
                    "test (TPR + TNR) / 2 at the threshold used, likewise",
                    check: ConfigCheck { (0.5...1).contains($0) ? nil : "must be in [0.5, 1], got \($0)" }),
    ])

    /// What is wrong with a list of arms: an unknown or repeated one, no
    /// biased (or central) arm, an arm before the arm it starts from.
    static func armsProblem(_ arms: [String]) -> String? {
        guard arms.contains(ArmName.biased) || arms.contains(ArmName.central) else {
            return "must include \(ArmName.biased) (or \(ArmName.central) for a multi-site experiment), got \(arms)"
        }
        if let unknown = arms.first(where: { !ArmName.all.contains($0) }) {
            return "'\(unknown)' is not an arm (arms: \(ArmName.all.joined(separator: ", ")))"
        }
        guard Set(arms).count == arms.count else { return "lists an arm twice: \(arms)" }
        for (follower, start, does) in ArmName.startsFrom {
            if let position = arms.firstIndex(of: follower),
               !(arms.firstIndex(of: start).map { $0 < position } ?? false) {
                return "\(follower) \(does) the \(start) arm's model, so \(start) must come before it: got \(arms)"
            }
        }
        return nil
    }
}
