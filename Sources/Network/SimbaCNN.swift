import Limits
import Randomness
// The SimBA CNN with its buffers. Every activation, gradient and scratch
// buffer is allocated once, for `maxBatch` samples, when the model is
// built; forward and backward only read and write them.
//
// Layout: channels-last, [N, X, Y, Z, C] with C fastest (Keras's default),
// and the input is [N, X, Y, Z] (one channel).

/// Train mode: batch statistics in batch norm (moving statistics updated),
/// dropout active. Eval mode: moving statistics, no dropout. Calibrate
/// mode: batch statistics, which are summed for `finishBatchNormCalibration`
/// instead of moving the moving statistics; no dropout, no backward.
public enum Mode: Sendable { case train, eval, calibrate }

/// Buffers of one block.
final class BlockBuffers {
    /// Raw convolution output, without bias (the bias is folded into batch norm).
    let convolution: Tensor
    /// Output of the block after max-pool: the block's activations.
    let pooled: Tensor
    let pooledGradient: Tensor
    /// Per pooled voxel: the winning cell's index in its window and its raw
    /// convolution value (see BlockFusion.swift).
    let winner: Tensor, winnerInput: Tensor
    /// Per channel: mean (over the raw convolution output), variance,
    /// 1/sqrt(var + ε), scale and shift of the last forward pass.
    let mean: Tensor, variance: Tensor, inverseStd: Tensor, scale: Tensor, shift: Tensor

    init(convolution: Conv3DShape, pooled: Grid3) {
        let n = convolution.batch, c = convolution.outChannels
        self.convolution = Tensor(shape: [n, convolution.grid.x, convolution.grid.y, convolution.grid.z, c])
        self.pooled = Tensor(shape: [n, pooled.x, pooled.y, pooled.z, c])
        pooledGradient = Tensor(shape: self.pooled.shape)
        winner = Tensor(shape: self.pooled.shape)
        winnerInput = Tensor(shape: self.pooled.shape)
        mean = Tensor(shape: [c]); variance = Tensor(shape: [c]); inverseStd = Tensor(shape: [c])
        scale = Tensor(shape: [c]); shift = Tensor(shape: [c])
    }
}

/// Where one block's slices start in the flat buffers, looked up once.
struct BlockSlices {
    let kernel, bias, gamma, beta, movingMean, movingVariance: Int

    init(layout: ParameterLayout, block: Int) {
        let name = SimbaCNNShapes.blockName(block)
        kernel = layout["\(name).conv.kernel"].offset
        bias = layout["\(name).conv.bias"].offset
        gamma = layout["\(name).bn.gamma"].offset
        beta = layout["\(name).bn.beta"].offset
        movingMean = layout["\(name).bn.moving_mean"].offset
        movingVariance = layout["\(name).bn.moving_variance"].offset
    }
}

public final class SimbaCNN {
    public let configuration: SimbaCNNConfiguration
    public let shapes: SimbaCNNShapes
    public var layout: ParameterLayout { shapes.layout }
    public let maxBatch: Int
    /// All weights and batch-norm statistics, laid out by `layout`.
    public let parameters: Tensor
    /// Gradients in the same layout; backward overwrites it.
    public let gradients: Tensor
    /// Draws dropout masks (and drew the initial weights).
    public var generator: SeededGenerator
    /// Sync BN: in train mode, sums batch-norm sums (2C doubles; forward: against `reference`, backward: nil) and rows over every rank of the batch, in place; returns the total rows.
    public var batchStatisticsReducer: ((_ sums: UnsafeMutablePointer<Double>, _ channels: Int, _ rows: Int, _ reference: UnsafePointer<Float>?) -> Int)?

    /// Samples in the last forward pass and the mode it ran in.
    public private(set) var batch = 0
    public private(set) var mode = Mode.eval
    /// Calibrate mode: per block, Σ batch mean (with bias) and Σ batch
    /// variance per channel [2C], and the batches summed.
    var calibrationSums: [[Double]]
    var calibrationBatches = 0

    let input: Tensor
    /// d(seed)/d(input) after a backward that asked for it: [maxBatch, X, Y, Z].
    public let inputGradient: Tensor
    let blocks: [BlockBuffers]
    let blockSlices: [BlockSlices]
    let denseKernel: Int, denseBias: Int
    private let convolutionGradient: Tensor
    private let convolutionScratch: ConvolutionScratch
    /// Each block's convolution algorithm, fixed when the model is built
    /// (Conv3DAlgorithm.automatic at maxBatch), so that results do not
    /// depend on the size of a batch.
    let convolutionAlgorithms: [Conv3DAlgorithm]
    /// Which code runs batch norm, activation and pooling; the tests set
    /// .swift to hold the two against each other.
    var blockKernels = BlockKernels.fastest
    private let sums: ScratchBuffer<Double>
    private let coefficients: Tensor
    /// Flattened average-pool output [maxBatch, features] (before dropout).
    public let features: Tensor
    private let dropoutMask: Tensor, dropped: Tensor, droppedGradient: Tensor, featuresGradient: Tensor
    /// [maxBatch, classes] of the last forward pass.
    public let logits: Tensor, probabilities: Tensor
    private let logitsGradient: Tensor

    /// Spatial parallelism: the slab of each sample this rank holds (nil:
    /// whole samples). See SlabPartition.swift and SimbaCNN+Slabs.swift.
    public let slab: SlabPartition?
    /// The spatial group's exchanges; set before the first pass of a model with a slab.
    public var slabExchange: SlabExchange?
    let slabBuffers: SlabBuffers?

    /// `algorithm` forces one convolution algorithm on every block (tests
    /// compare them); by default each block takes Conv3DAlgorithm.automatic.
    /// `slab`: this rank's part of every sample when a group of ranks
    /// trains each sample together.
    public init(configuration: SimbaCNNConfiguration, maxBatch: Int, seed: UInt64,
                algorithm: Conv3DAlgorithm? = nil, slab: SlabPartition? = nil) throws {
        try configuration.validate()
        guard maxBatch > 0 else { throw NetworkError.invalidConfiguration("batch \(maxBatch) must be positive") }
        self.configuration = configuration
        self.maxBatch = maxBatch
        self.slab = slab
        let shapes = SimbaCNNShapes(configuration)
        let convolutions = (0..<shapes.depth).map { Self.convolution(shapes, slab: slab, block: $0, batch: maxBatch) }
        try MachineMemory.require(shapes.trainingBytes(batch: maxBatch, convolutionGrids: convolutions.map(\.grid)),
                                  for: "the model (widths \(configuration.widths), input \(configuration.input), batch \(maxBatch) per rank)",
                                  remedy: "use smaller widths, a smaller batch or larger voxels")
        self.shapes = shapes
        parameters = Tensor(shape: [shapes.layout.totalCount])
        gradients = Tensor(shape: [shapes.layout.totalCount])
        generator = SeededGenerator(seed: seed)

        let grid = configuration.input
        // A slab's input is widened into its slab buffers instead.
        input = Tensor(shape: slab == nil ? [maxBatch, grid.x, grid.y, grid.z] : [0])
        inputGradient = Tensor(shape: input.shape)
        let pooledGrids = (0..<shapes.depth).map { block in
            guard let slab, slab.splits(block: block) else { return shapes.pooledGrids[block] }
            let whole = shapes.pooledGrids[block]
            return Grid3(SlabPartition.pooled(slab.range(level: block)).count, whole.y, whole.z)
        }
        blocks = zip(convolutions, pooledGrids).map { BlockBuffers(convolution: $0, pooled: $1) }
        slabBuffers = slab.map { SlabBuffers(shapes: shapes, slab: $0, maxBatch: maxBatch) }
        blockSlices = (0..<shapes.depth).map { BlockSlices(layout: shapes.layout, block: $0) }
        denseKernel = shapes.layout["dense.kernel"].offset
        denseBias = shapes.layout["dense.bias"].offset
        convolutionGradient = Tensor(shape: [convolutions.map { $0.rows * $0.outChannels }.max()!])
        let widest = configuration.widths.max()!
        sums = ScratchBuffer<Double>(count: 2 * widest)
        coefficients = Tensor(shape: [3 * widest])
        // Chosen for the whole volume, so that a slab computes as the whole does.
        convolutionAlgorithms = (0..<shapes.depth).map {
            algorithm ?? Conv3DAlgorithm.automatic(for: shapes.convolution(block: $0, batch: maxBatch))
        }
        convolutionScratch = ConvolutionScratch(for: convolutions, algorithms: convolutionAlgorithms)
        let f = shapes.features, k = configuration.classes
        features = Tensor(shape: [maxBatch, f])
        dropoutMask = Tensor(shape: [maxBatch, f]); dropped = Tensor(shape: [maxBatch, f])
        droppedGradient = Tensor(shape: [maxBatch, f]); featuresGradient = Tensor(shape: [maxBatch, f])
        logits = Tensor(shape: [maxBatch, k]); probabilities = Tensor(shape: [maxBatch, k])
        logitsGradient = Tensor(shape: [maxBatch, k])
        calibrationSums = configuration.widths.map { [Double](repeating: 0, count: 2 * $0) }
        initializeParameters()
    }

    /// Keras defaults: Glorot-uniform kernels, zero biases, γ = 1, β = 0,
    /// moving mean 0 and moving variance 1.
    public func initializeParameters() {
        parameters.fill(0)
        for slice in layout.slices {
            let p = parameters.data + slice.offset
            if slice.role == .convolutionKernel || slice.role == .denseKernel {
                // fan_in = receptive field × inputs, fan_out = receptive field × outputs
                let receptive = slice.shape.dropLast(2).reduce(1, *)
                let fanIn = receptive * slice.shape[slice.shape.count - 2]
                let fanOut = receptive * slice.shape[slice.shape.count - 1]
                let limit = (6 / Float(fanIn + fanOut)).squareRoot()
                for i in 0..<slice.count { p[i] = generator.symmetric(limit: limit) }
            } else if slice.role == .batchNormScale || slice.role == .batchNormMovingVariance {
                p.update(repeating: 1, count: slice.count)
            }
        }
    }

    /// Replaces all parameters (e.g. from a checkpoint); the size must match.
    public func load(parameters values: [Float]) throws {
        try parameters.load(values, what: "SimbaCNN parameters")
    }

    private func parameter(_ offset: Int) -> UnsafeMutablePointer<Float> { parameters.data + offset }
    private func gradient(_ offset: Int) -> UnsafeMutablePointer<Float> { gradients.data + offset }

    /// Activations of block `index` (0-based) after its max-pool, valid for
    /// the first `batch` samples: [maxBatch, X, Y, Z, C].
    public func blockOutput(_ index: Int) -> Tensor { blocks[index].pooled }

    // MARK: Forward

    /// Runs the network on `batch` samples of [X, Y, Z] each and returns the
    /// logits [batch, classes]. Train mode updates the batch-norm moving
    /// statistics and draws a dropout mask.
    @discardableResult
    public func forward(_ samples: [Float], batch: Int, mode: Mode) -> [Float] {
        precondition(samples.count == batch * configuration.input.voxels,
                     "\(samples.count) values for \(batch) samples of \(configuration.input)")
        samples.withUnsafeBufferPointer { forward($0.baseAddress!, batch: batch, mode: mode) }
        return Array(UnsafeBufferPointer(start: logits.data, count: batch * configuration.classes))
    }

    public func forward(_ samples: UnsafePointer<Float>, batch: Int, mode: Mode) {
        precondition(batch > 0 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        self.batch = batch
        self.mode = mode
        if slab == nil {
            input.data.update(from: samples, count: batch * configuration.input.voxels)
        } else {
            loadSlabInput(samples)
        }
        for (index, block) in blocks.enumerated() {
            forwardBlock(index, block, input: convolutionInput(block: index))
            poolAndPassOn(afterBlock: index) { planes in self.normalizeActivatePool(block: index, planes: planes) }
        }
        forwardHead()
    }

    /// What block `index` convolves: the input, the previous block's
    /// output, or on slabs the widened slab or the gathered output.
    private func convolutionInput(block index: Int) -> UnsafePointer<Float> {
        if let slabBuffers, let slabInput = slabBuffers.convolutionInput(block: index) { return UnsafePointer(slabInput.data) }
        return UnsafePointer(index == 0 ? input.data : blocks[index - 1].pooled.data)
    }

    /// Block `index`'s convolution as this rank computes it: on slabs, the widened slab.
    func convolutionShape(block index: Int, batch: Int) -> Conv3DShape {
        Self.convolution(shapes, slab: slab, block: index, batch: batch)
    }

    private static func convolution(_ shapes: SimbaCNNShapes, slab: SlabPartition?, block: Int, batch: Int) -> Conv3DShape {
        var shape = shapes.convolution(block: block, batch: batch)
        if let slab, slab.splits(block: block) {
            shape.grid.x = slab.paddedPlanes(level: block)
            shape.outputPlanes = SlabPartition.planesBelow..<(SlabPartition.planesBelow + slab.range(level: block).count)
        }
        return shape
    }

    /// The pooling of block `index`: on slabs, of the widened slab's interior.
    private func poolGeometry(block index: Int, batch: Int) -> PoolGeometry {
        let grid = convolutionShape(block: index, batch: batch).grid
        guard let slab, slab.splits(block: index) else { return PoolGeometry(batch: batch, input: grid) }
        return PoolGeometry(batch: batch, input: Grid3(slab.range(level: index).count, grid.y, grid.z),
                            inputSampleStride: grid.voxels, inputOffset: SlabPartition.planesBelow * grid.y * grid.z)
    }

    /// Sync batch norm's reduction of block `index`'s sums (nil outside
    /// train mode or on one rank). On slabs a whole block computes the same
    /// on every rank of the group, so only the leader adds its sums and rows.
    private func batchSumsReducer(block index: Int) -> ((UnsafeMutablePointer<Double>, Int, Int, UnsafePointer<Float>?) -> Int)? {
        guard mode == .train, let reduce = batchStatisticsReducer else { return nil }
        guard let slab, !slab.isLeader, !slab.splits(block: index) else { return reduce }
        return { sums, channels, _, reference in
            sums.update(repeating: 0, count: 2 * channels)
            return reduce(sums, channels, 0, reference)
        }
    }

    private func forwardBlock(_ index: Int, _ block: BlockBuffers, input blockInput: UnsafePointer<Float>) {
        let shape = convolutionShape(block: index, batch: batch)
        let geometry = poolGeometry(block: index, batch: batch)
        let channels = shape.outChannels
        let slices = blockSlices[index]
        let bias = parameter(slices.bias)
        let conv = block.convolution.data
        // Statistics are taken against the first voxel of the (interior) input.
        let reference = UnsafePointer(conv + geometry.inputOffset * channels)
        let training = mode != .eval
        if training { sums.data.update(repeating: 0, count: 2 * channels) }
        conv3dForward(out: conv, input: blockInput, kernel: parameter(slices.kernel), bias: nil,
                      shape: shape, scratch: convolutionScratch, algorithm: convolutionAlgorithms[index]) { first, count in
            if training {
                geometry.forEachInputRun(in: first..<(first + count)) { run in
                    batchNormAccumulateStatistics(sums: sums.data, x: conv + run.lowerBound * channels, rows: run.count,
                                                  channels: channels, reference: reference, kernels: blockKernels)
                }
            }
        }
        let movingMean = parameter(slices.movingMean)
        let movingVariance = parameter(slices.movingVariance)
        switch mode {
        case .train, .calibrate:
            let rows: Int
            if let reduce = batchSumsReducer(block: index) {
                rows = reduce(sums.data, channels, geometry.inputRows, reference)
            } else if mode == .calibrate, let slab, slab.splits(block: index) {
                // Precise batch norm: a batch's statistics are its samples', summed over the slabs.
                rows = sumBatchStatistics(sums: sums.data, channels: channels, rows: geometry.inputRows,
                                          reference: reference) { slabParts.exchange.sumOverGroup(&$0) }
            } else {
                rows = geometry.inputRows
            }
            batchNormFinishStatistics(mean: block.mean.data, variance: block.variance.data,
                                      inverseStd: block.inverseStd.data, sums: sums.data, rows: rows,
                                      channels: channels, reference: reference, epsilon: BatchNormSettings.epsilon)
            // The statistics above are of the bias-free output; Keras's moving
            // mean is of the output with bias.
            for c in 0..<channels { coefficients[c] = block.mean[c] + bias[c] }
            if mode == .calibrate {
                for c in 0..<channels {
                    calibrationSums[index][c] += Double(coefficients[c])
                    calibrationSums[index][channels + c] += Double(block.variance[c])
                }
                if index == 0 { calibrationBatches += 1 }
            } else {
                batchNormUpdateMovingStatistics(
                    movingMean: movingMean, movingVariance: movingVariance,
                    batchMean: coefficients.data, batchVariance: block.variance.data,
                    channels: channels, momentum: BatchNormSettings.momentum)
            }
        case .eval:
            for c in 0..<channels { block.mean[c] = movingMean[c] - bias[c] }
            block.variance.data.update(from: movingVariance, count: channels)
            batchNormInverseStd(inverseStd: block.inverseStd.data, variance: movingVariance,
                                channels: channels, epsilon: BatchNormSettings.epsilon)
        }
        batchNormScaleShift(scale: block.scale.data, shift: block.shift.data,
                            gamma: parameter(slices.gamma), beta: parameter(slices.beta),
                            mean: block.mean.data, inverseStd: block.inverseStd.data, channels: channels)
    }

    /// Block `index`'s batch norm → activation → max-pool (after its
    /// forwardBlock), of output planes `planes` only when given: every
    /// window is computed alone, so pooling by parts is bitwise pooling whole.
    private func normalizeActivatePool(block index: Int, planes: Range<Int>?) {
        let block = blocks[index]
        let geometry = poolGeometry(block: index, batch: batch)
        let channels = convolutionShape(block: index, batch: batch).outChannels
        func pool(_ geometry: PoolGeometry, outputRow: Int) {
            let offset = outputRow * channels
            normalizeActivatePoolForward(
                pooled: block.pooled.data + offset, winner: block.winner.data + offset,
                winnerInput: block.winnerInput.data + offset, conv: block.convolution.data,
                scale: block.scale.data, shift: block.shift.data, activation: configuration.activation,
                geometry: geometry, channels: channels, kernels: blockKernels)
        }
        guard let planes else { return pool(geometry, outputRow: 0) }
        for sample in 0..<batch {
            let part = geometry.outputPlanes(planes, sample: sample)
            pool(part.geometry, outputRow: part.outputRow)
        }
    }

    private func forwardHead() {
        let last = shapes.depth - 1
        let f = shapes.features, count = batch * f
        averagePoolForward(out: features.data, x: slabBuffers?.wholeOutput(ofLastBlock: last)?.data ?? blocks[last].pooled.data,
                           geometry: PoolGeometry(batch: batch, input: shapes.pooledGrids[last]),
                           channels: configuration.widths[last])
        if mode == .train {
            dropoutDrawMask(mask: dropoutMask.data, count: count, rate: configuration.dropoutRate,
                            generator: &generator)
        } else {
            dropoutMask.data.update(repeating: 1, count: count)
        }
        dropoutForward(out: dropped.data, x: features.data, mask: dropoutMask.data, count: count)
        denseForward(out: logits.data, x: dropped.data, kernel: parameter(denseKernel),
                     bias: parameter(denseBias), batch: batch, inputs: f, outputs: configuration.classes)
        softmaxForward(probabilities: probabilities.data, logits: logits.data,
                       batch: batch, classes: configuration.classes)
    }

    // MARK: Backward

    /// Gradient of the weighted cross-entropy of the last forward pass.
    /// Overwrites `gradients` (and `inputGradient` when asked); returns the
    /// loss. `weights` nil means all ones.
    @discardableResult
    public func backward(labels: [Int], weights: [Float]? = nil, inputGradient wantInput: Bool = false) -> Float {
        precondition(labels.count == batch, "\(labels.count) labels for a batch of \(batch)")
        let sampleWeights = weights ?? Array(repeating: 1, count: batch)
        precondition(sampleWeights.count == batch, "\(sampleWeights.count) weights for a batch of \(batch)")
        let loss = labels.withUnsafeBufferPointer { l in
            sampleWeights.withUnsafeBufferPointer { w in
                softmaxCrossEntropy(dLogits: logitsGradient.data, probabilities: probabilities.data,
                                    logits: logits.data, labels: l.baseAddress!, weights: w.baseAddress!,
                                    batch: batch, classes: configuration.classes)
            }
        }
        backpropagate(wantInput: wantInput)
        return loss
    }

    /// Gradient of the summed pre-softmax score of class `classIndex` over
    /// the batch — per sample, the saliency of that class in `inputGradient`.
    public func backward(classScore classIndex: Int, inputGradient wantInput: Bool = true) {
        precondition(classIndex >= 0 && classIndex < configuration.classes, "class \(classIndex) out of range")
        let k = configuration.classes
        logitsGradient.fill(0)
        for n in 0..<batch { logitsGradient[n * k + classIndex] = 1 }
        backpropagate(wantInput: wantInput)
    }

    /// The encoder's output of the last forward pass: the dropped-out
    /// features the dense head reads [maxBatch, features], valid for the
    /// first `batch` samples. Adversarial unlearning's heads read it too.
    public var encoderOutput: UnsafePointer<Float> { UnsafePointer(dropped.data) }

    /// Gradient of a loss on the encoder output alone (`dEncoderOutput`
    /// [batch, features]), through every block: overwrites `gradients`,
    /// leaving the dense head's zero — the confusion step of unlearning.
    public func backward(encoderOutputGradient dEncoderOutput: UnsafePointer<Float>) {
        precondition(mode != .calibrate, "no backward pass after a calibrate-mode forward")
        gradients.fill(0)
        droppedGradient.data.update(from: dEncoderOutput, count: batch * shapes.features)
        backpropagateEncoder(wantInput: false)
    }

    private func backpropagate(wantInput: Bool) {
        precondition(mode != .calibrate, "no backward pass after a calibrate-mode forward")
        precondition(slab == nil || !wantInput, "the input gradient of a model on slabs is not supported")
        gradients.fill(0)
        let f = shapes.features
        denseBackward(dx: droppedGradient.data, dKernel: gradient(denseKernel), dBias: gradient(denseBias),
                      dOut: logitsGradient.data, x: dropped.data, kernel: parameter(denseKernel),
                      batch: batch, inputs: f, outputs: configuration.classes)
        backpropagateEncoder(wantInput: wantInput)
    }

    /// From `droppedGradient` down to the first block (and the input when asked).
    private func backpropagateEncoder(wantInput: Bool) {
        let last = shapes.depth - 1
        let count = batch * shapes.features
        dropoutBackward(dx: featuresGradient.data, dOut: droppedGradient.data, mask: dropoutMask.data, count: count)
        let wholeLast = slabBuffers?.wholeOutputGradient(ofLastBlock: last)
        averagePoolBackward(dx: wholeLast?.data ?? blocks[last].pooledGradient.data, dOut: featuresGradient.data,
                            geometry: PoolGeometry(batch: batch, input: shapes.pooledGrids[last]),
                            channels: configuration.widths[last])
        if wholeLast != nil { returnSlabGradient(toBlock: last) }
        for index in stride(from: last, through: 0, by: -1) {
            var inputGradientTarget: UnsafeMutablePointer<Float>? =
                index > 0 ? blocks[index - 1].pooledGradient.data : (wantInput ? inputGradient.data : nil)
            if let slabTarget = slabBuffers?.convolutionInputGradient(block: index) { inputGradientTarget = slabTarget.data }
            backwardBlock(index, dInput: inputGradientTarget)
            if index > 0 { returnSlabGradient(toBlock: index - 1) }
        }
        if slab != nil { dropRepeatedGradients() }
    }

    private func backwardBlock(_ index: Int, dInput: UnsafeMutablePointer<Float>?) {
        let block = blocks[index]
        let shape = convolutionShape(block: index, batch: batch)
        let geometry = poolGeometry(block: index, batch: batch)
        let slices = blockSlices[index]
        let reduce = batchSumsReducer(block: index)
        let dConv = normalizeActivatePoolGradientCoefficients(
            dGamma: gradient(slices.gamma), dBeta: gradient(slices.beta), dConvBias: gradient(slices.bias),
            dPooled: block.pooledGradient.data, pooled: block.pooled.data, winner: block.winner.data,
            winnerInput: block.winnerInput.data,
            conv: block.convolution.data, mean: block.mean.data, inverseStd: block.inverseStd.data,
            gamma: parameter(slices.gamma), activation: configuration.activation,
            geometry: geometry, channels: shape.outChannels,
            training: mode == .train, sums: sums.data, coefficients: coefficients.data,
            reduceSums: reduce.map { reduce in { reduce($0, shape.outChannels, $1, nil) } }, kernels: blockKernels)
        let algorithm = convolutionAlgorithms[index]
        // The first layer's kernel gradient reads dConv a chunk at a time:
        // each chunk is written just before, and block 1's dConv (the
        // largest tensor of a step) never goes to memory. Bitwise the same.
        if dConv.writesRows, readsOutputGradientInChunks(shape: shape, needsInputGradient: dInput != nil,
                                                         algorithm: algorithm) {
            singleChannelConv3dKernelGradient(dKernel: gradient(slices.kernel), dOut: .computed(dConv.write),
                                              input: convolutionInput(block: index), shape: shape,
                                              scratch: convolutionScratch)
            return
        }
        // A widened slab's padding planes get no gradient.
        if !geometry.inputIsWhole { zeroPadding(convolutionGradient, channels: shape.outChannels, block: index) }
        dConv.write(into: convolutionGradient.data)
        conv3dBackward(dInput: dInput, dKernel: gradient(slices.kernel), dBias: nil,
                       dOut: convolutionGradient.data,
                       input: convolutionInput(block: index),
                       kernel: parameter(slices.kernel), shape: shape, scratch: convolutionScratch,
                       algorithm: algorithm)
    }

    // MARK: Training

    /// Training FLOPs of one sample as this model computes them: the
    /// convention of SimbaCNNShapes.trainingFlopsPerSample (3 × forward),
    /// with each block's products counted as its algorithm performs them.
    public var executedTrainingFlopsPerSample: Double {
        let convolutions = (0..<shapes.depth).reduce(0.0) {
            $0 + shapes.convolution(block: $1, batch: 1).executedForwardFlops(convolutionAlgorithms[$1])
        }
        return 3 * (convolutions + 2 * Double(shapes.features * configuration.classes))
    }

    /// forward(train) → backward → Adam update; returns the loss.
    /// A data-parallel caller instead calls forward, backward, allreduces
    /// `gradients`, then `optimizer.update(parameters:gradients:)`.
    @discardableResult
    public func trainStep(_ samples: [Float], labels: [Int], weights: [Float]? = nil, optimizer: Adam) -> Float {
        forward(samples, batch: labels.count, mode: .train)
        let loss = backward(labels: labels, weights: weights)
        optimizer.update(parameters: parameters, gradients: gradients)
        return loss
    }
}
