import Network
import Randomness

/// SmoothGrad saliency (Smilkov et al. 2017) the way SimBA computes it:
/// the gradient of a class's pre-softmax score with respect to the input,
/// averaged in absolute value over `copies` noisy copies of the image (noise
/// N(0, `noise`) in the network's input units, [−0.5, 0.5]), then scaled to
/// [0, 1] by its minimum and maximum. SimBA: 20 copies, σ 0.2, class 1 for
/// true positives and class 0 for true negatives.
public struct SmoothGrad: Sendable {
    public var copies: Int
    public var noise: Float
    public var seed: UInt64

    public init(copies: Int = 20, noise: Float = 0.2, seed: UInt64 = 66) {
        self.copies = copies
        self.noise = noise
        self.seed = seed
    }

    /// The saliency map of one image (the network's input layout, already
    /// scaled). `sample` picks the noise stream, so maps are reproducible
    /// and independent of the order images are processed in.
    public func map(model: SimbaCNN, image: [Float], classIndex: Int, sample: Int) -> [Float] {
        let voxels = model.configuration.input.voxels
        precondition(image.count == voxels, "the image has \(image.count) voxels, the network \(voxels)")
        var generator = SeededGenerator(seed: seed, stream: UInt64(sample), "smoothgrad")
        var sum = [Double](repeating: 0, count: voxels)
        var done = 0
        var batchInput = [Float](repeating: 0, count: model.maxBatch * voxels)
        while done < copies {
            let batch = min(model.maxBatch, copies - done)
            for copy in 0..<batch {
                for v in 0..<voxels {
                    batchInput[copy * voxels + v] = image[v] + noise * Float(generator.normal())
                }
            }
            batchInput.withUnsafeBufferPointer { model.forward($0.baseAddress!, batch: batch, mode: .eval) }
            model.backward(classScore: classIndex)
            let gradient = model.inputGradient.data
            for copy in 0..<batch {
                for v in 0..<voxels { sum[v] += Double(abs(gradient[copy * voxels + v])) }
            }
            done += batch
        }
        guard let low = sum.min(), let high = sum.max(), high > low else {
            return [Float](repeating: 0, count: voxels)
        }
        return sum.map { Float(($0 - low) / (high - low)) }
    }
}

/// Saliency summarised per atlas region, as SimBA's saliency_ROIs.py does:
/// after a threshold, the share of the region's voxels that are salient
/// (coverage, %), the mean saliency of those voxels, that mean min–max
/// normalised across regions, and their product (the weighted score).
public struct RegionSaliency: Sendable, Equatable {
    public let label: Int32
    public let coverage: Double
    public let mean: Double
    public let normalizedMean: Double
    public var weightedScore: Double { normalizedMean * coverage }

    /// Scores of every non-zero label in `labels` (same voxel order as `map`).
    public static func scores(map: [Float], labels: [Int32], threshold: Float = 0) -> [RegionSaliency] {
        precondition(map.count == labels.count, "map and labels must have the same voxels")
        var total: [Int32: Int] = [:], salient: [Int32: Int] = [:], sum: [Int32: Double] = [:]
        for (value, label) in zip(map, labels) where label != 0 {
            total[label, default: 0] += 1
            if value > threshold {
                salient[label, default: 0] += 1
                sum[label, default: 0] += Double(value)
            }
        }
        let means = total.keys.reduce(into: [Int32: Double]()) { result, label in
            let count = salient[label] ?? 0
            result[label] = count > 0 ? sum[label]! / Double(count) : 0
        }
        let low = means.values.min() ?? 0, high = means.values.max() ?? 0
        return total.keys.sorted().map { label in
            RegionSaliency(label: label, coverage: 100 * Double(salient[label] ?? 0) / Double(total[label]!),
                           mean: means[label]!,
                           normalizedMean: high > low ? (means[label]! - low) / (high - low) : 0)
        }
    }
}
