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

    /// Activations of the chosen layers (indices into `layerNames`) for
    /// `count` images, in evaluation mode, batched by the model's maximum batch.
    public static func activations(model: SimbaCNN, layers: [Int], count: Int,
                                   image: (Int) throws -> [Float]) throws -> [FeatureMatrix] {
        let depth = model.configuration.widths.count
        let voxels = model.configuration.input.voxels
        let tensors = layers.map { $0 < depth ? model.blockOutput($0) : model.features }
        let widths = tensors.map { $0.count / model.maxBatch }
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
                let width = widths[index]
                for item in 0..<batch {
                    let source = UnsafeBufferPointer(start: tensor.data + item * width, count: width)
                    values[index].replaceSubrange((start + item) * width..<(start + item + 1) * width, with: source)
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
