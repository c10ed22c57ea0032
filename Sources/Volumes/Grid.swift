/// A regular 3-D sampling grid: `dims` voxels, x fastest in storage, with an
/// affine from voxel index (i, j, k) to world coordinates (RAS, mm) of the voxel centre.
public struct Grid: Equatable, Sendable, CustomStringConvertible {
    // Immutable so the invariants checked by init (positive dims, invertible affine) hold.
    public let dims: SIMD3<Int>
    public let affine: Affine

    public init(dims: SIMD3<Int>, affine: Affine) {
        precondition(dims.x > 0 && dims.y > 0 && dims.z > 0, "grid dims must be positive, got \(dims)")
        precondition(affine.inverse != nil, "grid affine must be invertible")
        self.dims = dims
        self.affine = affine
    }

    /// Axis-aligned grid: world = origin + spacing * index.
    public init(dims: SIMD3<Int>, spacing: SIMD3<Double> = SIMD3(repeating: 1), origin: SIMD3<Double> = .zero) {
        self.init(dims: dims, affine: .scaling(spacing, translation: origin))
    }

    public var count: Int { dims.x * dims.y * dims.z }

    /// Voxel size along each index axis in mm (length of the affine's columns).
    public var spacing: SIMD3<Double> {
        SIMD3(affine.column(0).length, affine.column(1).length, affine.column(2).length)
    }

    @inline(__always) public func index(_ x: Int, _ y: Int, _ z: Int) -> Int {
        x + dims.x * (y + dims.y * z)
    }

    public func world(voxel: SIMD3<Double>) -> SIMD3<Double> { affine.apply(voxel) }

    public func voxel(world: SIMD3<Double>) -> SIMD3<Double> { affine.inverse!.apply(world) }

    /// Same world extent, new voxel size: voxel boundaries of the first corner are kept
    /// (the corner of voxel 0 stays where it was), dims are rounded to cover the extent.
    public func withSpacing(_ newSpacing: SIMD3<Double>) -> Grid {
        precondition(newSpacing.min() > 0, "spacing must be positive")
        let factor = newSpacing / spacing
        let extent = SIMD3<Double>(dims) / factor
        let newDims = SIMD3<Int>(Swift.max(1, Int(extent.x.rounded())), Swift.max(1, Int(extent.y.rounded())),
                                 Swift.max(1, Int(extent.z.rounded())))
        // New voxel 0 centre sits half a new voxel inside the old corner at index -0.5.
        let firstCentre = -0.5 + 0.5 * factor
        var a = affine
        for axis in 0..<3 {
            a.row0[axis] *= factor[axis]
            a.row1[axis] *= factor[axis]
            a.row2[axis] *= factor[axis]
        }
        let t = affine.apply(firstCentre)
        a.row0.w = t.x
        a.row1.w = t.y
        a.row2.w = t.z
        return Grid(dims: newDims, affine: a)
    }

    public func withSpacing(_ mm: Double) -> Grid { withSpacing(SIMD3(repeating: mm)) }

    /// Coarser grid for computing smooth fields cheaply: about `factor` times fewer nodes per
    /// axis, with the first and last nodes on the first and last voxel centres of this grid
    /// (node spacing (n−1)/(m−1) voxels, at most `factor`). Moving a field to it and back is
    /// then pure interpolation, never extrapolation, so fields linear in space survive exactly.
    public func coarsened(by factor: Int) -> Grid {
        precondition(factor >= 1, "factor must be >= 1")
        var coarseDims = SIMD3<Int>(repeating: 1)
        var a = affine
        for axis in 0..<3 where dims[axis] > 1 {
            let intervals = (dims[axis] - 1 + factor - 1) / factor
            coarseDims[axis] = intervals + 1
            let step = Double(dims[axis] - 1) / Double(intervals)
            a.row0[axis] *= step
            a.row1[axis] *= step
            a.row2[axis] *= step
        }
        return Grid(dims: coarseDims, affine: a)
    }

    /// Sub-grid of voxels lo...hi (inclusive); voxel (0,0,0) of the result is voxel `lo` here.
    public func cropped(to region: VoxelRegion) -> Grid {
        precondition(region.lower.min() >= 0 && (dims &- 1 &- region.upper).min() >= 0, "region outside grid")
        var a = affine
        let t = affine.apply(SIMD3<Double>(region.lower))
        a.row0.w = t.x
        a.row1.w = t.y
        a.row2.w = t.z
        return Grid(dims: region.size, affine: a)
    }

    /// Inverse of the affine's linear part as 9 row-major Floats: maps a world
    /// displacement (mm) to a displacement in voxel index units. Precomputed for hot loops.
    var worldToVoxelLinear: [Float] {
        let inv = affine.inverse!
        return [inv.row0.x, inv.row0.y, inv.row0.z, inv.row1.x, inv.row1.y, inv.row1.z,
                inv.row2.x, inv.row2.y, inv.row2.z].map(Float.init)
    }

    public var description: String { "Grid(\(dims.x)×\(dims.y)×\(dims.z), spacing \(spacing), affine \(affine))" }
}

/// Inclusive box of voxel indices.
public struct VoxelRegion: Equatable, Sendable {
    public var lower: SIMD3<Int>
    public var upper: SIMD3<Int>

    public init(lower: SIMD3<Int>, upper: SIMD3<Int>) {
        precondition((upper &- lower).min() >= 0, "empty region")
        self.lower = lower
        self.upper = upper
    }

    public var size: SIMD3<Int> { upper &- lower &+ 1 }
}

extension SIMD3 where Scalar == Double {
    var length: Double { (self * self).sum().squareRoot() }
}
