extension VectorField {
    /// Calls `body(n, det)` with the Jacobian determinant of x → x + d(x) at every voxel.
    /// J = I + (∂d/∂index)·L⁻¹ with L the grid's voxel→world linear part, derivatives by
    /// central differences (one-sided on the faces), everything in mm. Runs on slabs of z
    /// (`forEachSlab`); `body` gets the slab index for per-thread reductions.
    @inline(__always)
    func forEachJacobianDeterminant(_ body: (_ slab: Int, _ n: Int, _ det: Double) -> Void) {
        let inv = grid.worldToVoxelLinear.map(Double.init)
        let dims = grid.dims
        x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in
                z.withUnsafeBufferPointer { pz in
                    forEachSlab(dims.z) { slabIndex, slab in
                        var n = slab.lowerBound * dims.x * dims.y
                        for k in slab {
                            for j in 0..<dims.y {
                                for i in 0..<dims.x {
                                    // Rows: derivative of one displacement component along index axes.
                                    let gx = SIMD3<Double>(indexDerivatives(px.baseAddress!, n, i, j, k, dims))
                                    let gy = SIMD3<Double>(indexDerivatives(py.baseAddress!, n, i, j, k, dims))
                                    let gz = SIMD3<Double>(indexDerivatives(pz.baseAddress!, n, i, j, k, dims))
                                    @inline(__always) func worldRow(_ g: SIMD3<Double>) -> SIMD3<Double> {
                                        SIMD3(g.x * inv[0] + g.y * inv[3] + g.z * inv[6],
                                              g.x * inv[1] + g.y * inv[4] + g.z * inv[7],
                                              g.x * inv[2] + g.y * inv[5] + g.z * inv[8])
                                    }
                                    let a = worldRow(gx) + SIMD3(1, 0, 0)
                                    let b = worldRow(gy) + SIMD3(0, 1, 0)
                                    let c = worldRow(gz) + SIMD3(0, 0, 1)
                                    let det = a.x * (b.y * c.z - b.z * c.y) - a.y * (b.x * c.z - b.z * c.x)
                                        + a.z * (b.x * c.y - b.y * c.x)
                                    body(slabIndex, n, det)
                                    n += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Jacobian determinant of the deformation x → x + d(x) at every voxel.
    public func jacobianDeterminant() -> Volume<Float> {
        var out = [Float](repeating: 0, count: grid.count)
        out.withUnsafeMutableBufferPointer { dst in
            forEachJacobianDeterminant { _, n, det in dst[n] = Float(det) }
        }
        return Volume(grid: grid, voxels: out)
    }

    /// Smallest Jacobian determinant (must be > 0 for a folding-free deformation).
    public func minimumJacobianDeterminant() -> Double {
        // One running minimum per slab, so threads never share a variable.
        var smallest = [Double](repeating: .infinity, count: slabCount(grid.dims.z))
        smallest.withUnsafeMutableBufferPointer { perSlab in
            forEachJacobianDeterminant { slab, _, det in perSlab[slab] = Swift.min(perSlab[slab], det) }
        }
        return smallest.min()!
    }
}
