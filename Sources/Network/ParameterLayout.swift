/// What a slice of the flat buffer holds. Declared where the layout is
/// built, so code that needs a kind of parameter (the batch-norm slices
/// that sync BN treats per batch, the kernels that get Glorot
/// initialisation) asks for the role instead of matching names.
public enum ParameterRole: Sendable, Equatable {
    case convolutionKernel, convolutionBias
    /// γ and β.
    case batchNormScale, batchNormShift
    case batchNormMovingMean, batchNormMovingVariance
    case denseKernel, denseBias

    public var isBatchNorm: Bool {
        switch self {
        case .batchNormScale, .batchNormShift, .batchNormMovingMean, .batchNormMovingVariance: return true
        case .convolutionKernel, .convolutionBias, .denseKernel, .denseBias: return false
        }
    }
}

/// One named slice of the model's flat parameter (and gradient) buffer.
public struct ParameterSlice: Equatable, Sendable {
    public var name: String
    public var role: ParameterRole
    public var offset: Int
    public var count: Int
    public var shape: [Int]
    /// False for batch-norm moving statistics: they are updated by forward
    /// passes, never by the optimizer, and their gradient stays zero.
    public var trainable: Bool

    public var range: Range<Int> { offset..<(offset + count) }
}

/// The table that names every slice of the flat buffers, in buffer order.
/// The flat buffer is what an allreduce and a checkpoint see; the table is
/// how anyone finds "block3.bn.gamma" in it.
public struct ParameterLayout: Equatable, Sendable {
    public private(set) var slices: [ParameterSlice] = []
    public private(set) var totalCount = 0

    public init() {}

    mutating func append(_ name: String, role: ParameterRole, shape: [Int], trainable: Bool = true) {
        let count = shape.reduce(1, *)
        slices.append(ParameterSlice(name: name, role: role, offset: totalCount, count: count, shape: shape,
                                     trainable: trainable))
        totalCount += count
    }

    public var trainableCount: Int { slices.filter(\.trainable).reduce(0) { $0 + $1.count } }

    /// The ranges of every batch-norm slice (γ, β and the moving
    /// statistics), in buffer order.
    public var batchNormRanges: [Range<Int>] { slices.filter(\.role.isBatchNorm).map(\.range) }

    public subscript(name: String) -> ParameterSlice {
        guard let slice = slices.first(where: { $0.name == name }) else {
            preconditionFailure("no parameter slice named \(name)")
        }
        return slice
    }

    /// One line per slice: name, offset, count, shape, trainable.
    public var table: String {
        slices.map { s in
            "\(s.name)\t\(s.offset)\t\(s.count)\t\(s.shape.map(String.init).joined(separator: "×"))\t\(s.trainable ? "trainable" : "state")"
        }.joined(separator: "\n")
    }
}
