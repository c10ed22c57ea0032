import Foundation
import Network
import Storage
import Training
import YAMLConfig

/// A local run's cross-site matrix as read back from `/evaluation/cross_site`.
public struct CrossSiteTable: Codable, Sendable, Equatable {
    public var sites: Int
    public var sampleIndices: [Int], sampleSites: [Int], sampleLabels: [Int]
    /// P(disease) [model site][test sample]
    public var scores: [[Double]]
    /// [model site][test site]
    public var accuracy: [[Double?]], auroc: [[Double?]]
    public var trained: [Bool]
    public var bestRounds: [Int]
    public var dataset: String
    var configYAML: String
    var inputShape: [Int]

    var config: TrainingConfig { (try? TrainingConfig.read(try ConfigNode.parse(configYAML, source: "run file"))) ?? TrainingConfig() }
    var input: Grid3 { Grid3(inputShape) }

    /// The score of test sample `n` as the local models are deployed: its
    /// own site's model, or the mean of every trained model for a site
    /// without one.
    func deployedScore(sample n: Int) -> Double {
        let site = sampleSites[n]
        if site < sites, trained[site] { return scores[site][n] }
        let models = trained.indices.filter { trained[$0] }
        return models.map { scores[$0][n] }.reduce(0, +) / Double(max(models.count, 1))
    }

    /// Whether the run file holds a cross-site matrix (local and FedBN runs).
    public static func isStored(in path: String) throws -> Bool {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let root = try file.root
        return try root.contains("evaluation") && root.group("evaluation").contains("cross_site")
    }

    public static func read(from path: String) throws -> CrossSiteTable {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let root = try file.root
        guard root.contains("evaluation"), try root.group("evaluation").contains("cross_site") else {
            throw ExperimentError("\(path) has no cross-site matrix (/evaluation/cross_site): was it trained with strategy local to the end?")
        }
        let group = try root.group("evaluation").group("cross_site")
        let scoreShape = try group.dataset("scores").shape
        guard scoreShape.count == 2 else {
            throw ExperimentError("\(path): /evaluation/cross_site/scores has shape \(scoreShape), expected [model sites, test samples]")
        }
        let (sites, samples) = (scoreShape[0], scoreShape[1])
        let flatScores: [Double] = try group.read("scores", shape: scoreShape, meaning: "model sites × test samples")
        func column<T: H5Element>(_ name: String, _ shape: [Int]) throws -> [T] {
            try group.read(name, shape: shape, meaning: "\(sites) model sites, \(samples) test samples")
        }
        func square(_ name: String) throws -> [[Double?]] {
            let values: [Double] = try column(name, [sites, sites])
            return (0..<sites).map { row in (0..<sites).map { values[row * sites + $0].isNaN ? nil : values[row * sites + $0] } }
        }
        let trained: [Int32] = try column("model_trained", [sites])
        let sampleSites: [Int] = try column("sample_site", [samples])
        guard sampleSites.allSatisfy({ $0 >= 0 }) else {
            throw ExperimentError("\(path): /evaluation/cross_site/sample_site holds a negative site number")
        }
        return CrossSiteTable(
            sites: sites, sampleIndices: try column("sample_index", [samples]), sampleSites: sampleSites,
            sampleLabels: try column("sample_label", [samples]),
            scores: (0..<sites).map { Array(flatScores[($0 * samples)..<(($0 + 1) * samples)]) },
            accuracy: try square("accuracy"), auroc: try square("auroc"), trained: trained.map { $0 != 0 },
            bestRounds: try column("model_best_round", [sites]), dataset: try root.stringAttribute("dataset"),
            configYAML: try root.stringAttribute("config"), inputShape: try RunFile.storedInput(root, path: path).array)
    }
}
