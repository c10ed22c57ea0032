import Analysis
import Foundation
import Training

/// What an analysis section of a run file (/evaluation, /encoding,
/// /saliency) was computed from besides the run itself: the checkpoint, the
/// dataset and the stage's settings. A resumed experiment keeps a section
/// whose stamp is what it would compute now and redoes the others, so a
/// requeued cluster job does not probe or map a finished arm again.
enum StageStamp {
    static func evaluation(checkpoint: String, dataset: String, settings: BootstrapSettings) -> String {
        "\(checkpoint) on \(dataset); bootstrap \(settings.resamples) at \(settings.confidenceLevel), seed \(settings.seed)"
    }

    static func encoding(checkpoint: String, dataset: String, folds: Int, seed: UInt64, memoryMiB: Int) -> String {
        "\(checkpoint) on \(dataset); \(folds) folds, seed \(seed), \(memoryMiB) MiB"
    }

    static func saliency(checkpoint: String, dataset: String, perCell: Int, threshold: Float) -> String {
        "\(checkpoint) on \(dataset); \(perCell) per cell, threshold \(threshold)"
    }
}

/// Which stages of an arm are already done for the run's current checkpoint.
public struct FinishedStages: Sendable, Equatable {
    public var evaluation = false, encoding = false, saliency = false
    /// The cross-score on the counterfactual cohort's test images.
    public var otherCohortEvaluation = false
    /// Probes of the twin's model on the biased cohort's images (`/encoding_biased_images`).
    public var encodingOnBiasedImages = false

    public init() {}

    /// Compares the stamps in `runFile` with what `analysis` would compute
    /// from its `analysis.checkpoint` checkpoint on the run's own dataset
    /// (serial, read-only), and with `otherCohort` its evaluation on that
    /// cohort's test images. Local runs are always evaluated again (cheap:
    /// from their stored scores).
    /// With `biasedImages` (the twin arm: the biased cohort), also whether
    /// its probes on those images are current.
    public static func read(runFile: String, analysis: AnalysisConfig, otherCohort: String? = nil,
                            biasedImages: String? = nil) throws -> FinishedStages {
        var done = FinishedStages()
        guard FileManager.default.fileExists(atPath: runFile),
              let stored = try? StoredModel.read(path: runFile, link: analysis.checkpoint),
              stored.config.strategy != .local else { return done }
        let checkpoint = stored.checkpoint, settings = analysis.bootstrapSettings
        let dataset = TrainedRun.resolve(stored.recordedDataset, besides: runFile)
        func current(_ name: String, _ stamp: String) throws -> Bool { try RunFileSection.stamp(of: name, in: runFile) == stamp }
        done.evaluation = try current(StoredEvaluation.groupName,
                                      StageStamp.evaluation(checkpoint: checkpoint, dataset: dataset, settings: settings))
        done.encoding = try done.evaluation && current(EncodingTable.groupName, StageStamp.encoding(
            checkpoint: checkpoint, dataset: dataset, folds: analysis.folds, seed: analysis.seed, memoryMiB: analysis.probeMemoryMiB))
        if let biasedImages {
            done.encodingOnBiasedImages = try done.evaluation && current(EncodingSection.biasedImages.rawValue, StageStamp.encoding(
                checkpoint: checkpoint, dataset: biasedImages, folds: analysis.folds, seed: analysis.seed,
                memoryMiB: analysis.probeMemoryMiB))
        }
        done.saliency = try done.evaluation && current(SaliencyTable.groupName, StageStamp.saliency(
            checkpoint: checkpoint, dataset: dataset, perCell: analysis.saliency, threshold: Float(analysis.saliencyThreshold)))
        if let otherCohort {
            done.otherCohortEvaluation = try done.evaluation && current(StoredEvaluation.otherCohortGroupName,
                                                                        StageStamp.evaluation(checkpoint: checkpoint, dataset: otherCohort, settings: settings))
        }
        return done
    }
}
