/// What a SimBA CNN looks like: the paper's model is `.simba()`; smaller
/// inputs, fewer or narrower blocks serve quick experiments and tests.
public struct SimbaCNNConfiguration: Equatable, Sendable {
    /// Spatial input size; the input is [batch, X, Y, Z] single-channel
    /// float32, Z fastest (equivalently channels-last with one channel).
    public var input: Grid3
    /// Filters of each block's convolution; the count is the depth.
    public var widths: [Int]
    public var activation: Activation
    public var dropoutRate: Float
    public var classes: Int

    public init(input: Grid3, widths: [Int], activation: Activation = .sigmoid,
                dropoutRate: Float = 0.2, classes: Int = 2) {
        self.input = input; self.widths = widths; self.activation = activation
        self.dropoutRate = dropoutRate; self.classes = classes
    }

    /// The model of every SimBA paper: 5 blocks of 32…512 filters, sigmoid,
    /// dropout 0.2, two classes, at 173×211×155 unless told otherwise.
    public static func simba(input: Grid3 = Grid3(173, 211, 155)) -> SimbaCNNConfiguration {
        SimbaCNNConfiguration(input: input, widths: [32, 64, 128, 256, 512])
    }

    public func validate() throws {
        guard input.x > 0, input.y > 0, input.z > 0 else {
            throw NetworkError.invalidConfiguration("input size \(input) must be positive")
        }
        guard !widths.isEmpty, widths.allSatisfy({ $0 > 0 }) else {
            throw NetworkError.invalidConfiguration("widths \(widths) must be one or more positive filter counts")
        }
        guard dropoutRate >= 0, dropoutRate < 1 else {
            throw NetworkError.invalidConfiguration("dropout rate \(dropoutRate) must be in [0, 1)")
        }
        guard classes >= 2 else {
            throw NetworkError.invalidConfiguration("classes \(classes) must be at least 2")
        }
    }
}

/// Every shape and the parameter layout of a configuration, computed
/// without allocating anything.
public struct SimbaCNNShapes: Equatable, Sendable {
    public let configuration: SimbaCNNConfiguration
    /// Spatial size each block's convolution works at (block 1 = input size).
    public let convolutionGrids: [Grid3]
    /// Spatial size after each block's max-pool.
    public let pooledGrids: [Grid3]
    /// Spatial size after the final average pool.
    public let averagePooledGrid: Grid3
    /// Flattened features fed to the dense layer.
    public let features: Int
    public let layout: ParameterLayout

    public init(_ configuration: SimbaCNNConfiguration) {
        self.configuration = configuration
        var grids: [Grid3] = [], pooled: [Grid3] = []
        var grid = configuration.input
        var layout = ParameterLayout()
        var inChannels = 1
        for (index, width) in configuration.widths.enumerated() {
            grids.append(grid)
            grid = grid.halvedSame
            pooled.append(grid)
            let block = Self.blockName(index)
            layout.append("\(block).conv.kernel", role: .convolutionKernel, shape: [3, 3, 3, inChannels, width])
            layout.append("\(block).conv.bias", role: .convolutionBias, shape: [width])
            layout.append("\(block).bn.gamma", role: .batchNormScale, shape: [width])
            layout.append("\(block).bn.beta", role: .batchNormShift, shape: [width])
            layout.append("\(block).bn.moving_mean", role: .batchNormMovingMean, shape: [width], trainable: false)
            layout.append("\(block).bn.moving_variance", role: .batchNormMovingVariance, shape: [width],
                          trainable: false)
            inChannels = width
        }
        averagePooledGrid = grid.halvedSame
        features = averagePooledGrid.voxels * inChannels
        layout.append("dense.kernel", role: .denseKernel, shape: [features, configuration.classes])
        layout.append("dense.bias", role: .denseBias, shape: [configuration.classes])
        convolutionGrids = grids
        pooledGrids = pooled
        self.layout = layout
    }

    public var depth: Int { configuration.widths.count }

    /// "block1" … : the prefix of block `index`'s slices in the layout.
    public static func blockName(_ index: Int) -> String { "block\(index + 1)" }

    public func convolution(block: Int, batch: Int) -> Conv3DShape {
        Conv3DShape(batch: batch, grid: convolutionGrids[block],
                    inChannels: block == 0 ? 1 : configuration.widths[block - 1],
                    outChannels: configuration.widths[block])
    }

    /// Forward FLOPs of one sample (convolutions and dense layer; the
    /// memory-bound layers are not counted, as is usual).
    public var forwardFlopsPerSample: Double {
        (0..<depth).reduce(0) { $0 + convolution(block: $1, batch: 1).forwardFlops }
            + 2 * Double(features * configuration.classes)
    }

    /// About what training takes, in bytes (nil: beyond counting): the
    /// parameters six times over (values, gradients, Adam's moments, the best
    /// and the stored copy) and three buffers of every block's activations
    /// per sample (SimBA's CNN at 1 mm, batch 2: 5.5 GiB estimated, 4.5
    /// measured peak).
    /// `convolutionGrids`: the grids a rank convolves at, when a slab of
    /// each sample (SlabPartition.swift) rather than the whole.
    public func trainingBytes(batch: Int, convolutionGrids grids: [Grid3]? = nil) -> Int? {
        let grids = grids ?? convolutionGrids
        let activations = (0..<depth).reduce(0.0) {
            $0 + Double(grids[$1].voxels) * Double(configuration.widths[$1])
        }
        let bytes = 4 * (6 * Double(layout.totalCount) + 3 * Double(batch) * activations)
        return bytes < 9e18 ? Int(bytes) : nil
    }

    /// Training FLOPs counted as 3 × forward (forward, input and weight
    /// gradients), the convention the PyTorch peer uses too.
    public var trainingFlopsPerSample: Double { 3 * forwardFlopsPerSample }
}
