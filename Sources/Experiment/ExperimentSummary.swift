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
    /// Which replicate of the arm this run is.
    public var replicate: Replicate = .first
    /// The model on the counterfactual cohort's test images (same subjects,
    /// bias removed — or, for the twin arm, added); nil without a twin cohort.
    public var otherCohortEvaluation: StoredEvaluation? = nil

    /// The arm's name with its replicate when it is not the first.
    public var label: String { replicate == .first ? name : "\(name) (\(replicate))" }
    /// Probes of this arm's model on another cohort's test images (run
    /// file `/encoding_biased_images`, `/encoding_twin_images`): for the
    /// twin, the biased cohort's — the bias present in the input, the model
    /// never trained on it.
    public var encodingOnBiasedImages: EncodingTable?
    public var encodingOnTwinImages: EncodingTable?
    /// Each stage's peak resident memory per rank (training, evaluations,
    /// probes, saliency); nil when the run file records none.
    public var memory: StageMemory? = nil
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
/// second's (ΔΔ: the part the bias — or the mitigation — changed). With
/// replicates the three are pooled over them (`ReplicatedEstimate`), and each
/// replicate's own values are kept beside.
public struct ArmComparison: Codable, Sendable, Equatable {
    public var arm: String
    public var against: String
    public var metric: String
    public var group: String
    public var reference: String
    public var armDisparity: MetricTable.Cell
    public var againstDisparity: MetricTable.Cell
    public var difference: MetricTable.Cell
    /// The replicates compared (replicate r of one arm with replicate r of the other).
    public var replicates: [Replicate]
    public var armDisparityByReplicate: [MetricTable.Cell]
    public var againstDisparityByReplicate: [MetricTable.Cell]
    public var differenceByReplicate: [MetricTable.Cell]

    /// Paired bootstrap over the shared test subjects, pooled over the
    /// replicates both arms have.
    public static func compare(_ arm: [ArmSummary], against other: [ArmSummary],
                               settings: BootstrapSettings) throws -> [ArmComparison] {
        let pairs = try replicatePairs(arm, other)
        guard let first = pairs.first else { return [] }
        let groups = SampleGroups(first.0.evaluation.predictions.groups)
        let reference = GroupNames.none
        guard groups.distinctKeys.contains(reference) else { return [] }
        let metrics = Evaluation.disparityMetrics
        return try groups.distinctKeys.filter { $0 != reference }.flatMap { group -> [ArmComparison] in
            let estimate = try ReplicatedEstimate(units: pairs.map { a, b in
                (a.replicate, try PairedDisparities(
                    models: [try a.evaluation.predictions.scored, try b.evaluation.predictions.scored],
                    groups: SampleGroups(a.evaluation.predictions.groups), biasGroup: group, referenceGroup: reference,
                    metrics: metrics, contrasts: [[1, -1]]))
            }, settings: settings)
            return metrics.enumerated().map { position, metric in
                let armCell = estimate.cell(3 * position), againstCell = estimate.cell(3 * position + 1)
                let differenceCell = estimate.cell(3 * position + 2)
                return ArmComparison(arm: first.0.name, against: first.1.name, metric: "Δ" + metric.abbreviation,
                                     group: group, reference: reference,
                                     armDisparity: armCell.pooled, againstDisparity: againstCell.pooled,
                                     difference: differenceCell.pooled, replicates: estimate.replicates,
                                     armDisparityByReplicate: armCell.byReplicate,
                                     againstDisparityByReplicate: againstCell.byReplicate,
                                     differenceByReplicate: differenceCell.byReplicate)
            }
        }
    }
}

/// The replicates two arms share, each pair checked to be tested on the same subjects.
private func replicatePairs(_ arm: [ArmSummary], _ other: [ArmSummary]) throws -> [(ArmSummary, ArmSummary)] {
    try arm.compactMap { a -> (ArmSummary, ArmSummary)? in
        guard let b = other.first(where: { $0.replicate == a.replicate }) else { return nil }
        let p = a.evaluation.predictions, q = b.evaluation.predictions
        guard p.indices == q.indices, p.labels == q.labels, p.groups == q.groups else {
            throw ExperimentError("arms \(a.label) and \(b.label) were not tested on the same subjects")
        }
        return (a, b)
    }
}

extension StoredEvaluation.StoredPredictions {
    var scored: ScoredSamples { get throws { try ScoredSamples(labels: labels, scores: scores) } }
}

/// One arm's own disparity Δ = metric(bias group) − metric(no-bias group),
/// pooled over its replicates.
public struct ArmDisparity: Codable, Sendable, Equatable {
    public var arm: String
    public var metric: String
    public var group: String
    public var reference: String
    public var replicates: [Replicate]
    public var disparity: ReplicatedCell

    static func estimate(_ arm: [ArmSummary], settings: BootstrapSettings) throws -> [ArmDisparity] {
        guard let first = arm.first else { return [] }
        let groups = SampleGroups(first.evaluation.predictions.groups)
        guard groups.distinctKeys.contains(GroupNames.none) else { return [] }
        let metrics = Evaluation.disparityMetrics
        return try groups.distinctKeys.filter { $0 != GroupNames.none }.flatMap { group -> [ArmDisparity] in
            let estimate = try ReplicatedEstimate(units: arm.map { run in
                (run.replicate, try PairedDisparities(
                    models: [try run.evaluation.predictions.scored], groups: SampleGroups(run.evaluation.predictions.groups),
                    biasGroup: group, referenceGroup: GroupNames.none, metrics: metrics))
            }, settings: settings)
            return metrics.enumerated().map { position, metric in
                ArmDisparity(arm: first.name, metric: "Δ" + metric.abbreviation, group: group, reference: GroupNames.none,
                             replicates: estimate.replicates, disparity: estimate.cell(position))
            }
        }
    }
}

/// Where the biased arm's disparity comes from, from cross-scores: the
/// biased and the twin model, each scored on the biased and on the twin
/// test images (the same subjects with and without the bias).
///   total    = Δ(biased model, biased images) − Δ(twin model, twin images): the ΔΔ of the comparison;
///   input    = Δ(twin model, biased images) − Δ(twin model, twin images):
///              what the bias in the images does to a model that never learned it;
///   learned  = Δ(biased model, biased images) − Δ(biased model, twin images):
///              what the biased model loses when the bias is removed from its input (the shortcut).
public struct CounterfactualDecomposition: Codable, Sendable, Equatable {
    public var metric: String
    public var group: String
    public var reference: String
    public var replicates: [Replicate]
    public var biasedModelOnBiasedImages: ReplicatedCell
    public var biasedModelOnTwinImages: ReplicatedCell
    public var twinModelOnBiasedImages: ReplicatedCell
    public var twinModelOnTwinImages: ReplicatedCell
    public var total: ReplicatedCell
    public var input: ReplicatedCell
    public var learned: ReplicatedCell

    static func estimate(biased: [ArmSummary], twin: [ArmSummary], settings: BootstrapSettings) throws -> [CounterfactualDecomposition] {
        let pairs = try replicatePairs(biased, twin).filter { $0.0.otherCohortEvaluation != nil && $0.1.otherCohortEvaluation != nil }
        guard let first = pairs.first else { return [] }
        let groups = SampleGroups(first.0.evaluation.predictions.groups)
        guard groups.distinctKeys.contains(GroupNames.none) else { return [] }
        let metrics = Evaluation.disparityMetrics
        return try groups.distinctKeys.filter { $0 != GroupNames.none }.flatMap { group -> [CounterfactualDecomposition] in
            let estimate = try ReplicatedEstimate(units: pairs.map { b, t in
                let evaluations = [b.evaluation, b.otherCohortEvaluation!, t.otherCohortEvaluation!, t.evaluation]
                for other in evaluations.dropFirst() {
                    guard other.predictions.indices == b.evaluation.predictions.indices,
                          other.predictions.groups == b.evaluation.predictions.groups else {
                        throw ExperimentError("the cross-scores of \(b.label) and \(t.label) are not on the same subjects")
                    }
                }
                return (b.replicate, try PairedDisparities(
                    models: try evaluations.map { try $0.predictions.scored },
                    groups: SampleGroups(b.evaluation.predictions.groups), biasGroup: group, referenceGroup: GroupNames.none,
                    metrics: metrics, contrasts: [[1, 0, 0, -1], [0, 0, 1, -1], [1, -1, 0, 0]]))
            }, settings: settings)
            return metrics.enumerated().map { position, metric in
                let base = 7 * position
                return CounterfactualDecomposition(
                    metric: "Δ" + metric.abbreviation, group: group, reference: GroupNames.none, replicates: estimate.replicates,
                    biasedModelOnBiasedImages: estimate.cell(base), biasedModelOnTwinImages: estimate.cell(base + 1),
                    twinModelOnBiasedImages: estimate.cell(base + 2), twinModelOnTwinImages: estimate.cell(base + 3),
                    total: estimate.cell(base + 4), input: estimate.cell(base + 5), learned: estimate.cell(base + 6))
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
    /// Every replicate of every arm (`arm(_:)`: the first replicate).
    public var arms: [ArmSummary]
    /// Training and cohort replicates per arm.
    public var replicates: Int
    public var cohortReplicates: Int
    /// Each arm's own disparities, pooled over its replicates.
    public var disparities: [ArmDisparity]
    /// biased vs twin (the bias's own effect), each mitigation vs biased
    /// (what it removed) and vs twin (what it left), strategy arms vs
    /// central; pooled over replicates.
    public var comparisons: [ArmComparison]
    /// The biased arm's disparity split into what the images carry and what
    /// the model learned (needs the twin arm and cross-scores).
    public var decomposition: [CounterfactualDecomposition]
    public var floors: LearningFloors
    /// What the experiment shows, claim by claim, in words and as data.
    public var verdicts: [Verdict]
    /// The biased cohort's leakage between regional effects (nil: not recorded).
    public var leakage: LeakageSummary?
    /// The biased cohort's generation: peak resident memory per rank (nil: not recorded).
    public var generationMemory: StageMemory.Stage?

    public init(experiment: String, ranks: Int, simbaVersion: String, arms: [ArmSummary],
                settings: BootstrapSettings, floors: LearningFloors = LearningFloors()) throws {
        self.experiment = experiment
        self.ranks = ranks
        self.simbaVersion = simbaVersion
        created = ISO8601DateFormatter().string(from: Date())
        self.arms = arms
        self.floors = floors
        let names = ArmName.distinct(arms.map(\.name))
        let byArm = Dictionary(grouping: arms, by: \.name).mapValues { $0.sorted { $0.replicate < $1.replicate } }
        replicates = Set(arms.map(\.replicate.training)).count
        cohortReplicates = Set(arms.map(\.replicate.cohort)).count
        disparities = try names.flatMap { name in
            // Local arms are scored from their cross-site matrices; their replicates pool likewise.
            try ArmDisparity.estimate(byArm[name]!, settings: settings)
        }
        var comparisons: [ArmComparison] = []
        if let biased = byArm[ArmName.biased], let twin = byArm[ArmName.twin] {
            comparisons += try ArmComparison.compare(biased, against: twin, settings: settings)
        }
        // Each mitigation against the biased arm (what it removed), then against the twin (what it left).
        for reference in [ArmName.biased, ArmName.twin] {
            guard let against = byArm[reference] else { continue }
            for name in ArmName.mitigations {
                if let mitigated = byArm[name] { comparisons += try ArmComparison.compare(mitigated, against: against, settings: settings) }
            }
        }
        if let central = byArm[ArmName.central] {
            for name in ArmName.strategies.dropFirst() {
                if let other = byArm[name] { comparisons += try ArmComparison.compare(other, against: central, settings: settings) }
            }
        }
        self.comparisons = comparisons
        if let biased = byArm[ArmName.biased], let twin = byArm[ArmName.twin] {
            decomposition = try CounterfactualDecomposition.estimate(biased: biased, twin: twin, settings: settings)
        } else {
            decomposition = []
        }
        verdicts = []
        verdicts = Verdict.judge(self)
    }

    /// The verdict on comparison `c` (nil: none was judged).
    public func verdict(on c: ArmComparison) -> Verdict? {
        verdicts.first { $0.claim != .learned && $0.arm == c.arm && $0.against == c.against && $0.metric == c.metric && $0.group == c.group }
    }

    /// The first replicate of arm `name`.
    public func arm(_ name: String) -> ArmSummary? { arms.first { $0.name == name && $0.replicate == .first } }
    /// Every replicate of arm `name`, in order.
    public func replicates(of name: String) -> [ArmSummary] {
        arms.filter { $0.name == name }.sorted { $0.replicate < $1.replicate }
    }
    /// The arms' names, in the experiment's order.
    public var armNames: [String] { ArmName.distinct(arms.map(\.name)) }

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
    /// Adversarial unlearning of the bias group (`training.unlearn: bias`),
    /// starting from the biased arm's best model.
    public static let unlearning = "unlearning"
    /// Arms that start from another arm's best model: the arm, that arm, and
    /// what it does with the model (each runs after it, by the same ranks).
    public static let startsFrom: [(arm: String, from: String, does: String)] = [
        (groupModels, biased, "fine-tunes"), (unlearning, biased, "unlearns the bias from"),
        (harmonytm, travelling, "unlearns the site from"),
    ]
    /// Multi-site arms: the biased cohort's sites trained with one strategy
    /// each (central pools them; the others keep the data at its site).
    public static let central = "central", federated = "federated", travelling = "travelling", local = "local"
    /// FedAvg rounds (`training.federated_rounds`), then the travelling model.
    public static let fedtm = "fedtm"
    /// HarmonyTM: the travelling arm's best model, then travelling with the
    /// site adversarially unlearned (`unlearn: site`).
    public static let harmonytm = "harmonytm"
    public static let strategies = [central, federated, travelling, local, fedtm, harmonytm]
    /// Arms that mitigate the biased arm's shortcut (compared with it).
    public static let mitigations = [reweighed, groupModels, unlearning]
    public static let all = [biased, twin] + mitigations + strategies

    /// Each name once, in the order of first appearance (one arm, several replicates).
    public static func distinct(_ names: [String]) -> [String] {
        names.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    }
}
