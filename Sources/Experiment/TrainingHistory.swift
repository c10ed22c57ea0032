import Foundation
import Storage
import Synthesis

/// A run file's training curves and how the run ended.
public struct TrainingHistory: Codable, Sendable, Equatable {
    public var epochs: [Int]
    public var trainLoss: [Double]
    public var validationLoss: [Double]
    public var trainAccuracy: [Double]
    public var validationAccuracy: [Double]
    public var stopReason: String
    /// The epoch (round) of the best checkpoint; 0 without one.
    public var bestEpoch: Int
    public var strategy: String
    public var worldSize: Int

    public static func read(from path: String) throws -> TrainingHistory {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let root = try file.root
        let metrics = try root.group("metrics")
        let checkpoints = try root.group("checkpoints")
        var bestEpoch = 0
        if let best = checkpoints.softLinkTarget("best") {
            bestEpoch = try root.group(String(best.dropFirst())).attribute("epochs_done", as: Int.self)
        }
        return TrainingHistory(
            epochs: try metrics.dataset("epoch").read(),
            trainLoss: try metrics.dataset("train_loss").read(),
            validationLoss: try metrics.dataset("validation_loss").read(),
            trainAccuracy: try metrics.dataset("train_accuracy").read(),
            validationAccuracy: try metrics.dataset("validation_accuracy").read(),
            stopReason: root.hasAttribute("stop_reason") ? try root.stringAttribute("stop_reason") : "not finished",
            bestEpoch: bestEpoch, strategy: try root.stringAttribute("strategy"),
            worldSize: try root.attribute("world_size", as: Int.self))
    }
}

extension ArmSummary {
    /// Everything a run file holds about one arm; its evaluation must exist.
    public static func read(name: String, runFile: String, replicate: Replicate = .first) throws -> ArmSummary {
        guard FileManager.default.fileExists(atPath: runFile) else {
            throw ExperimentError("run file \(runFile) does not exist")
        }
        let history = try TrainingHistory.read(from: runFile)
        guard let evaluation = try StoredEvaluation.read(from: runFile) else {
            throw ExperimentError("\(runFile) has no evaluation yet: run 'simba evaluate \(runFile)' first")
        }
        return ArmSummary(name: name, runFile: runFile, dataset: evaluation.dataset, epochsRun: history.epochs.count,
                          bestEpoch: history.bestEpoch, stopReason: history.stopReason, evaluation: evaluation,
                          encoding: try EncodingTable.read(from: runFile),
                          saliency: try SaliencyTable.read(from: runFile).map { SaliencySummary($0) },
                          crossSite: try CrossSiteTable.isStored(in: runFile) ? try crossSite(runFile) : nil, history: history,
                          replicate: replicate,
                          otherCohortEvaluation: try StoredEvaluation.read(from: runFile, group: StoredEvaluation.otherCohortGroupName),
                          encodingOnBiasedImages: try EncodingTable.read(from: runFile, section: .biasedImages),
                          encodingOnTwinImages: try EncodingTable.read(from: runFile, section: .twinImages),
                          memory: try StageMemory.read(from: runFile))
    }

    static func crossSite(_ runFile: String) throws -> CrossSiteSummary {
        let table = try CrossSiteTable.read(from: runFile)
        let reader = try DatasetReader(path: TrainedRun.resolve(table.dataset, besides: runFile))
        defer { try? reader.close() }
        let partition = table.config.partition
        let groupNames = GroupNames(biasNames: reader.config.biases.map(\.name))
        let names = (0..<table.sites).map { index in
            partition == .biasGroup ? groupNames.name(of: index)
                : index < reader.config.sites.count ? reader.config.sites[index].name : "site-\(index + 1)"
        }
        return CrossSiteSummary(partition: partition.rawValue, sites: names, accuracy: table.accuracy, auroc: table.auroc)
    }
}
