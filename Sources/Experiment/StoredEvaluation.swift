import Analysis
import Foundation
import Storage

/// What `simba evaluate` keeps in a run file's `/evaluation` group: the
/// test predictions and the tables made from them.
public struct StoredEvaluation: Codable, Sendable, Equatable {
    public var checkpoint: String
    public var epoch: Int
    public var dataset: String
    public var predictions: StoredPredictions
    public var byGroup: MetricTable
    public var bySite: MetricTable?
    public var bySiteAndGroup: MetricTable?
    public var disparities: MetricTable
    public var bootstrapResamples: Int
    public var confidenceLevel: Double

    public struct StoredPredictions: Codable, Sendable, Equatable {
        public var indices: [Int]
        public var labels: [Int]
        public var groups: [String]
        public var sites: [String]
        public var scores: [Double]
    }

    public init(_ evaluation: Evaluation, run: TrainedRun, dataset: String, settings: BootstrapSettings) {
        checkpoint = run.checkpoint
        epoch = run.epoch
        self.dataset = dataset
        let p = evaluation.predictions
        predictions = StoredPredictions(indices: p.indices, labels: p.labels, groups: evaluation.groupKeys,
                                        sites: evaluation.siteKeys, scores: p.scores)
        let byGroup = MetricTable(evaluation.byGroup)
        self.byGroup = byGroup
        bySite = evaluation.bySite.map(MetricTable.init)
        bySiteAndGroup = evaluation.bySiteAndGroup.map(MetricTable.init)
        let pairs = Dictionary(uniqueKeysWithValues: byGroup.keys.indices.map { (byGroup.keys[$0], $0) })
        func pairTotals(_ values: [Int]) -> [String: Int] {
            var totals: [String: Int] = [:]
            for d in evaluation.disparities {
                totals["\(d.group) − \(d.referenceGroup)"] = values[pairs[d.group]!] + values[pairs[d.referenceGroup]!]
            }
            return totals
        }
        disparities = MetricTable(disparities: evaluation.disparities, samples: pairTotals(byGroup.samples),
                                  positives: pairTotals(byGroup.positives))
        bootstrapResamples = settings.resamples
        confidenceLevel = settings.confidenceLevel
    }

    /// The run's model on its own cohort's test images.
    public static let groupName = "evaluation"
    /// The run's model on another cohort's test images (the same subjects
    /// with or without the bias: the counterfactual cross-score); never
    /// replaces the run's own `/evaluation`.
    public static let otherCohortGroupName = "evaluation_other_cohort"

    /// Replaces group `name` (`/evaluation` by default) in the run file
    /// (serial; call on one rank).
    public func write(to path: String, group name: String = groupName) throws {
        let file = try H5File.open(path, writable: true)
        let root = try file.root
        // Other members (a local run's cross_site matrix) stay.
        let group = root.contains(name) ? try root.group(name) : try root.createGroup(name)
        if group.hasAttribute("complete") { try group.deleteAttribute("complete") }
        for child in ["predictions", "by_group", "by_site", "by_site_group", "disparities"] where group.contains(child) {
            try group.removeLink(child)
        }
        try group.setAttribute("checkpoint", checkpoint)
        try group.setAttribute("epoch", epoch)
        try group.setAttribute("dataset", dataset)
        try group.setAttribute("split", "test")
        try group.setAttribute("bootstrap_resamples", bootstrapResamples)
        try group.setAttribute("confidence_level", confidenceLevel)
        try group.setAttribute("units", "score: softmax probability of the disease class; metrics: fractions; intervals: bootstrap percentile; NaN: undefined")
        let stored = try group.createGroup("predictions")
        try stored.writeDataset("sample_index", predictions.indices)
        try stored.writeDataset("label", predictions.labels)
        try stored.writeStrings("bias_group", predictions.groups)
        try stored.writeStrings("site", predictions.sites)
        try stored.writeDataset("score", predictions.scores)
        try byGroup.write(into: group, name: "by_group", description: "test metrics overall ('all') and per bias group")
        try bySite?.write(into: group, name: "by_site", description: "test metrics overall ('all') and per site")
        try bySiteAndGroup?.write(into: group, name: "by_site_group", description: "test metrics overall ('all') and per site|bias group")
        try disparities.write(into: group, name: "disparities",
                              description: "metric(bias group) − metric(no-bias group); samples and positives of both groups")
        try group.setAttribute("complete", 1)
        try file.close()
    }

    /// Reads group `name` (`/evaluation` by default) of a run file, nil if it has none.
    public static func read(from path: String, group name: String = groupName) throws -> StoredEvaluation? {
        try RunFileSection.read(name, in: path) { group in
            let stored = try group.group("predictions")
            return StoredEvaluation(
                checkpoint: try group.stringAttribute("checkpoint"), epoch: try group.attribute("epoch", as: Int.self),
                dataset: try group.stringAttribute("dataset"),
                predictions: StoredPredictions(indices: try stored.dataset("sample_index").read(),
                                               labels: try stored.dataset("label").read(),
                                               groups: try stored.readStrings("bias_group"),
                                               sites: try stored.readStrings("site"),
                                               scores: try stored.dataset("score").read()),
                byGroup: try MetricTable.read(from: group, name: "by_group"),
                bySite: group.contains("by_site") ? try MetricTable.read(from: group, name: "by_site") : nil,
                bySiteAndGroup: group.contains("by_site_group") ? try MetricTable.read(from: group, name: "by_site_group") : nil,
                disparities: try MetricTable.read(from: group, name: "disparities"),
                bootstrapResamples: try group.attribute("bootstrap_resamples", as: Int.self),
                confidenceLevel: try group.attribute("confidence_level", as: Double.self))
        }
    }

    private init(checkpoint: String, epoch: Int, dataset: String, predictions: StoredPredictions,
                 byGroup: MetricTable, bySite: MetricTable?, bySiteAndGroup: MetricTable?, disparities: MetricTable,
                 bootstrapResamples: Int, confidenceLevel: Double) {
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.dataset = dataset
        self.predictions = predictions
        self.byGroup = byGroup
        self.bySite = bySite
        self.bySiteAndGroup = bySiteAndGroup
        self.disparities = disparities
        self.bootstrapResamples = bootstrapResamples
        self.confidenceLevel = confidenceLevel
    }
}
