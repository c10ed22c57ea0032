@testable import Analysis
import Network
import Randomness
import XCTest

final class LayerEncodingTests: XCTestCase {
    func testActivationsMatchSingleImageForwardPasses() throws {
        let model = try SimbaCNN(configuration: SimbaCNNConfiguration(input: Grid3(6, 6, 4), widths: [2, 3]),
                                 maxBatch: 2, seed: 1)
        var generator = SeededGenerator(seed: 2)
        let images = (0..<3).map { _ in (0..<144).map { _ in generator.symmetric(limit: 0.5) } }
        let matrices = try LayerEncoding.activations(model: model, layers: [0, 2], count: 3) { images[$0] }
        XCTAssertEqual(LayerEncoding.layerNames(depth: 2), ["block1", "block2", "features"])
        XCTAssertEqual(matrices[0].columnCount, 3 * 3 * 2 * 2)
        for (index, image) in images.enumerated() {
            _ = model.forward(image, batch: 1, mode: .eval)
            let block = Array(model.blockOutput(0).array.prefix(matrices[0].columnCount))
            let features = Array(model.features.array.prefix(matrices[1].columnCount))
            XCTAssertEqual(Array(matrices[0].values[index * block.count..<(index + 1) * block.count]), block)
            XCTAssertEqual(Array(matrices[1].values[index * features.count..<(index + 1) * features.count]), features)
        }
    }

    /// A label written into the images is decodable from the layers; a
    /// label unrelated to them is not (cross-validated, so fitting noise
    /// does not count).
    func testEncodedLabelIsDecodableAndRandomLabelIsNot() throws {
        let model = try SimbaCNN(configuration: SimbaCNNConfiguration(input: Grid3(8, 8, 8), widths: [4, 4]),
                                 maxBatch: 4, seed: 3)
        var generator = SeededGenerator(seed: 4)
        let count = 60
        let bias = (0..<count).map { $0 % 2 }
        let unrelated = (0..<count).map { _ in generator.below(2) }
        let images = (0..<count).map { index -> [Float] in
            (0..<512).map { voxel in
                let corner = voxel % 8 < 3 && (voxel / 8) % 8 < 3
                return 0.1 * generator.symmetric(limit: 1) + (corner && bias[index] == 1 ? 0.5 : 0)
            }
        }
        let results = try LayerEncoding.probe(model: model, layers: [0, 2], count: count,
                                              labels: ["bias": bias, "unrelated": unrelated]) { images[$0] }
        for layer in results {
            XCTAssertGreaterThan(layer.probes["bias"]!.crossValidatedAccuracy!, 0.9, layer.layer)
            XCTAssertFalse(layer.probes["unrelated"]!.isAboveChance(), layer.layer)
        }
    }
}
