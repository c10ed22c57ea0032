import Network

/// Where in the network a label (the bias, the disease) is encoded
/// (eBioMedicine 2025): each block's activations over a set of images,
/// probed by PCA + logistic regression — cross-validated, not only on the
/// fit set as in the original.
public enum LayerEncoding {
    /// Names of the probe points: "block1" … "blockN" (after each block's
    /// pooling) and "features" (the flattened average-pool output).
    public static func layerNames(depth: Int) -> [String] {
        (1...depth).map { "block\($0)" } + ["features"]
    }

    /// How each chosen layer's activations are pooled so that `count`
    /// images' worth fits in `budget` floats per layer; the flattened
    /// features (already averaged) are never pooled.
    public static func pooling(model: SimbaCNN, layers: [Int], count: Int, budget: Int = .max) -> [ActivationPooling] {
        let depth = model.configuration.widths.count
        return layers.map { layer in
            let shape = layer < depth ? Array(model.blockOutput(layer).shape.dropFirst()) : [1, 1, 1, model.features.count / model.maxBatch]
            let grid = Grid3(shape[0], shape[1], shape[2])
            return layer < depth ? ActivationPooling.fitting(grid: grid, channels: shape[3], images: count, budget: budget)
                : ActivationPooling(grid: grid, channels: shape[3], factor: 1)
        }
    }

    /// Activations of the chosen layers (indices into `layerNames`) for
    /// `count` images, in evaluation mode, batched by the model's maximum
    /// batch, each pooled as `pooling` says (default: not at all).
    public static func activations(model: SimbaCNN, layers: [Int], count: Int, pooling: [ActivationPooling]? = nil,
                                   image: (Int) throws -> [Float]) throws -> [FeatureMatrix] {
        let depth = model.configuration.widths.count
        let voxels = model.configuration.input.voxels
        let tensors = layers.map { $0 < depth ? model.blockOutput($0) : model.features }
        let pooling = pooling ?? Self.pooling(model: model, layers: layers, count: count)
        precondition(pooling.count == layers.count, "one pooling per layer")
        let widths = pooling.map(\.width)
        var values = widths.map { [Float](repeating: 0, count: count * $0) }
        var batchInput = [Float](repeating: 0, count: model.maxBatch * voxels)
        var start = 0
        while start < count {
            let batch = min(model.maxBatch, count - start)
            for item in 0..<batch {
                let pixels = try image(start + item)
                guard pixels.count == voxels else {
                    throw AnalysisError.invalidSetting("image \(start + item) has \(pixels.count) voxels, the network \(voxels)")
                }
                batchInput.replaceSubrange(item * voxels..<(item + 1) * voxels, with: pixels)
            }
            batchInput.withUnsafeBufferPointer { model.forward($0.baseAddress!, batch: batch, mode: .eval) }
            for (index, tensor) in tensors.enumerated() {
                let width = widths[index], stride = tensor.count / model.maxBatch
                values[index].withUnsafeMutableBufferPointer { rows in
                    for item in 0..<batch {
                        pooling[index].pool(tensor.data + item * stride, into: rows.baseAddress! + (start + item) * width)
                    }
                }
            }
            start += batch
        }
        return try zip(widths, values).map { try FeatureMatrix(rowCount: count, columnCount: $0, values: $1) }
    }

    /// The probe of each chosen layer for each label set (e.g. bias, disease).
    public static func probe(model: SimbaCNN, layers: [Int], count: Int, labels: [String: [Int]],
                             probe: EncodingProbe = EncodingProbe(),
                             image: (Int) throws -> [Float]) throws -> [LayerEncodingResult] {
        let names = layerNames(depth: model.configuration.widths.count)
        let matrices = try activations(model: model, layers: layers, count: count, image: image)
        return try zip(layers, matrices).map { layer, features in
            var results: [String: EncodingProbeResult] = [:]
            for (name, values) in labels { results[name] = try probe.evaluate(features: features, labels: values) }
            return LayerEncodingResult(layer: names[layer], features: features.columnCount, probes: results)
        }
    }
}

public struct LayerEncodingResult: Sendable {
    public let layer: String
    public let features: Int
    /// Probe result per label set name.
    public let probes: [String: EncodingProbeResult]
}
