import Analysis
import Randomness
import Synthesis

/// Something wrong with the data, the run file or the run itself, in one line.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One split of a cohort as the trainer sees it: sample indices into the
/// dataset file, labels, bias groups and loss weights.
public struct SplitTable: Sendable, Equatable {
    public let split: Split
    /// Indices into the dataset's `/images`, ascending.
    public let indices: [Int]
    public let labels: [Int]
    public let groups: [Int]
    public let sites: [Int]
    /// Per-sample loss weights (all ones without reweighing).
    public let weights: [Float]

    public var count: Int { indices.count }

    /// A table from its columns (all of the same length).
    public init(split: Split, indices: [Int], labels: [Int], groups: [Int], sites: [Int], weights: [Float]) {
        precondition([labels.count, groups.count, sites.count, weights.count].allSatisfy { $0 == indices.count },
                     "split table columns of different lengths")
        self.split = split
        self.indices = indices
        self.labels = labels
        self.groups = groups
        self.sites = sites
        self.weights = weights
    }

    /// The samples of `split` (of one site when `site` is given).
    public init(split: Split, samples: [SampleRecord], reweighing: Reweighing?, site: Int? = nil) throws {
        let chosen = samples.filter { $0.split == split && (site == nil || $0.site == site) }
        self.split = split
        indices = chosen.map(\.index)
        labels = chosen.map(\.label)
        groups = chosen.map(\.group)
        sites = chosen.map(\.site)
        if let reweighing {
            weights = try reweighing.sampleWeights(labels: labels, groups: groups.map(String.init)).map { Float($0) }
        } else {
            weights = [Float](repeating: 1, count: chosen.count)
        }
    }

    /// Calders weights from the training split's class × bias-group counts.
    public static func reweighing(trainingSamples samples: [SampleRecord]) throws -> Reweighing {
        let training = samples.filter { $0.split == .train }
        do {
            return try Reweighing(trainingLabels: training.map(\.label), trainingGroups: training.map { String($0.group) })
        } catch {
            throw TrainingError("reweighing: \(error)")
        }
    }
}

/// SimBA's input scaling: per image, min–max to [0, 1], then −0.5. A
/// constant image becomes all −0.5.
public func normalizeImage(_ voxels: inout ArraySlice<Float>) {
    guard let low = voxels.min(), let high = voxels.max() else { return }
    let range = high - low
    let scale: Float = range > 0 ? 1 / range : 0
    for i in voxels.indices { voxels[i] = (voxels[i] - low) * scale - 0.5 }
}

/// The order of the training split in each epoch and each rank's part of
/// each global batch. A pure function of (seed, epoch, split size, batch,
/// rank count), so every rank computes the same plan without talking.
public struct EpochPlan: Sendable {
    /// Positions into the split table, shuffled with the seed and epoch.
    public let order: [Int]
    public let batch: Int
    /// Whole batches per epoch; the remainder is dropped (as SimBA does).
    public var steps: Int { order.count / batch }

    public init(splitCount: Int, batch: Int, seed: UInt64, epoch: Int) {
        self.init(splitCount: splitCount, batch: batch, seed: seed, stream: UInt64(epoch))
    }

    /// A plan for any pass: `stream` tells passes apart (epoch, or round × site × local epoch).
    public init(splitCount: Int, batch: Int, seed: UInt64, stream: UInt64) {
        var generator = SeededGenerator(seed: seed, stream: stream, "epoch order")
        var order = Array(0..<splitCount)
        order.deterministicShuffle(using: &generator)
        self.order = order
        self.batch = batch
    }

    /// Positions of global batch `step` in the shuffled order.
    public func globalBatch(_ step: Int) -> ArraySlice<Int> {
        order[(step * batch)..<((step + 1) * batch)]
    }

    /// This rank's contiguous share of global batch `step` (and where it
    /// starts inside the batch, which places its dropout draws).
    public func share(step: Int, rank: Int, size: Int) -> (start: Int, positions: ArraySlice<Int>) {
        let range = evenShare(of: batch, rank: rank, size: size)
        let global = globalBatch(step)
        return (range.lowerBound, global[(global.startIndex + range.lowerBound)..<(global.startIndex + range.upperBound)])
    }
}

/// Rank `rank`'s part of `count` items split as evenly as possible, the
/// larger parts first: 5 over 3 ranks is 2, 2, 1.
public func evenShare(of count: Int, rank: Int, size: Int) -> Range<Int> {
    let base = count / size, extra = count % size
    let start = rank * base + min(rank, extra)
    return start..<(start + base + (rank < extra ? 1 : 0))
}
