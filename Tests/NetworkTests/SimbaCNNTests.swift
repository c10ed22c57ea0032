import Randomness
import XCTest
@testable import Network

final class SimbaCNNShapeTests: XCTestCase {
    func testPaperModelShapesAndParameterCount() {
        let shapes = SimbaCNNShapes(.simba())
        XCTAssertEqual(shapes.pooledGrids, [Grid3(87, 106, 78), Grid3(44, 53, 39), Grid3(22, 27, 20),
                                            Grid3(11, 14, 10), Grid3(6, 7, 5)])
        XCTAssertEqual(shapes.averagePooledGrid, Grid3(3, 4, 3))
        XCTAssertEqual(shapes.features, 18_432)
        XCTAssertEqual(shapes.layout.totalCount, 4_742_850)
        // Keras: non-trainable = the moving mean and variance of 32+…+512 channels.
        XCTAssertEqual(shapes.layout.totalCount - shapes.layout.trainableCount, 2 * (32 + 64 + 128 + 256 + 512))
    }

    func testLayoutNamesEverySliceContiguously() {
        let layout = SimbaCNNShapes(.simba()).layout
        XCTAssertEqual(layout.slices.count, 5 * 6 + 2)
        var offset = 0
        for slice in layout.slices {
            XCTAssertEqual(slice.offset, offset, slice.name)
            offset += slice.count
        }
        XCTAssertEqual(layout["block1.conv.kernel"].shape, [3, 3, 3, 1, 32])
        XCTAssertEqual(layout["block5.bn.moving_variance"].trainable, false)
        XCTAssertEqual(layout["dense.kernel"].shape, [18_432, 2])
        XCTAssertEqual(layout.slices.last?.name, "dense.bias")
    }

    /// The roles given where the layout is built pick out the same slices
    /// that name matching ("*.bn.*") did, so callers can switch to them.
    func testBatchNormRangesAreTheSlicesNamedBN() {
        let small = SimbaCNNConfiguration(input: Grid3(8, 8, 6), widths: [4, 8])
        for configuration in [SimbaCNNConfiguration.simba(), small] {
            let layout = SimbaCNNShapes(configuration).layout
            XCTAssertEqual(layout.batchNormRanges, layout.slices.filter { $0.name.contains(".bn.") }.map(\.range))
            XCTAssertEqual(layout.batchNormRanges.count, 4 * configuration.widths.count)
        }
    }

    func testInvalidConfigurationsAreRejected() {
        var config = SimbaCNNConfiguration(input: Grid3(4, 4, 4), widths: [])
        XCTAssertThrowsError(try SimbaCNN(configuration: config, maxBatch: 1, seed: 0))
        config.widths = [2]; config.dropoutRate = 1
        XCTAssertThrowsError(try SimbaCNN(configuration: config, maxBatch: 1, seed: 0))
    }
}

final class SimbaCNNTests: XCTestCase {
    let small = SimbaCNNConfiguration(input: Grid3(7, 6, 5), widths: [2, 3])
    lazy var samples = randomValues(2 * small.input.voxels, seed: 81, scale: 2)
    let labels = [1, 0]
    let weights: [Float] = [0.7, 1.6]

    /// Weighted cross-entropy of logits, computed in Double independently of Loss.swift.
    func crossEntropy(_ logits: [Float], classes: Int) -> Double {
        var total = 0.0
        for n in labels.indices {
            let row = (0..<classes).map { Double(logits[n * classes + $0]) }
            let logSum = log(row.map { exp($0) }.reduce(0, +))
            total += Double(weights[n]) * (logSum - row[labels[n]])
        }
        return total / Double(labels.count)
    }

    func testInitializationFollowsKerasDefaults() throws {
        let model = try SimbaCNN(configuration: small, maxBatch: 2, seed: 3)
        let p = model.parameters.array
        func slice(_ name: String) -> ArraySlice<Float> { p[model.layout[name].range] }
        XCTAssertTrue(slice("block2.bn.gamma").allSatisfy { $0 == 1 })
        XCTAssertTrue(slice("block2.bn.moving_variance").allSatisfy { $0 == 1 })
        XCTAssertTrue(slice("block2.bn.moving_mean").allSatisfy { $0 == 0 })
        XCTAssertTrue(slice("block1.conv.bias").allSatisfy { $0 == 0 })
        let limit = (6 / Float(27 * 2 + 27 * 3)).squareRoot()
        let kernel = slice("block2.conv.kernel")
        XCTAssertTrue(kernel.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(kernel.map(abs).max()!, 0.8 * limit, "uniform over the whole Glorot range")
    }

    func testWholeModelGradientMatchesFiniteDifferences() throws {
        for activation in Activation.allCases {
            var config = small
            config.activation = activation
            let model = try SimbaCNN(configuration: config, maxBatch: 2, seed: 9)
            let start = model.generator
            model.forward(samples, batch: 2, mode: .train)
            model.backward(labels: labels, weights: weights, inputGradient: true)
            let analytic = model.gradients.array, analyticInput = Array(model.inputGradient.array[0..<samples.count])
            let parameters = model.parameters.array
            // Same dropout mask for every evaluation: restore the generator.
            func loss(parameters values: [Float], samples input: [Float]) -> Double {
                try! model.load(parameters: values)
                model.generator = start
                return crossEntropy(model.forward(input, batch: 2, mode: .train), classes: config.classes)
            }
            checkGradient(values: parameters, analytic: analytic, step: 1e-3, tolerance: 2e-2, allowingKinks: true,
                          "model parameters (\(activation))") { loss(parameters: $0, samples: self.samples) }
            checkGradient(values: samples, analytic: analyticInput, step: 1e-2, tolerance: 2e-2, allowingKinks: true,
                          "model input (\(activation))") { loss(parameters: parameters, samples: $0) }
            let stateSlices = model.layout.slices.filter { !$0.trainable }
            XCTAssertTrue(stateSlices.allSatisfy { analytic[$0.range].allSatisfy { $0 == 0 } })
        }
    }

    func testWinogradBlockMatchesFiniteDifferencesAndTheIm2colModel() throws {
        // Block 2 here is 8 → 8 channels on 8×7×6 at batch 2 (96 tiles):
        // large enough for Conv3DAlgorithm.automatic to take Winograd.
        let config = SimbaCNNConfiguration(input: Grid3(16, 14, 12), widths: [8, 8], dropoutRate: 0)
        let model = try SimbaCNN(configuration: config, maxBatch: 2, seed: 12)
        XCTAssertEqual(model.convolutionAlgorithms, [.im2col, .winograd])
        let input = randomValues(2 * config.input.voxels, seed: 82, scale: 2)
        model.forward(input, batch: 2, mode: .train)
        model.backward(labels: labels, weights: weights, inputGradient: true)
        let analytic = model.gradients.array, analyticInput = Array(model.inputGradient.array[0..<input.count])
        let parameters = model.parameters.array
        let block2 = model.layout["block2.conv.kernel"].range
        checkGradient(values: Array(parameters[block2]), analytic: Array(analytic[block2]), step: 1e-3, tolerance: 2e-2,
                      allowingKinks: true, "Winograd block kernel") { kernel in
            var values = parameters
            values.replaceSubrange(block2, with: kernel)
            try! model.load(parameters: values)
            return self.crossEntropy(model.forward(input, batch: 2, mode: .train), classes: config.classes)
        }
        // The same model with im2col everywhere: the same logits, parameter
        // gradients and input gradient up to float rounding.
        try model.load(parameters: parameters)
        let logits = model.forward(input, batch: 2, mode: .train)
        let reference = try SimbaCNN(configuration: config, maxBatch: 2, seed: 12, algorithm: .im2col)
        XCTAssertEqual(reference.convolutionAlgorithms, [.im2col, .im2col])
        try reference.load(parameters: parameters)
        assertClose(logits, reference.forward(input, batch: 2, mode: .train), tolerance: 1e-5, "logits")
        reference.backward(labels: labels, weights: weights, inputGradient: true)
        func scaled(_ values: [Float]) -> [Float] {
            let scale = values.map(abs).max()!
            return values.map { $0 / scale }
        }
        let referenceInput = Array(reference.inputGradient.array[0..<input.count])
        assertClose(scaled(analytic), scaled(reference.gradients.array), tolerance: 1e-4, "parameter gradients")
        assertClose(scaled(analyticInput), scaled(referenceInput), tolerance: 1e-4, "input gradient")
    }

    func testClassScoreSaliencyInEvalModeMatchesFiniteDifferences() throws {
        let model = try SimbaCNN(configuration: small, maxBatch: 2, seed: 10)
        // Move the moving statistics away from their initial values first.
        for _ in 0..<3 { model.forward(samples, batch: 2, mode: .train) }
        model.forward(samples, batch: 2, mode: .eval)
        model.backward(classScore: 1)
        let saliency = Array(model.inputGradient.array[0..<samples.count])
        checkGradient(values: samples, analytic: saliency, step: 1e-2, tolerance: 2e-2, allowingKinks: true, "class-1 saliency") {
            let logits = model.forward($0, batch: 2, mode: .eval)
            return Double(logits[1]) + Double(logits[3])
        }
    }

    func testEvalModeIsDeterministicAndLeavesStatisticsAlone() throws {
        let model = try SimbaCNN(configuration: small, maxBatch: 2, seed: 11)
        let before = model.parameters.array
        let first = model.forward(samples, batch: 2, mode: .eval)
        XCTAssertEqual(model.forward(samples, batch: 2, mode: .eval), first)
        XCTAssertEqual(model.parameters.array, before)
        model.forward(samples, batch: 2, mode: .train)
        let moving = model.layout["block1.bn.moving_mean"].range
        XCTAssertNotEqual(Array(model.parameters.array[moving]), Array(before[moving]))
    }

    func testBlockOutputsAndFeaturesAreExposed() throws {
        let model = try SimbaCNN(configuration: small, maxBatch: 2, seed: 12)
        model.forward(samples, batch: 2, mode: .eval)
        XCTAssertEqual(model.blockOutput(0).shape, [2, 4, 3, 3, 2])
        XCTAssertEqual(model.blockOutput(1).shape, [2, 2, 2, 2, 3])
        XCTAssertEqual(model.features.shape, [2, 3])
        // Sigmoid outputs, and features are the real-cell mean of block 2.
        XCTAssertTrue(model.blockOutput(0).array.allSatisfy { $0 > 0 && $0 < 1 })
        let block2 = model.blockOutput(1).array
        let expected = referencePool(block2, batch: 2, grid: Grid3(2, 2, 2), channels: 3, maximum: false)
        assertClose(model.features.array, expected, tolerance: 1e-6, "features")
    }

    func testTrainingIsBitwiseReproducible() throws {
        try checkReproducible(configuration: small)
    }

    /// Widths large enough that OpenBLAS splits the sgemms over two threads.
    func testTrainingIsBitwiseReproducibleWithTwoBLASThreads() throws {
        let previous = BLASThreads.count
        BLASThreads.set(2)
        defer { BLASThreads.set(previous) }
        try checkReproducible(configuration: SimbaCNNConfiguration(input: Grid3(8, 8, 6), widths: [16, 64]))
    }

    func checkReproducible(configuration: SimbaCNNConfiguration) throws {
        let samples = randomValues(2 * configuration.input.voxels, seed: 82)
        func run() throws -> ([Float], [Float], [Float], [UInt64]) {
            let model = try SimbaCNN(configuration: configuration, maxBatch: 2, seed: 21)
            let adam = Adam(layout: model.layout)
            for _ in 0..<3 { model.trainStep(samples, labels: labels, weights: weights, optimizer: adam) }
            return (model.parameters.array, adam.firstMoment.array, adam.secondMoment.array, model.generator.state)
        }
        let (a, b) = (try run(), try run())
        XCTAssertEqual(a.0, b.0); XCTAssertEqual(a.1, b.1); XCTAssertEqual(a.2, b.2); XCTAssertEqual(a.3, b.3)
    }

    func testLoadRejectsWrongSize() throws {
        let model = try SimbaCNN(configuration: small, maxBatch: 2, seed: 1)
        XCTAssertThrowsError(try model.load(parameters: [1, 2, 3]))
    }

    /// Class 0: a bright cube in the low-x half; class 1: in the high-x half.
    func testSmallModelLearnsSeparableProblem() throws {
        let config = SimbaCNNConfiguration(input: Grid3(8, 8, 8), widths: [4, 8], activation: .relu, dropoutRate: 0.1)
        let grid = config.input
        var generator = SeededGenerator(seed: 5)
        var volumes: [[Float]] = [], classes: [Int] = []
        for i in 0..<16 {
            let label = i % 2
            var volume = (0..<grid.voxels).map { _ in generator.symmetric(limit: 0.3) }
            let x0 = label == 0 ? 1 : 5
            let y0 = Int(generator.next() % 5), z0 = Int(generator.next() % 5)
            for x in x0..<(x0 + 2) { for y in y0..<(y0 + 3) { for z in z0..<(z0 + 3) {
                volume[(x * grid.y + y) * grid.z + z] += 2
            }}}
            volumes.append(volume); classes.append(label)
        }
        let model = try SimbaCNN(configuration: config, maxBatch: 4, seed: 8)
        let adam = Adam(layout: model.layout, learningRate: 1e-2)
        func epochLoss() -> Float {
            var total: Float = 0
            for start in stride(from: 0, to: 16, by: 4) {
                total += model.trainStep(Array(volumes[start..<(start + 4)].joined()),
                                         labels: Array(classes[start..<(start + 4)]), optimizer: adam)
            }
            return total / 4
        }
        let firstLoss = epochLoss()
        for _ in 0..<25 { _ = epochLoss() }
        XCTAssertLessThan(epochLoss(), 0.3 * firstLoss)
        var correct = 0
        for (volume, label) in zip(volumes, classes) {
            let logits = model.forward(volume, batch: 1, mode: .eval)
            if (logits[1] > logits[0] ? 1 : 0) == label { correct += 1 }
        }
        XCTAssertEqual(correct, 16)
    }
}

/// A model that could never fit is refused before its buffers are allocated.
final class ModelMemoryTests: XCTestCase {
    func testAModelBeyondAnyNodeIsRefusedBeforeAllocation() {
        let configuration = SimbaCNNConfiguration(input: Grid3(173, 211, 155), widths: [Int](repeating: 4096, count: 12))
        XCTAssertThrowsError(try SimbaCNN(configuration: configuration, maxBatch: 1000, seed: 1)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("needs ~") && message.contains("GiB per rank; this node has"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    func testTheEstimateIsNearWhatSimbasCNNTakes() throws {
        // 4.5 GiB peak measured at 1 mm with batch 2 (README, "Speed").
        let bytes = try XCTUnwrap(SimbaCNNShapes(.simba()).trainingBytes(batch: 2))
        XCTAssertGreaterThan(Double(bytes), 4.5 * 1_073_741_824)
        XCTAssertLessThan(Double(bytes), 8 * 1_073_741_824)
    }
}
