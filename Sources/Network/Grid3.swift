/// Spatial size of a volume, (X, Y, Z) with Z varying fastest in memory.
public struct Grid3: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var x: Int, y: Int, z: Int

    public init(_ x: Int, _ y: Int, _ z: Int) { self.x = x; self.y = y; self.z = z }

    public init(_ dims: [Int]) {
        precondition(dims.count == 3, "a volume has three spatial dimensions, got \(dims)")
        self.init(dims[0], dims[1], dims[2])
    }

    public var voxels: Int { x * y * z }
    public var array: [Int] { [x, y, z] }
    public var description: String { "\(x)×\(y)×\(z)" }

    /// Output size of a stride-2, window-2 pooling with TensorFlow 'same'
    /// padding: ceil(n / 2); the single pad of an odd size goes at the end.
    public var halvedSame: Grid3 { Grid3((x + 1) / 2, (y + 1) / 2, (z + 1) / 2) }
}
