/// Derivatives along the three index axes at voxel n of a flat array: central differences
/// inside, one-sided at the faces (exact for fields linear in the index).
@inline(__always)
func indexDerivatives(_ p: UnsafePointer<Float>, _ n: Int, _ i: Int, _ j: Int, _ k: Int,
                      _ dims: SIMD3<Int>) -> SIMD3<Float> {
    let nx = dims.x, ny = dims.y, nz = dims.z
    let sy = nx, sz = nx * ny
    @inline(__always) func diff(_ index: Int, _ count: Int, _ stride: Int) -> Float {
        if count == 1 { return 0 }
        if index == 0 { return p[n + stride] - p[n] }
        if index == count - 1 { return p[n] - p[n - stride] }
        return 0.5 * (p[n + stride] - p[n - stride])
    }
    return SIMD3(diff(i, nx, 1), diff(j, ny, sy), diff(k, nz, sz))
}

extension Volume where Element == Float {
    /// Spatial gradient in world coordinates (units per mm). With world = L·index + t,
    /// ∇_world f = L⁻ᵀ ∇_index f, so oblique and flipped grids are handled.
    public func gradient() -> VectorField {
        let inv = grid.worldToVoxelLinear  // L⁻¹, row-major; L⁻ᵀ[r][c] = inv[c*3 + r]
        var out = VectorField(zerosOn: grid)
        voxels.withUnsafeBufferPointer { src in
            var n = 0
            for k in 0..<dims.z {
                for j in 0..<dims.y {
                    for i in 0..<dims.x {
                        let g = indexDerivatives(src.baseAddress!, n, i, j, k, dims)
                        out.x[n] = inv[0] * g.x + inv[3] * g.y + inv[6] * g.z
                        out.y[n] = inv[1] * g.x + inv[4] * g.y + inv[7] * g.z
                        out.z[n] = inv[2] * g.x + inv[5] * g.y + inv[8] * g.z
                        n += 1
                    }
                }
            }
        }
        return out
    }
}
