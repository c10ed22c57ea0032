import Foundation
import Synthesis
import Training
import YAMLConfig

/// The factors SimBA's papers vary, one at a time.
public enum SweepFactor: String, CaseIterable, Sendable {
    /// Where the bias is: its region, at increasing distance from the disease region.
    case proximity
    /// How strong the bias is: a morphological bias's strength (mm), a
    /// regional intensity change, a global contrast factor.
    case salience
    /// How common the bias is: its share p of the disease class, with 1 − p
    /// of the healthy class (0.5: no correlation with the disease).
    case prevalence
    /// How many training samples each site has (`training.site_samples`):
    /// the same cohort, its training split dealt into ever smaller sites
    /// (the lab's travelling-model papers: 1, 2, 5 per site).
    case siteSamples = "site_samples"
}

/// The `sweep:` section: one factor of one bias (or the sites' size) over
/// a list of values; every value is a whole counterfactual experiment.
public struct SweepConfig: Equatable, Sendable {
    public var factor = SweepFactor.salience
    /// Region names (proximity) or numbers (salience, prevalence), as written.
    public var values: [String] = []
    /// Which bias of the cohort the sweep varies (0-based).
    public var bias = 0

    public init() {}

    /// The `sweep:` keys, once: reading, checks, YAML and overrides follow from it.
    public static let schema = ConfigSchema<SweepConfig>("sweep", comment: "one factor of one bias over a list of values", [
        ConfigField("factor", \.factor, .choice, "proximity, salience, prevalence (of one bias) or site_samples (training samples per site)"),
        ConfigField("values", \.values, .names, "region names (proximity) or numbers; one experiment each",
                    check: ConfigCheck { $0.isEmpty ? "must list the values to sweep" : nil }),
        ConfigField("bias", \.bias, .int, "which bias of the cohort (0-based)"),
    ])

    /// Reads the `sweep:` section, if the file has one; unknown keys are refused.
    public static func read(_ root: ConfigNode) throws -> SweepConfig? {
        guard let node = try root.section("sweep") else { return nil }
        var config = SweepConfig()
        try schema.read(node, into: &config)
        try schema.validate(config)
        return config
    }

    /// The sweep that goes with a preset, if any: tiny-sites sweeps the
    /// sites' size over the lab's 1, 2 and 5 training samples per site.
    public static func preset(_ cohort: CohortPreset) -> SweepConfig? {
        guard cohort == .tinySites else { return nil }
        var config = SweepConfig()
        config.factor = .siteSamples
        config.values = ["1", "2", "5"]
        return config
    }

    /// The section as commented YAML, for `simba config`.
    public var yaml: String { Self.schema.yaml(self) }

    /// The experiments of the sweep: a name, the cohort and the training for each value.
    public func experiments(base: CohortConfig, training: TrainingConfig) throws -> [SweepExperiment] {
        guard factor == .siteSamples || base.biases.indices.contains(bias) else {
            throw ConfigError("sweep.bias", "is \(bias), but the cohort has \(base.biases.count) bias(es)")
        }
        guard Set(values).count == values.count else { throw ConfigError("sweep.values", "lists a value twice: \(values)") }
        return try values.enumerated().map { index, value in
            var cohort = base, varied = training
            if factor == .siteSamples {
                try apply(value, to: &varied)
            } else {
                try apply(value, to: &cohort)
            }
            let safe = value.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "_" }
            return (String(format: "%02d-", index + 1) + factor.rawValue + "-" + String(safe), value, cohort, varied)
        }
    }

    func number(_ value: String) throws -> Double {
        guard let number = Double(value), number.isFinite else {
            throw ConfigError("sweep.values", "\(factor.rawValue) values must be numbers, got '\(value)'")
        }
        return number
    }

    func apply(_ value: String, to training: inout TrainingConfig) throws {
        guard let samples = Int(value), samples >= 1 else {
            throw ConfigError("sweep.values", "site_samples values must be whole numbers of 1 or more, got '\(value)'")
        }
        training.sites = 0
        training.siteSamples = samples
        try training.validate()
    }

    func apply(_ value: String, to cohort: inout CohortConfig) throws {
        var target = cohort.biases[bias]
        switch factor {
        case .siteSamples:
            return
        case .prevalence:
            let share = try number(value)
            guard share >= 0, share <= 1 else { throw ConfigError("sweep.values", "prevalences must be in [0, 1], got \(share)") }
            target.prevalence = ClassPrevalence(disease: share, healthy: 1 - share)
        case .salience:
            let strength = try number(value)
            switch target.effect {
            case .morphological(let region, let kind, _, let coefficient, let edge):
                guard strength > 0 else { throw ConfigError("sweep.values", "a morphological strength must be positive, got \(strength)") }
                target.effect = .morphological(region: region, kind: kind, strengthMM: strength, coefficient: coefficient, edgeMM: edge)
            case .regionalIntensity(let region, _, let edge):
                target.effect = .regionalIntensity(region: region, change: strength, edgeMM: edge)
            case .globalContrast:
                guard strength > 0 else { throw ConfigError("sweep.values", "a contrast factor must be positive, got \(strength)") }
                target.effect = .globalContrast(factor: strength)
            }
        case .proximity:
            switch target.effect {
            case .morphological(_, let kind, let strength, let coefficient, let edge):
                target.effect = .morphological(region: value, kind: kind, strengthMM: strength, coefficient: coefficient, edgeMM: edge)
            case .regionalIntensity(_, let change, let edge):
                target.effect = .regionalIntensity(region: value, change: change, edgeMM: edge)
            case .globalContrast:
                throw ConfigError("sweep.factor", "proximity needs a regional bias; bias \(bias) is a global contrast change")
            }
            // A cropped template keeps every swept region in view, the same
            // box for every value: each experiment sees the same input grid.
            if !cohort.template.cropTo.isEmpty {
                for region in values where !cohort.template.cropTo.contains(region) { cohort.template.cropTo.append(region) }
            }
        }
        cohort.biases[bias] = target
        try cohort.validate()
    }
}
