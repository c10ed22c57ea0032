/// Named cohorts usable in place of a configuration file.
public enum CohortPreset: String, CaseIterable, Sendable {
    /// For tests: 64 images at 4 mm, generated in seconds.
    case tiny
    /// What `make run` uses: small and coarse enough for a 2-core machine.
    case quickstart
    /// The quickstart's null control: the same cohort with the bias in 50%
    /// of each class, so the bias says nothing about the class and no
    /// shortcut is possible (`make test-science` runs it).
    case quickstartNull = "quickstart-null"
    /// The quickstart's experiment on the whole brain at 4 mm (no crop);
    /// trained with `training.centre_input` (README, "The whole brain").
    case wholeBrain = "whole-brain"
    /// SimBA's single-bias setting (JAMIA 2024 tutorial): 2000 images at 1 mm,
    /// disease in the right insula, a morphological bias in the right putamen
    /// in 70% of the disease class and 30% of the healthy class.
    case simbaJAMIA = "simba-jamia"
    /// SimBA's multi-bias design (eBioMedicine 2025): a morphological and an
    /// intensity bias, each 70% / 30%, giving groups M+I, M, I and none.
    case multibias
    /// Six simulated hospitals with different scanners and populations; the
    /// last is held out for testing only.
    case multisite
    /// The quickstart's cohort, its training split dealt into tiny sites
    /// (`training.site_samples`; `simba sweep` over 1, 2 and 5 samples per
    /// site): central, federated and travelling training compared, the
    /// design of the lab's travelling-model papers on simba's data.
    case tinySites = "tiny-sites"

    public var summary: String {
        switch self {
        case .tiny: return "64 images at 4 mm, one morphological bias (tests)"
        case .quickstart: return "the make-run experiment: 800 images at 3 mm (half of them for testing), cropped around the disease and bias regions"
        case .quickstartNull: return "the quickstart's null control: its bias in 50% of each class (no shortcut possible)"
        case .wholeBrain: return "the quickstart's design on the whole brain: 800 images at 4 mm (45×54×44), bias in the left putamen"
        case .simbaJAMIA: return "SimBA's JAMIA 2024 setting: 2000 images at 1 mm, bias in 70%/30% of disease/healthy"
        case .multibias: return "SimBA's eBioMedicine 2025 design: morphological + intensity bias"
        case .multisite: return "6 sites with scanner effects and different populations, one held out"
        case .tinySites: return "the quickstart's cohort in sites of 1, 2 or 5 training images (simba sweep): central vs federated vs travelling"
        }
    }

    public var config: CohortConfig {
        var config = CohortConfig()
        let putamenBias = Bias(name: "morph",
                               effect: .morphological(region: "Putamen_R", kind: .expansion, strengthMM: 1,
                                                      coefficient: Coefficient(mean: 2, deviation: 1), edgeMM: 4),
                               prevalence: ClassPrevalence(disease: 0.7, healthy: 0.3))
        config.disease = MorphologicalEffect(
            region: "Insula_R", kind: .atrophy, strengthMM: 1.5,
            coefficient: ClassCoefficients(disease: Coefficient(mean: 1, deviation: 1),
                                           healthy: Coefficient(mean: -1, deviation: 1)))
        config.biases = [putamenBias]
        switch self {
        case .tiny:
            config.template.voxelMM = 4
            config.cohort.size = 64
            config.subject.modes = 4
        case .quickstart, .quickstartNull, .tinySites:
            // A box around the two regions keeps inputs small (21×29×23 voxels),
            // so a 2-core machine trains in minutes and the effects are a
            // large share of what the network sees.
            config.template.voxelMM = 3
            config.template.marginMM = 12
            config.template.cropTo = ["Insula_R", "Putamen_R"]
            // A large test split: subgroup rates of 100–200 images per group
            // have intervals narrow enough to see a shortcut and its absence.
            config.cohort.size = 800
            config.cohort.splits = SplitFractions(train: 0.35, validation: 0.15, test: 0.5)
            // Coarse voxels need stronger effects to be seen. With the effects
            // confined to their regions, a putamen expansion of 1.5 or 3 mm in
            // 70% / 30% of the classes is not learned as a shortcut at this
            // size (biased vs twin ΔΔ within ±0.02); 3 mm in 90% / 10% is
            // (README, "How the quickstart was chosen").
            config.disease.strengthMM = 2
            config.biases[0].effect = .morphological(region: "Putamen_R", kind: .expansion, strengthMM: 3,
                                                     coefficient: Coefficient(mean: 2, deviation: 1), edgeMM: 4)
            config.biases[0].prevalence = self == .quickstartNull ? ClassPrevalence(disease: 0.5, healthy: 0.5)
                : ClassPrevalence(disease: 0.9, healthy: 0.1)
        case .wholeBrain:
            // No crop: the whole brain at 4 mm, 45×54×44 voxels. The right
            // putamen is the insula's neighbour; at 4 mm the zone between
            // them that confinement gives each effect is a voxel or two, and
            // the disease changed the insula by 336 mm³ (2 mm) — not learned.
            // With the bias in the left putamen the insula keeps its whole
            // surround (3 mm: 5,727 mm³).
            config.template.voxelMM = 4
            config.template.marginMM = 12
            config.cohort.size = 800
            config.cohort.splits = SplitFractions(train: 0.35, validation: 0.15, test: 0.5)
            config.disease.strengthMM = 3
            config.biases[0].effect = .morphological(region: "Putamen_L", kind: .expansion, strengthMM: 3,
                                                     coefficient: Coefficient(mean: 2, deviation: 1), edgeMM: 4)
            config.biases[0].prevalence = ClassPrevalence(disease: 0.9, healthy: 0.1)
        case .simbaJAMIA:
            config.template.voxelMM = 1
            config.cohort.size = 2000
        case .multibias:
            config.template.voxelMM = 2
            config.cohort.size = 4000
            config.biases.append(Bias(name: "contrast", effect: .globalContrast(factor: 1.2),
                                      prevalence: ClassPrevalence(disease: 0.7, healthy: 0.3)))
        case .multisite:
            config.template.voxelMM = 3
            config.cohort.size = 1200
            let scanners: [(Double, Double, Double, Double)] = [
                (1.0, 0.0, 0.00, 0.0), (0.85, 0.15, 0.01, 0.5), (1.15, 0.10, 0.02, 0.0),
                (0.95, 0.25, 0.01, 1.0), (1.10, 0.05, 0.03, 0.5), (0.9, 0.2, 0.02, 1.5),
            ]
            let diseaseShares = [0.5, 0.35, 0.65, 0.5, 0.4, 0.5]
            config.sites = scanners.enumerated().map { index, scanner in
                var site = Site(name: "site-\(index + 1)")
                site.scanner.gamma = scanner.0
                site.scanner.biasField = scanner.1
                site.scanner.noise = scanner.2
                site.scanner.blurMM = scanner.3
                site.diseasePrevalence = diseaseShares[index]
                site.heldOut = index == scanners.count - 1
                return site
            }
            config.sites[1].biasPrevalence["morph"] = ClassPrevalence(disease: 0.9, healthy: 0.1)
        }
        return config
    }

    public static func named(_ name: String) throws -> CohortPreset {
        guard let preset = CohortPreset(rawValue: name) else {
            throw PresetError(name: name)
        }
        return preset
    }
}

public struct PresetError: Error, CustomStringConvertible {
    public let name: String
    public init(name: String) { self.name = name }
    public var description: String {
        "no preset is named '\(name)' (presets: \(CohortPreset.allCases.map(\.rawValue).joined(separator: ", ")))"
    }
}
