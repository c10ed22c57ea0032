import Cluster
import Foundation
import Network
import Synthesis
import Training

/// A model's scores on one split of a dataset, in dataset order.
public struct Predictions: Sendable, Equatable {
    /// Dataset sample indices.
    public var indices: [Int]
    /// 1: disease, 0: healthy.
    public var labels: [Int]
    /// Combined bias group (bit b: bias b present).
    public var groups: [Int]
    public var sites: [Int]
    /// Softmax probability of the disease class.
    public var scores: [Double]

    public var count: Int { indices.count }

    /// Every rank scores its even share of the split's samples with `run`'s
    /// model; the scores are gathered on every rank. `sites` > 0 deals the
    /// samples into simulated sites as `simba train --sites` does.
    public static func score(_ run: TrainedRun, dataset: String, split: Split = .test, world: Communicator,
                             batch: Int = 8) throws -> Predictions {
        let (reader, model) = try world.unanimously { () -> (DatasetReader, SimbaCNN) in
            let reader = try openDataset(dataset, for: run)
            return (reader, try run.model(maxBatch: batch))
        }
        defer { try? reader.close() }
        var samples = reader.samples.filter { $0.split == split }
        if run.config.sites > 0 {
            for i in samples.indices { samples[i].site = samples[i].index % run.config.sites }
        }
        let loader = try run.imageLoader(reader)
        var scores = [Double]()
        try ShareChunks(count: samples.count, chunk: model.maxBatch, communicator: world).forEach(
            load: { positions in try loader.load(samples[positions].map(\.index)) }
        ) { positions, images in
            model.forward(images, batch: positions.count, mode: .eval)
            let k = model.configuration.classes
            for n in 0..<positions.count { scores.append(Double(model.probabilities[n * k + 1])) }
        }
        let all = try world.allgather(scores).flatMap { $0 }
        return Predictions(indices: samples.map(\.index), labels: samples.map(\.label), groups: samples.map(\.group),
                           sites: samples.map(\.site), scores: all)
    }

    /// Opens a dataset whose images fit `run`'s model.
    static func openDataset(_ path: String, for run: TrainedRun) throws -> DatasetReader {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExperimentError("dataset \(path) does not exist")
        }
        let reader: DatasetReader
        do { reader = try DatasetReader(path: path) } catch {
            throw ExperimentError("cannot read dataset \(path): \(error)")
        }
        guard Grid3(reader.shape) == run.input else {
            throw ExperimentError("\(path) has \(reader.shape.map(String.init).joined(separator: "×")) images, but \(run.path) was trained on \(run.input)")
        }
        return reader
    }
}
