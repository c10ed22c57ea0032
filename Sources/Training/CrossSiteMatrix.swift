import Foundation
import Storage

/// Local training's cross-site evaluation: every site's best model scored on
/// every test sample, and from the scores the accuracy and AUROC of each
/// model (row) on each site's test split (column).
public struct CrossSiteMatrix: Sendable {
    public let sites: Int
    /// Dataset indices, sites and labels of the test samples (the columns of `scores`).
    public let sampleIndices: [Int], sampleSites: [Int], sampleLabels: [Int]
    /// P(disease) by model of site m for test sample j at [m × samples + j]
    /// (softmax of the logits); NaN in rows of sites that did not train.
    public let scores: [Double]
    /// Which sites trained a model (the rows that are not NaN).
    public let trained: [Bool]
    /// The round each site's best model comes from (0: never improved).
    public let bestRounds: [Int]
    /// [model site × test site]: the fraction predicted right (disease when
    /// the score exceeds 0.5) and the AUROC; NaN for a site that did not
    /// train, a test site without samples, or (AUROC) with one class only.
    public let accuracy: [Double], auroc: [Double]
    /// What a site is here: the dataset's sites, or the bias groups
    /// (bias-group models: sampleSites then holds each sample's group).
    public let partition: SitePartition

    public init(sites: Int, sampleIndices: [Int], sampleSites: [Int], sampleLabels: [Int], scores: [Double],
                trained: [Bool], bestRounds: [Int], partition: SitePartition = .site) {
        precondition(scores.count == sites * sampleIndices.count && trained.count == sites && bestRounds.count == sites)
        self.sites = sites
        self.partition = partition
        self.sampleIndices = sampleIndices
        self.sampleSites = sampleSites
        self.sampleLabels = sampleLabels
        self.scores = scores
        self.trained = trained
        self.bestRounds = bestRounds
        let columns = (0..<sites).map { site in sampleSites.indices.filter { sampleSites[$0] == site } }
        var accuracy = [Double](repeating: .nan, count: sites * sites)
        var auroc = accuracy
        for model in 0..<sites where trained[model] {
            let row = scores[(model * sampleIndices.count)..<((model + 1) * sampleIndices.count)]
            for (site, samples) in columns.enumerated() where !samples.isEmpty {
                let right = samples.filter { (row[row.startIndex + $0] > 0.5 ? 1 : 0) == sampleLabels[$0] }.count
                accuracy[model * sites + site] = Double(right) / Double(samples.count)
                auroc[model * sites + site] = rankAUROC(scores: samples.map { row[row.startIndex + $0] },
                                                        labels: samples.map { sampleLabels[$0] })
            }
        }
        self.accuracy = accuracy
        self.auroc = auroc
    }

    /// A compact table for the terminal: accuracy/AUROC per model site (rows)
    /// and test site (columns).
    public var table: String {
        let cell = 13
        func pad(_ text: String) -> String { String(repeating: " ", count: max(0, cell - text.count)) + text }
        func number(_ value: Double) -> String { value.isNaN ? "-" : String(format: "%.3f", value) }
        let unit = partition == .site ? "site" : "group"
        var lines = ["cross-\(unit) test accuracy/AUROC (rows: model of \(unit), columns: test \(unit))",
                     pad("model\\test") + (0..<sites).map { pad("\(unit) \($0)") }.joined()]
        for model in 0..<sites {
            let cells = (0..<sites).map { site -> String in
                let accuracy = self.accuracy[model * sites + site], auroc = self.auroc[model * sites + site]
                return pad(accuracy.isNaN ? "-" : number(accuracy) + "/" + number(auroc))
            }
            lines.append(pad("\(unit) \(model)") + cells.joined())
        }
        return lines.joined(separator: "\n")
    }
}

/// The area under the ROC curve from ranks (Mann–Whitney U): the chance
/// that a random positive scores above a random negative, ties counted
/// half. NaN unless both classes (label 1 positive, others negative) occur.
public func rankAUROC(scores: [Double], labels: [Int]) -> Double {
    let positives = labels.filter { $0 == 1 }.count, negatives = labels.count - positives
    guard positives > 0, negatives > 0 else { return .nan }
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    // Average 1-based ranks over runs of equal scores.
    var positiveRankSum = 0.0
    var start = 0
    while start < order.count {
        var end = start + 1
        while end < order.count && scores[order[end]] == scores[order[start]] { end += 1 }
        let rank = Double(start + 1 + end) / 2
        for k in start..<end where labels[order[k]] == 1 { positiveRankSum += rank }
        start = end
    }
    let u = positiveRankSum - Double(positives) * Double(positives + 1) / 2
    return u / (Double(positives) * Double(negatives))
}

extension RunFile {
    /// Writes `/evaluation/cross_site` (collective; every rank passes the
    /// same matrix, rank 0's copy is stored), replacing an earlier one.
    public func writeCrossSite(_ matrix: CrossSiteMatrix,
                               description: String = "local strategy: each site's best model (by its own validation loss) evaluated on every site's test split") throws {
        let root = try file.root
        let evaluation = root.contains("evaluation") ? try root.group("evaluation") : try root.createGroup("evaluation")
        if evaluation.contains("cross_site") { try evaluation.removeLink("cross_site") }
        let group = try evaluation.createGroup("cross_site")
        try group.setAttribute("description", description)
        try group.setAttribute("partition", matrix.partition == .site
            ? "site: rows and sample_site are the dataset's (or round-robin) sites"
            : "bias_group: the sites are the bias groups (bias-group models); rows and sample_site are bias-group codes")
        try group.setAttribute("rows", "model: the site whose model is evaluated")
        try group.setAttribute("columns", "accuracy, auroc: test site; scores: test sample (sample_index)")
        try group.setAttribute("units", "scores: P(disease) from the softmax of the logits; accuracy: fraction, disease predicted when the score exceeds 0.5; auroc: area under the ROC curve (NaN with one class); NaN rows: sites without training samples")
        let samples = matrix.sampleIndices.count
        try group.writeDataset("scores", matrix.scores, shape: [matrix.sites, samples])
        try group.writeDataset("accuracy", matrix.accuracy, shape: [matrix.sites, matrix.sites])
        try group.writeDataset("auroc", matrix.auroc, shape: [matrix.sites, matrix.sites])
        try group.writeDataset("sample_index", matrix.sampleIndices)
        try group.writeDataset("sample_site", matrix.sampleSites)
        try group.writeDataset("sample_label", matrix.sampleLabels)
        try group.writeDataset("model_trained", matrix.trained.map { $0 ? 1 : 0 } as [Int32])
        try group.writeDataset("model_best_round", matrix.bestRounds)
        try file.flush()
    }
}

extension HostedSites {
    /// Every participating site's model on every test sample, as a
    /// cross-site matrix: the test split is shared among each site's ranks,
    /// each chunk is read once and scored by every site the rank hosts
    /// (`load` puts a site's model into the session's network); one
    /// allreduce gathers the scores. Sites that did not train get NaN rows.
    func crossSite(session: TrainingSession, bestRounds: [Int], partition: SitePartition,
                   load: (Int) throws -> Void) throws -> CrossSiteMatrix {
        let test = session.setup.test, world = session.world
        let siteCount = layout.count, samples = test.count
        var scores = [Double](repeating: 0, count: siteCount * samples)
        let hosted = training.keys.sorted()
        try world.agreeing(afterSubgroups: {
            guard !hosted.isEmpty else { return }
            try session.forEachShareChunk(of: test, over: session.replica.communicator) { positions, images in
                for site in hosted {
                    try load(site)
                    session.model.forward(images, batch: positions.count, mode: .eval)
                    for (n, position) in session.scoredRows(positions) {
                        scores[site * samples + position] = session.model.logitRow(sample: n).probability(of: 1)
                    }
                }
            }
        })
        try session.communicating { try world.allreduce(&scores, op: .sum) }
        let trained = (0..<siteCount).map { participants.contains($0) }
        for site in 0..<siteCount where !trained[site] {
            for j in 0..<samples { scores[site * samples + j] = .nan }
        }
        return CrossSiteMatrix(sites: siteCount, sampleIndices: test.indices, sampleSites: test.sites,
                               sampleLabels: test.labels, scores: scores, trained: trained,
                               bestRounds: bestRounds, partition: partition)
    }
}
