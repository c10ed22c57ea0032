import Randomness

/// Everything `simba generate` needs to build a cohort: the anatomy, the
/// effects and who carries them. Parameters are in millimetres (shapes) or
/// relative intensity units; every random choice is a function of `seed`.
public struct CohortConfig: Equatable, Sendable {
    public var seed: UInt64 = 1
    public var template = TemplateSettings()
    public var cohort = CohortSettings()
    public var subject = SubjectEffect()
    public var disease = MorphologicalEffect(region: "Insula_R", kind: .atrophy, strengthMM: 1.5,
                                             coefficient: .init(disease: .init(mean: 1, deviation: 1),
                                                                healthy: .init(mean: -1, deviation: 1)))
    public var biases: [Bias] = []
    /// Whether the regional effects are confined to their own territories.
    public var effects = EffectCoupling()
    public var sites: [Site] = [Site(name: "site-1")]
    /// Names of biases switched off in the counterfactual twin (all when empty).
    public var twinSwitchesOff: [String] = []

    public init() {}
}

public struct TemplateSettings: Hashable, Sendable {
    /// Template image, label map and label-names file; nil: Colin27 + AAL.
    public var image: String?
    public var labels: String?
    public var names: String?
    /// Voxel size of the experiment (1 to 4 mm).
    public var voxelMM: Double = 2
    /// Margin kept around the brain's bounding box.
    public var marginMM: Double = 4
    /// Crop to these regions' bounding box (plus `marginMM`) instead of the
    /// whole brain: smaller inputs in which the effects are a larger share,
    /// for quick experiments on a workstation. Empty: the whole brain.
    public var cropTo: [String] = []

    public init() {}
}

public struct CohortSettings: Equatable, Sendable {
    public var size = 200
    /// Fraction of the disease class (per site unless a site overrides it).
    public var diseasePrevalence = 0.5
    public var splits = SplitFractions(train: 0.5, validation: 0.25, test: 0.25)

    public init() {}
}

public struct SplitFractions: Equatable, Sendable {
    public var train: Double
    public var validation: Double
    public var test: Double

    public init(train: Double, validation: Double, test: Double) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    public var asArray: [Double] { [train, validation, test] }
}

/// Natural anatomical variability: a low-rank model of smooth, global
/// deformations (SimBA: 10 PCA modes of IXI velocity fields; here smooth
/// random modes with decaying variance, since those data are not public).
public struct SubjectEffect: Equatable, Sendable {
    /// Number of modes K.
    public var modes = 10
    /// Peak displacement (mm) of the first mode at coefficient 1.
    public var peakMM = 2.0
    /// Spatial scale (mm) of the modes: larger is smoother.
    public var smoothnessMM = 20.0
    /// Mode k has variance 1/k^decay relative to the first.
    public var decay = 1.0
    /// Coefficients are N(0, 1) truncated at ± this value.
    public var truncation = 3.5

    public init() {}
}

public enum DeformationKind: String, CaseIterable, Sendable {
    case atrophy, expansion
}

/// A normal distribution of an effect coefficient.
public struct Coefficient: Equatable, Sendable {
    public var mean: Double
    public var deviation: Double

    public init(mean: Double, deviation: Double) {
        self.mean = mean
        self.deviation = deviation
    }

    public var distribution: NormalDistribution { NormalDistribution(mean: mean, deviation: deviation) }
}

/// Per-class coefficient distributions (the disease effect differs by class).
public struct ClassCoefficients: Equatable, Sendable {
    public var disease: Coefficient
    public var healthy: Coefficient

    public init(disease: Coefficient, healthy: Coefficient) {
        self.disease = disease
        self.healthy = healthy
    }

    public func forClass(_ label: Int) -> Coefficient { label == 1 ? disease : healthy }
}

/// A local shape change of one atlas region: the region shrinks (atrophy)
/// or grows (expansion) by about `strengthMM` × coefficient at its boundary,
/// fading out over `edgeMM` around it.
public struct MorphologicalEffect: Equatable, Sendable {
    public var region: String
    public var kind: DeformationKind
    public var strengthMM: Double
    public var coefficient: ClassCoefficients
    public var edgeMM = 4.0

    public init(region: String, kind: DeformationKind, strengthMM: Double, coefficient: ClassCoefficients,
                edgeMM: Double = 4) {
        self.region = region
        self.kind = kind
        self.strengthMM = strengthMM
        self.coefficient = coefficient
        self.edgeMM = edgeMM
    }
}

/// Per-class prevalence of a bias: the fraction of each class that carries it.
public struct ClassPrevalence: Equatable, Sendable {
    public var disease: Double
    public var healthy: Double

    public init(disease: Double, healthy: Double) {
        self.disease = disease
        self.healthy = healthy
    }

    public func forClass(_ label: Int) -> Double { label == 1 ? disease : healthy }
}

/// A bias: an effect present only in the bias group.
public struct Bias: Equatable, Sendable {
    public enum Effect: Equatable, Sendable {
        /// A shape change of a region, coefficient ~ N(mean, sd) (SimBA: N(2, 1)).
        case morphological(region: String, kind: DeformationKind, strengthMM: Double, coefficient: Coefficient,
                           edgeMM: Double)
        /// SimBA's contrast change of the whole image: intensities are
        /// stretched by `factor` about half the range, clipped and rescaled.
        case globalContrast(factor: Double)
        /// A smooth intensity change of a region: × (1 + change) inside,
        /// fading over `edgeMM`.
        case regionalIntensity(region: String, change: Double, edgeMM: Double)
    }

    public var name: String
    public var effect: Effect
    public var prevalence: ClassPrevalence

    public init(name: String, effect: Effect, prevalence: ClassPrevalence) {
        self.name = name
        self.effect = effect
        self.prevalence = prevalence
    }

    /// The atlas region the bias acts in, if it is regional.
    public var region: String? {
        switch effect {
        case .morphological(let region, _, _, _, _), .regionalIntensity(let region, _, _): return region
        case .globalContrast: return nil
        }
    }

    public var isMorphological: Bool {
        if case .morphological = effect { return true }
        return false
    }
}

/// A simulated hospital: who it scans and how its scanner looks.
public struct Site: Equatable, Sendable {
    public var name: String
    /// Relative share of the cohort.
    public var weight = 1.0
    /// Overrides the cohort's disease prevalence at this site.
    public var diseasePrevalence: Double?
    /// Overrides bias prevalences at this site, by bias name.
    public var biasPrevalence: [String: ClassPrevalence] = [:]
    public var scanner = Scanner()
    /// All of this site's images go to the test split.
    public var heldOut = false

    public init(name: String) { self.name = name }
}

/// Scanner (site) appearance.
public struct Scanner: Equatable, Sendable {
    /// Contrast: intensities (scaled to [0, 1]) are raised to this power.
    public var gamma = 1.0
    /// Peak log-amplitude of a smooth multiplicative bias field (0: none).
    public var biasField = 0.0
    /// Rician noise standard deviation, relative to the maximum intensity.
    public var noise = 0.0
    /// Gaussian blur (mm, standard deviation).
    public var blurMM = 0.0

    public init() {}

    public var isNeutral: Bool { gamma == 1 && biasField == 0 && noise == 0 && blurMM == 0 }
}
