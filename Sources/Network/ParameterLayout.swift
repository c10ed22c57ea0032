/// One named slice of the model's flat parameter (and gradient) buffer.
public struct ParameterSlice: Equatable, Sendable {
    public var name: String
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

    mutating func append(_ name: String, shape: [Int], trainable: Bool = true) {
        let count = shape.reduce(1, *)
        slices.append(ParameterSlice(name: name, offset: totalCount, count: count, shape: shape, trainable: trainable))
        totalCount += count
    }

    public var trainableCount: Int { slices.filter(\.trainable).reduce(0) { $0 + $1.count } }

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
