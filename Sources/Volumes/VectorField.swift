/// A 3-component field on a `Grid` (velocity or displacement), stored as three
/// planar arrays (x fastest, like `Volume`). Components are world (RAS) axes in mm.
/// Planar storage lets smoothing and resampling reuse the scalar kernels.
public struct VectorField: Sendable, Equatable {
    public let grid: Grid
    // Kernels read these through unsafe pointers sized by `grid`, so only this module may
    // replace them; callers write through the subscript or build a new field.
    public internal(set) var x: [Float]
    public internal(set) var y: [Float]
    public internal(set) var z: [Float]

    public init(grid: Grid, x: [Float], y: [Float], z: [Float]) {
        precondition(x.count == grid.count && y.count == grid.count && z.count == grid.count,
                     "component sizes do not match grid \(grid.dims)")
        self.grid = grid
        self.x = x
        self.y = y
        self.z = z
    }

    /// The zero field (identity displacement).
    public init(zerosOn grid: Grid) {
        let zeros = [Float](repeating: 0, count: grid.count)
        self.init(grid: grid, x: zeros, y: zeros, z: zeros)
    }

    /// Builds the field from a function of the voxel's world position (mm).
    public init(grid: Grid, _ value: (SIMD3<Double>) -> SIMD3<Double>) {
        var field = VectorField(zerosOn: grid)
        var i = 0
        for k in 0..<grid.dims.z {
            for j in 0..<grid.dims.y {
                for ii in 0..<grid.dims.x {
                    let v = value(grid.world(voxel: SIMD3(Double(ii), Double(j), Double(k))))
                    field.x[i] = Float(v.x)
                    field.y[i] = Float(v.y)
                    field.z[i] = Float(v.z)
                    i += 1
                }
            }
        }
        self = field
    }

    public init(components: (Volume<Float>, Volume<Float>, Volume<Float>)) {
        precondition(components.0.grid == components.1.grid && components.1.grid == components.2.grid)
        self.init(grid: components.0.grid, x: components.0.voxels, y: components.1.voxels, z: components.2.voxels)
    }

    public subscript(i: Int, j: Int, k: Int) -> SIMD3<Float> {
        get {
            let n = grid.index(i, j, k)
            return SIMD3(x[n], y[n], z[n])
        }
        set {
            let n = grid.index(i, j, k)
            x[n] = newValue.x
            y[n] = newValue.y
            z[n] = newValue.z
        }
    }

    public var componentVolumes: [Volume<Float>] {
        [Volume(grid: grid, voxels: x), Volume(grid: grid, voxels: y), Volume(grid: grid, voxels: z)]
    }

    /// Applies `transform` to each component array (same grid).
    public func mapComponents(_ transform: ([Float]) -> [Float]) -> VectorField {
        VectorField(grid: grid, x: transform(x), y: transform(y), z: transform(z))
    }

    public func scaled(by factor: Float) -> VectorField {
        mapComponents { $0.map { $0 * factor } }
    }

    public static prefix func - (field: VectorField) -> VectorField { field.scaled(by: -1) }

    /// self += factor · other, in place: builds a field from model components (v = Σ cᵢ φᵢ)
    /// without a temporary per term.
    public mutating func add(_ other: VectorField, scaledBy factor: Float = 1) {
        precondition(other.grid == grid, "fields on different grids")
        for n in 0..<grid.count {
            x[n] += factor * other.x[n]
            y[n] += factor * other.y[n]
            z[n] += factor * other.z[n]
        }
    }

    /// Each vector multiplied by a scalar weight at its voxel (e.g. a smooth region weight).
    public func weighted(by weight: Volume<Float>) -> VectorField {
        precondition(weight.grid == grid, "weight must be on the field's grid")
        var out = self
        for n in 0..<grid.count {
            out.x[n] *= weight.voxels[n]
            out.y[n] *= weight.voxels[n]
            out.z[n] *= weight.voxels[n]
        }
        return out
    }

    public static func + (a: VectorField, b: VectorField) -> VectorField {
        precondition(a.grid == b.grid, "fields on different grids")
        return VectorField(grid: a.grid, x: zip(a.x, b.x).map(+), y: zip(a.y, b.y).map(+), z: zip(a.z, b.z).map(+))
    }

    /// Largest vector length in mm.
    public var maxNorm: Float {
        var best: Float = 0
        for n in 0..<x.count { best = Swift.max(best, x[n] * x[n] + y[n] * y[n] + z[n] * z[n]) }
        return best.squareRoot()
    }

    /// Largest vector length over voxels at least `margin` voxels from every face; errors of
    /// exponentiation concentrate at the faces, where displaced points leave the grid.
    public func maxNorm(insetBy margin: Int) -> Float {
        let d = grid.dims
        guard (d &- 2 &* margin).min() > 0 else { return 0 }
        var best: Float = 0
        for k in margin..<(d.z - margin) {
            for j in margin..<(d.y - margin) {
                for i in margin..<(d.x - margin) {
                    let n = grid.index(i, j, k)
                    best = Swift.max(best, x[n] * x[n] + y[n] * y[n] + z[n] * z[n])
                }
            }
        }
        return best.squareRoot()
    }

    public static func - (a: VectorField, b: VectorField) -> VectorField { a + (-b) }

    /// Largest per-voxel vector difference to `other` (mm).
    public func maxDistance(to other: VectorField) -> Float {
        precondition(grid == other.grid)
        var best: Float = 0
        for n in 0..<x.count {
            let dx = x[n] - other.x[n], dy = y[n] - other.y[n], dz = z[n] - other.z[n]
            best = Swift.max(best, dx * dx + dy * dy + dz * dz)
        }
        return best.squareRoot()
    }
}
