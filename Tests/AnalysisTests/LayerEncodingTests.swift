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

    /// Pooling against a plain mean over each window's cells, edges included.
    func testPoolingAveragesEachWindowsCells() {
        let grid = Grid3(5, 4, 3), channels = 2
        var generator = SeededGenerator(seed: 7)
        let input = (0..<(grid.voxels * channels)).map { _ in generator.symmetric(limit: 1) }
        let pooling = ActivationPooling(grid: grid, channels: channels, factor: 2)
        XCTAssertEqual(pooling.pooledGrid, Grid3(3, 2, 2))
        var output = [Float](repeating: .nan, count: pooling.width)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { pooling.pool(source.baseAddress!, into: $0.baseAddress!) }
        }
        for px in 0..<3 { for py in 0..<2 { for pz in 0..<2 { for c in 0..<channels {
            var sum: Float = 0, cells = 0
            for x in (2 * px)..<min(5, 2 * px + 2) { for y in (2 * py)..<min(4, 2 * py + 2) { for z in (2 * pz)..<min(3, 2 * pz + 2) {
                sum += input[((x * 4 + y) * 3 + z) * channels + c]; cells += 1
            } } }
            XCTAssertEqual(output[((px * 2 + py) * 2 + pz) * channels + c], sum / Float(cells), accuracy: 1e-6)
        } } } }
        // Factor 1 copies.
        let identity = ActivationPooling(grid: grid, channels: channels, factor: 1)
        var copy = [Float](repeating: .nan, count: identity.width)
        input.withUnsafeBufferPointer { source in
            copy.withUnsafeMutableBufferPointer { identity.pool(source.baseAddress!, into: $0.baseAddress!) }
        }
        XCTAssertEqual(copy, input)
    }

    /// The smallest factor that fits is chosen; the probe's activations are
    /// the pooled unpooled ones.
    func testActivationsArePooledJustEnoughToFit() throws {
        let grid = Grid3(10, 10, 10)
        XCTAssertEqual(ActivationPooling.fitting(grid: grid, channels: 2, images: 4, budget: 8000).factor, 1)
        XCTAssertEqual(ActivationPooling.fitting(grid: grid, channels: 2, images: 4, budget: 7999).factor, 2)
        XCTAssertEqual(ActivationPooling.fitting(grid: grid, channels: 2, images: 4, budget: 1000).factor, 2)
        XCTAssertEqual(ActivationPooling.fitting(grid: grid, channels: 2, images: 4, budget: 999).factor, 3)
        XCTAssertEqual(ActivationPooling.fitting(grid: grid, channels: 2, images: 4, budget: 1).factor, 10)

        let model = try SimbaCNN(configuration: SimbaCNNConfiguration(input: Grid3(9, 8, 6), widths: [3, 2]),
                                 maxBatch: 2, seed: 1)
        var generator = SeededGenerator(seed: 2)
        let images = (0..<3).map { _ in (0..<432).map { _ in generator.symmetric(limit: 0.5) } }
        let budget = 3 * 3 * 2 * 2 * 3 // block 1 (5×4×3×3) must shrink to 3×2×2×3 per image: factor 2
        let pooling = LayerEncoding.pooling(model: model, layers: [0, 2], count: 3, budget: budget)
        XCTAssertEqual(pooling.map(\.factor), [2, 1], "the flattened features are never pooled")
        let pooled = try LayerEncoding.activations(model: model, layers: [0, 2], count: 3, pooling: pooling) { images[$0] }
        let full = try LayerEncoding.activations(model: model, layers: [0, 2], count: 3) { images[$0] }
        XCTAssertEqual(pooled[0].columnCount, pooling[0].width)
        XCTAssertEqual(pooled[1].values, full[1].values)
        for index in 0..<3 {
            var expected = [Float](repeating: 0, count: pooling[0].width)
            full[0].values.withUnsafeBufferPointer { source in
                expected.withUnsafeMutableBufferPointer {
                    pooling[0].pool(source.baseAddress! + index * full[0].columnCount, into: $0.baseAddress!)
                }
            }
            XCTAssertEqual(Array(pooled[0].values[(index * expected.count)..<((index + 1) * expected.count)]), expected)
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
