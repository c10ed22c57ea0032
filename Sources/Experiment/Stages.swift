import Analysis
import Cluster
import Foundation
import Synthesis

/// The analysis stages run on every rank of the world: each shares the
/// model work, rank 0 writes the results into the run file, and failures
/// are agreed so every rank reports the same one line.
public enum Stages {
    /// Scores the test split with one checkpoint of the run, computes the
    /// subgroup tables and stores them in the run file's `/evaluation`.
    /// `dataset` nil: the dataset recorded in the run file.
    public static func evaluate(runFile: String, dataset: String? = nil, checkpoint: String = "best",
                                settings: BootstrapSettings = BootstrapSettings(),
                                world: Communicator) throws -> StoredEvaluation {
        let (run, datasetPath, groupNames, siteNames) = try world.unanimously {
            () -> (TrainedRun, String, GroupNames, [String]) in
            let run = try TrainedRun.read(path: runFile, link: checkpoint)
            let path = dataset ?? run.datasetPath
            let reader = try Predictions.openDataset(path, for: run)
            defer { try? reader.close() }
            let sites = run.config.sites > 0 ? (0..<run.config.sites).map { "site-\($0 + 1)" }
                : reader.config.sites.map(\.name)
            return (run, path, GroupNames(biasNames: reader.config.biases.map(\.name)), sites)
        }
        let predictions = try Predictions.score(run, dataset: datasetPath, world: world)
        let stored = try world.unanimously { () -> StoredEvaluation in
            guard predictions.count > 0 else { throw ExperimentError("\(datasetPath) has no test samples to evaluate") }
            let evaluation = try Evaluation(predictions: predictions, groupNames: groupNames, siteNames: siteNames,
                                            settings: settings)
            let stored = StoredEvaluation(evaluation, run: run, dataset: datasetPath, settings: settings)
            if world.rank == 0 { try stored.write(to: runFile) }
            return stored
        }
        return stored
    }

    /// Layer-wise encoding probes on the test split, stored in `/encoding`.
    public static func probe(runFile: String, dataset: String? = nil, checkpoint: String = "best", folds: Int = 5,
                             seed: UInt64 = 0, world: Communicator) throws -> EncodingTable {
        let run = try world.unanimously { try TrainedRun.read(path: runFile, link: checkpoint) }
        let table = try EncodingTable.probe(run, dataset: dataset ?? run.datasetPath, world: world, folds: folds, seed: seed)
        try world.unanimously { if world.rank == 0 { try table.write(to: runFile) } }
        return table
    }
}
