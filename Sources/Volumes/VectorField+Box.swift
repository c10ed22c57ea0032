extension VectorField {
    /// The field's values inside `region`, on the cropped grid.
    public func cropped(to region: VoxelRegion) -> VectorField {
        let parts = componentVolumes.map { $0.cropped(to: region) }
        return VectorField(components: (parts[0], parts[1], parts[2]))
    }

    /// This field (on a sub-grid of `grid` whose voxel 0 is `region.lower`)
    /// placed into a field on `grid` that is zero elsewhere.
    public func embedded(in grid: Grid, at region: VoxelRegion) -> VectorField {
        precondition(region.size == self.grid.dims, "the region must match this field's grid")
        var out = VectorField(zerosOn: grid)
        let nx = region.size.x
        var source = 0
        for z in region.lower.z...region.upper.z {
            for y in region.lower.y...region.upper.y {
                let row = grid.index(region.lower.x, y, z)
                for i in 0..<nx {
                    out.x[row + i] = x[source + i]
                    out.y[row + i] = self.y[source + i]
                    out.z[row + i] = self.z[source + i]
                }
                source += nx
            }
        }
        return out
    }

    /// Smallest box of voxels where the field's norm exceeds `threshold`,
    /// grown by `margin` voxels (clamped to the grid); nil if none does.
    public func support(above threshold: Float, margin: Int) -> VoxelRegion? {
        let dims = grid.dims
        var lower = dims, upper = SIMD3<Int>(repeating: -1)
        let limit = threshold * threshold
        var n = 0
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                for i in 0..<dims.x {
                    if x[n] * x[n] + y[n] * y[n] + z[n] * z[n] > limit {
                        lower = pointwiseMin(lower, SIMD3(i, j, k))
                        upper = pointwiseMax(upper, SIMD3(i, j, k))
                    }
                    n += 1
                }
            }
        }
        guard upper.x >= 0 else { return nil }
        return VoxelRegion(lower: pointwiseMax(lower &- margin, .zero),
                           upper: pointwiseMin(upper &+ margin, dims &- 1))
    }
}
