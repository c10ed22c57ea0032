/// A fixed-shape float32 array over flat, preallocated storage.
///
/// Reference type on purpose: layers write into buffers that the model
/// allocated once, so the hot path never allocates. Storage is zero-filled at
/// creation, which also makes the kernel fault the pages in once, up front,
/// instead of on the first training step.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>

    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        data = .allocate(capacity: Swift.max(count, 1))
        data.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { data.deallocate() }

    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    /// A copy of the contents, for checkpoints, probes and tests.
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Replaces the contents; throws unless `values` has exactly `count` elements.
    public func load(_ values: [Float], what: String = "tensor") throws {
        guard values.count == count else {
            throw NetworkError.sizeMismatch(what: what, expected: count, actual: values.count)
        }
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
}

/// Non-float scratch (max-pool winners as bytes, batch-norm sums as
/// doubles) with the same allocate-once, zero-filled rule.
final class ScratchBuffer<Element: Numeric> {
    let count: Int
    let data: UnsafeMutablePointer<Element>

    init(count: Int) {
        self.count = count
        data = .allocate(capacity: Swift.max(count, 1))
        data.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    deinit { data.deallocate() }
}
