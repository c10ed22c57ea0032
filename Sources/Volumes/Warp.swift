extension VectorField {
    /// Calls `body(n, cx, cy, cz)` for every voxel n with the continuous voxel index of
    /// x + d(x), where d is this displacement field (mm). Shared by warping and composition.
    /// Slabs of z run on `VolumeThreads.count` threads; `body` must only write voxel n.
    @inline(__always)
    func forEachDisplacedVoxel(_ body: (Int, Float, Float, Float) -> Void) {
        let m = Matrix3f(grid.worldToVoxelLinear)
        let diagonal = m.isDiagonal
        let nx = grid.dims.x, ny = grid.dims.y, nz = grid.dims.z
        x.withUnsafeBufferPointer { dxs in
            y.withUnsafeBufferPointer { dys in
                z.withUnsafeBufferPointer { dzs in
                    forEachSlab(nz) { _, slab in
                        var n = slab.lowerBound * nx * ny
                        for k in slab {
                            let fk = Float(k)
                            for j in 0..<ny {
                                let fj = Float(j)
                                for i in 0..<nx {
                                    let dx = dxs[n], dy = dys[n], dz = dzs[n]
                                    if diagonal {
                                        body(n, Float(i) + m.m00 * dx, fj + m.m11 * dy, fk + m.m22 * dz)
                                    } else {
                                        body(n, Float(i) + m.m00 * dx + m.m01 * dy + m.m02 * dz,
                                             fj + m.m10 * dx + m.m11 * dy + m.m12 * dz,
                                             fk + m.m20 * dx + m.m21 * dy + m.m22 * dz)
                                    }
                                    n += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Volume where Element == Float {
    /// out(x) = in(x + d(x)) with trilinear interpolation, d in mm on this volume's grid
    /// (SimpleITK WarpImageFilter semantics; outside points get `outside`, default 0).
    public func warped(by displacement: VectorField, outside: OutsideValue = .constant(0)) -> Volume<Float> {
        precondition(displacement.grid == grid, "displacement must be on the volume's grid")
        let stencil = TrilinearStencil(dims)
        var out = [Float](repeating: 0, count: grid.count)
        voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let p = src.baseAddress!
                switch outside {
                case .nearestEdge:
                    displacement.forEachDisplacedVoxel { n, cx, cy, cz in
                        dst[n] = stencil.interpolate(p, stencil.corner(cx, cy, cz))
                    }
                case .constant(let value):
                    displacement.forEachDisplacedVoxel { n, cx, cy, cz in
                        dst[n] = stencil.isInside(cx, cy, cz) ? stencil.interpolate(p, stencil.corner(cx, cy, cz)) : value
                    }
                }
            }
        }
        return Volume(grid: grid, voxels: out)
    }
}

extension Volume where Element == Int32 {
    /// Label map warped with nearest-neighbour lookup: out(x) = in(nearest(x + d(x))); outside → `outside`.
    public func warped(by displacement: VectorField, outside: Int32 = 0) -> Volume<Int32> {
        precondition(displacement.grid == grid, "displacement must be on the volume's grid")
        let stencil = TrilinearStencil(dims)
        var out = [Int32](repeating: outside, count: grid.count)
        voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                displacement.forEachDisplacedVoxel { n, cx, cy, cz in
                    if stencil.isInside(cx, cy, cz) { dst[n] = src[stencil.nearest(cx, cy, cz)] }
                }
            }
        }
        return Volume(grid: grid, voxels: out)
    }
}
