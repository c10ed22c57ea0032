import Analysis
import Cluster
import Foundation
import Storage
import Synthesis

/// The analysis stages run on every rank of the world: each shares the
/// model work, rank 0 writes the results into the run file, and failures
/// are agreed so every rank reports the same one line.
public enum Stages {
    /// Scores the test split with one checkpoint of the run, computes the
    /// subgroup tables and stores them in the run file's `/evaluation`, or,
    /// for another dataset than the run's own (the counterfactual cohort),
    /// in `/evaluation_other_cohort`, leaving the run's own evaluation as it is.
    /// `dataset` nil: the dataset recorded in the run file.
    public static func evaluate(runFile: String, dataset: String? = nil, checkpoint: String = "best",
                                settings: BootstrapSettings = BootstrapSettings(),
                                world: Communicator) throws -> StoredEvaluation {
        let meter = StageMemory.Meter()
        let (run, datasetPath, groupNames, siteNames) = try world.unanimously {
            () -> (TrainedRun, String, GroupNames, [String]) in
            let run = try TrainedRun.read(path: runFile, link: checkpoint)
            let path = dataset ?? run.datasetPath
            let reader = try Predictions.openDataset(path, for: run)
            defer { try? reader.close() }
            let sites = run.config.sites > 0 ? (0..<run.config.sites).map { "site-\($0 + 1)" }
                : reader.config.sites.map { $0.heldOut ? "\($0.name) (held out)" : $0.name }
            return (run, path, GroupNames(biasNames: reader.config.biases.map(\.name)), sites)
        }
        let predictions = try Predictions.score(run, dataset: datasetPath, world: world)
        let group = evaluationGroup(run: run, dataset: datasetPath)
        let stored = try world.unanimously { () -> StoredEvaluation in
            guard predictions.count > 0 else { throw ExperimentError("\(datasetPath) has no test samples to evaluate") }
            let evaluation = try Evaluation(predictions: predictions, groupNames: groupNames, siteNames: siteNames,
                                            settings: settings)
            let stored = StoredEvaluation(evaluation, run: run, dataset: datasetPath, settings: settings)
            if world.rank == 0 {
                try stored.write(to: runFile, group: group)
                try RunFileSection.setStamp(StageStamp.evaluation(checkpoint: run.checkpoint, dataset: datasetPath, settings: settings),
                                            of: group, in: runFile)
            }
            return stored
        }
        try meter.record(group, in: runFile, world: world)
        return stored
    }

    /// Where an evaluation of `run` on `dataset` goes: `/evaluation` for the
    /// run's own dataset, `/evaluation_other_cohort` for any other.
    public static func evaluationGroup(run: TrainedRun, dataset: String) -> String {
        dataset == run.datasetPath || OutputTarget.isSameFile(dataset, run.datasetPath)
            ? StoredEvaluation.groupName : StoredEvaluation.otherCohortGroupName
    }

    /// A local run (one model per site) evaluated as deployed: each test
    /// image scored by its own site's best model, and an image of a site
    /// without a model (held out) by the mean score of all site models.
    /// The scores come from the run's cross-site matrix; the tables go to
    /// `/evaluation` beside it.
    public static func evaluateLocal(runFile: String, settings: BootstrapSettings = BootstrapSettings(),
                                     world: Communicator) throws -> StoredEvaluation {
        let meter = StageMemory.Meter()
        let stored = try world.unanimously { () -> StoredEvaluation in
            let matrix = try CrossSiteTable.read(from: runFile)
            let dataset = TrainedRun.resolve(matrix.dataset, besides: runFile)
            let reader = try DatasetReader(path: dataset)
            defer { try? reader.close() }
            let records = Dictionary(uniqueKeysWithValues: reader.samples.map { ($0.index, $0) })
            let scores = matrix.sampleIndices.indices.map { matrix.deployedScore(sample: $0) }
            // Bias-group models route by group; the tables still need the dataset's sites.
            let byGroup = matrix.config.partition == .biasGroup
            let predictions = Predictions(indices: matrix.sampleIndices, labels: matrix.sampleLabels,
                                          groups: matrix.sampleIndices.map { records[$0]?.group ?? 0 },
                                          sites: byGroup ? matrix.sampleIndices.map { records[$0]?.site ?? 0 } : matrix.sampleSites,
                                          scores: scores)
            let siteNames = reader.config.sites.map { $0.heldOut ? "\($0.name) (held out)" : $0.name }
            let evaluation = try Evaluation(predictions: predictions,
                                            groupNames: GroupNames(biasNames: reader.config.biases.map(\.name)),
                                            siteNames: siteNames, settings: settings)
            let run = TrainedRun(path: runFile, config: matrix.config, datasetPath: dataset, input: matrix.input,
                                 checkpoint: byGroup ? "each bias group's best model (group models)" : "each site's best model (local)",
                                 epoch: matrix.bestRounds.max() ?? 0,
                                 parameters: [])
            let stored = StoredEvaluation(evaluation, run: run, dataset: dataset, settings: settings)
            if world.rank == 0 { try stored.write(to: runFile) }
            return stored
        }
        try meter.record(StoredEvaluation.groupName, in: runFile, world: world)
        return stored
    }

    /// Layer-wise encoding probes on the test split, stored in `/encoding`;
    /// on another dataset's images (`dataset` not the run's own), in their
    /// own group: `/encoding_biased_images` when those images carry the
    /// bias, `/encoding_twin_images` when they are a no-bias twin cohort's,
    /// so the run's own `/encoding` is never replaced by them.
    @discardableResult
    public static func probe(runFile: String, dataset: String? = nil, checkpoint: String = "best", folds: Int = 5,
                             seed: UInt64 = 0, memoryMiB: Int = AnalysisConfig().probeMemoryMiB,
                             world: Communicator) throws -> EncodingTable {
        let meter = StageMemory.Meter()
        let (run, section) = try world.unanimously { () -> (TrainedRun, EncodingSection) in
            let run = try TrainedRun.read(path: runFile, link: checkpoint)
            return (run, try encodingSection(of: dataset, for: run))
        }
        let path = dataset ?? run.datasetPath
        let table = try EncodingTable.probe(run, dataset: path, world: world, folds: folds, seed: seed, memoryMiB: memoryMiB)
        try world.unanimously {
            guard world.rank == 0 else { return }
            try table.write(to: runFile, section: section)
            try RunFileSection.setStamp(StageStamp.encoding(checkpoint: run.checkpoint, dataset: path, folds: folds, seed: seed,
                                                            memoryMiB: memoryMiB),
                                        of: section.rawValue, in: runFile)
        }
        try meter.record(section.rawValue, in: runFile, world: world)
        return table
    }

    /// Where probes of `run` on `dataset` go: its own section when the
    /// dataset is the one it was trained on (the same file by any path),
    /// else by what the dataset's images are (its `variant`).
    public static func encodingSection(of dataset: String?, for run: TrainedRun) throws -> EncodingSection {
        guard let dataset, !sameFile(dataset, run.datasetPath) else { return .own }
        let reader = try Predictions.openDataset(dataset, for: run)
        defer { try? reader.close() }
        return reader.variant == "twin" ? .twinImages : .biasedImages
    }

    /// Whether two paths name one file (device and inode, links followed).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return a == b }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }
}

extension Stages {
    /// SmoothGrad maps of correctly classified test images per bias group
    /// and outcome, stored in `/saliency`; needs the run's evaluation. With
    /// `niftiFolder`, rank 0 also writes each mean map as NIfTI there.
    public static func saliency(runFile: String, dataset: String? = nil, checkpoint: String = "best",
                                perCell: Int = 10, threshold: Float = 0.2, niftiFolder: String? = nil,
                                world: Communicator) throws -> SaliencyTable {
        let meter = StageMemory.Meter()
        let (run, evaluation) = try world.unanimously { () -> (TrainedRun, StoredEvaluation) in
            let run = try TrainedRun.read(path: runFile, link: checkpoint)
            guard let evaluation = try StoredEvaluation.read(from: runFile) else {
                throw ExperimentError("\(runFile) has no evaluation yet: run 'simba evaluate \(runFile)' first")
            }
            guard evaluation.checkpoint == run.checkpoint else {
                throw ExperimentError("\(runFile) was evaluated at \(evaluation.checkpoint), not at its \(checkpoint) checkpoint \(run.checkpoint): evaluate it again")
            }
            return (run, evaluation)
        }
        let path = dataset ?? TrainedRun.resolve(evaluation.dataset, besides: runFile)
        let table = try SaliencyTable.compute(run, evaluation: evaluation, dataset: path, world: world,
                                              perCell: perCell, threshold: threshold)
        try world.unanimously {
            guard world.rank == 0 else { return }
            try table.write(to: runFile)
            try RunFileSection.setStamp(StageStamp.saliency(checkpoint: run.checkpoint, dataset: path, perCell: perCell,
                                                            threshold: threshold),
                                        of: SaliencyTable.groupName, in: runFile)
            if let niftiFolder { _ = try table.writeNIfTI(folder: niftiFolder, dataset: path) }
        }
        try meter.record(SaliencyTable.groupName, in: runFile, world: world)
        return table
    }
}
