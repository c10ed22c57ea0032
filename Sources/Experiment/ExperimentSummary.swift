import Analysis
import Foundation

/// One arm of an experiment (biased, twin, reweighed): one training run
/// and what evaluation and probes found.
public struct ArmSummary: Codable, Sendable, Equatable {
    public var name: String
    public var runFile: String
    public var dataset: String
    public var epochsRun: Int
    public var bestEpoch: Int
    public var stopReason: String
    public var evaluation: StoredEvaluation
    public var encoding: EncodingTable?
    public var saliency: SaliencySummary?
    /// Local arms: each site's model on every site's test images (bias-group
    /// models: each group's model on every group's test images).
    public var crossSite: CrossSiteSummary?
    public var history: TrainingHistory
    /// Probes of this arm's model on another cohort's test images (run
    /// file `/encoding_biased_images`, `/encoding_twin_images`): for the
    /// twin, the biased cohort's — the bias present in the input, the model
    /// never trained on it.
    public var encodingOnBiasedImages: EncodingTable?
    public var encodingOnTwinImages: EncodingTable?
}

/// The cross-site matrix of a local arm: rows are the model's site,
/// columns the test site (for bias-group models: the bias groups).
public struct CrossSiteSummary: Codable, Sendable, Equatable {
    /// "site" or "bias_group": what the rows and columns are.
    public var partition: String
    public var sites: [String]
    public var accuracy: [[Double?]]
    public var auroc: [[Double?]]
}

/// The saliency analysis in numbers: per cell (bias group × outcome) the
/// images averaged and the regions with the highest weighted scores.
public struct SaliencySummary: Codable, Sendable, Equatable {
    public struct Region: Codable, Sendable, Equatable {
        public var name: String
        public var weightedScore: Double
    }
    public var cells: [String]
    public var images: [Int]
    public var topRegions: [[Region]]

    public init(_ table: SaliencyTable, regions: Int = 5) {
        cells = table.cells
        images = table.counts
        topRegions = table.cells.indices.map { cell in
            table.counts[cell] == 0 ? [] : table.topRegions(cell, count: regions).map { Region(name: $0.name, weightedScore: $0.score) }
        }
    }
}

/// Δmetric between the bias group and the no-bias group for two arms on the
/// same test subjects, and how much the first arm's disparity exceeds the
/// second's (ΔΔ: the part the bias — or the mitigation — changed).
public struct ArmComparison: Codable, Sendable, Equatable {
    public var arm: String
    public var against: String
    public var metric: String
    public var group: String
    public var reference: String
    public var armDisparity: MetricTable.Cell
    public var againstDisparity: MetricTable.Cell
    public var difference: MetricTable.Cell

    /// Paired bootstrap over the shared test subjects (CounterfactualDisparity).
    public static func compare(_ arm: ArmSummary, against other: ArmSummary,
                               settings: BootstrapSettings) throws -> [ArmComparison] {
        let a = arm.evaluation.predictions, b = other.evaluation.predictions
        guard a.indices == b.indices, a.labels == b.labels else {
            throw ExperimentError("arms \(arm.name) and \(other.name) were not tested on the same subjects")
        }
        let groups = SampleGroups(a.groups)
        let reference = GroupNames.none
        guard groups.distinctKeys.contains(reference) else { return [] }
        return try groups.distinctKeys.filter { $0 != reference }.flatMap { group in
            try CounterfactualDisparity.estimate(
                biased: try ScoredSamples(labels: a.labels, scores: a.scores),
                twin: try ScoredSamples(labels: b.labels, scores: b.scores),
                groups: groups, biasGroup: group, referenceGroup: reference,
                metrics: Evaluation.disparityMetrics, settings: settings
            ).map {
                ArmComparison(arm: arm.name, against: other.name, metric: "Δ" + $0.metric.abbreviation,
                              group: group, reference: reference,
                              armDisparity: MetricTable.Cell($0.biasedModelDifference),
                              againstDisparity: MetricTable.Cell($0.twinModelDifference),
                              difference: MetricTable.Cell($0.differenceOfDifferences))
            }
        }
    }
}

/// `summary.json`: the headline figures of an experiment, for scripts,
/// tests and sweeps.
public struct ExperimentSummary: Codable, Sendable, Equatable {
    public var experiment: String
    public var ranks: Int
    public var created: String
    public var simbaVersion: String
    public var arms: [ArmSummary]
    /// biased vs twin (the bias's own effect), each mitigation vs biased
    /// (what it removed), strategy arms vs central.
    public var comparisons: [ArmComparison]
    /// The biased cohort's leakage between regional effects (nil: not recorded).
    public var leakage: LeakageSummary?

    public init(experiment: String, ranks: Int, simbaVersion: String, arms: [ArmSummary],
                settings: BootstrapSettings) throws {
        self.experiment = experiment
        self.ranks = ranks
        self.simbaVersion = simbaVersion
        created = ISO8601DateFormatter().string(from: Date())
        self.arms = arms
        var comparisons: [ArmComparison] = []
        func arm(_ name: String) -> ArmSummary? { arms.first { $0.name == name } }
        if let biased = arm(ArmName.biased), let twin = arm(ArmName.twin) {
            comparisons += try ArmComparison.compare(biased, against: twin, settings: settings)
        }
        if let biased = arm(ArmName.biased) {
            for name in ArmName.mitigations {
                if let mitigated = arm(name) { comparisons += try ArmComparison.compare(mitigated, against: biased, settings: settings) }
            }
        }
        if let central = arm(ArmName.central) {
            for name in ArmName.strategies.dropFirst() {
                if let other = arm(name) { comparisons += try ArmComparison.compare(other, against: central, settings: settings) }
            }
        }
        self.comparisons = comparisons
    }

    public func arm(_ name: String) -> ArmSummary? { arms.first { $0.name == name } }

    public var json: Data {
        get throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try encoder.encode(self)
        }
    }

    public static func read(from path: String) throws -> ExperimentSummary {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(ExperimentSummary.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// The arms `simba run` knows.
public enum ArmName {
    /// Trained on the biased cohort.
    public static let biased = "biased"
    /// Trained on the counterfactual no-bias twin cohort.
    public static let twin = "twin"
    /// Trained on the biased cohort with reweighing.
    public static let reweighed = "reweighed"
    /// Bias-group models: the biased arm's best model fine-tuned once per
    /// bias group on that group's data; each test image is scored by its
    /// own group's model.
    public static let groupModels = "group-models"
    /// Multi-site arms: the biased cohort's sites trained with one strategy
    /// each (central pools them; the others keep the data at its site).
    public static let central = "central", federated = "federated", travelling = "travelling", local = "local"
    public static let strategies = [central, federated, travelling, local]
    /// Arms that mitigate the biased arm's shortcut (compared with it).
    public static let mitigations = [reweighed, groupModels]
    public static let all = [biased, twin] + mitigations + strategies
}
