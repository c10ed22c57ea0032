import Foundation
import Network
import Storage
import Synthesis
import Training
import YAMLConfig

/// A training run read back from its run file: the configuration, the
/// dataset it was trained on and the parameters of one complete checkpoint.
public struct TrainedRun: Sendable {
    public let path: String
    public let config: TrainingConfig
    /// The dataset recorded by `simba train`: its path as recorded if that
    /// exists, else the file of that name beside the run file (so an
    /// experiment folder can be moved or read from another directory).
    public let datasetPath: String
    public let input: Grid3
    /// The checkpoint read, e.g. /checkpoints/epoch_000012.
    public let checkpoint: String
    public let epoch: Int
    public let parameters: [Float]
    /// Subtracted from every input (`training.centre_input`); nil: none.
    public var inputMean: [Float]? = nil

    /// Reads `link` ("best" or "latest") of the run file at `path`, which is
    /// opened serially and read-only (any rank may call it).
    public static func read(path: String, link: String = "best") throws -> TrainedRun {
        let stored: StoredModel
        do { stored = try StoredModel.read(path: path, link: link) } catch let error as TrainingError {
            throw ExperimentError(error.description)
        }
        guard stored.config.strategy != .local else {
            throw ExperimentError("\(path) was trained with strategy local (one model per site, no single model): its evaluation is the cross-site matrix in /evaluation/cross_site")
        }
        return TrainedRun(path: path, config: stored.config, datasetPath: resolve(stored.recordedDataset, besides: path),
                          input: stored.input, checkpoint: stored.checkpoint, epoch: stored.epoch,
                          parameters: stored.parameters, inputMean: stored.inputMean)
    }

    /// Loads `reader`'s images as this run's model takes them: scaled as
    /// SimBA does, minus the training mean when the run centres its input.
    /// The reader's grid must be the run's (`Predictions.openDataset` checks).
    public func imageLoader(_ reader: DatasetReader) throws -> ImageLoader {
        do { return try ImageLoader(reader: reader, centre: inputMean) } catch let error as TrainingError {
            throw ExperimentError(error.description)
        }
    }

    public static func resolve(_ recorded: String, besides runFile: String) -> String {
        if FileManager.default.fileExists(atPath: recorded) { return recorded }
        let beside = ((runFile as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent((recorded as NSString).lastPathComponent)
        return FileManager.default.fileExists(atPath: beside) ? beside : recorded
    }

    /// The trained network for inference, built for batches of up to
    /// `maxBatch` — fewer when that many would need more memory than
    /// training did (`inferenceBatch`); read the model's `maxBatch`.
    public func model(maxBatch: Int) throws -> SimbaCNN {
        let model = try SimbaCNN(configuration: config.model(input: input), maxBatch: inferenceBatch(upTo: maxBatch),
                                 seed: config.seed)
        try model.load(parameters: parameters)
        return model
    }

    /// The largest batch up to `preferred` (at least 1) whose model needs no
    /// more memory than the training batch on one rank, or than
    /// `smallModelBytes` — so small models keep their batches and a 1 mm
    /// model (4.5 GiB at batch 2) is not built for 8 samples (~18 GiB).
    public func inferenceBatch(upTo preferred: Int) -> Int {
        let shapes = SimbaCNNShapes(config.model(input: input))
        let budget = max(shapes.trainingBytes(batch: config.batch) ?? 0, Self.smallModelBytes)
        var batch = max(1, preferred)
        while batch > 1, (shapes.trainingBytes(batch: batch) ?? .max) > budget { batch -= 1 }
        return batch
    }

    /// Below this, inference batches are never cut (1 GiB).
    public static let smallModelBytes = 1 << 30
}

/// A failure of an analysis stage, reported as one line.
public struct ExperimentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
