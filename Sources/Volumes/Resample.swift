extension Grid {
    /// Calls `body(n, cx, cy, cz)` for each voxel n of `self` with the continuous index of
    /// its centre in `source`. The index map is affine, so it is stepped incrementally.
    /// Slabs of z run on `VolumeThreads.count` threads; `body` must only write voxel n.
    @inline(__always)
    func forEachVoxel(mappedInto source: Grid, _ body: (Int, Float, Float, Float) -> Void) {
        let map = source.affine.inverse!.concatenating(affine)
        let ax = map.column(0), ay = map.column(1), az = map.column(2), t = map.translation
        forEachSlab(dims.z) { _, slab in
            var n = slab.lowerBound * dims.x * dims.y
            for k in slab {
                for j in 0..<dims.y {
                    let row = t + Double(j) * ay + Double(k) * az
                    for i in 0..<dims.x {
                        let c = row + Double(i) * ax
                        body(n, Float(c.x), Float(c.y), Float(c.z))
                        n += 1
                    }
                }
            }
        }
    }
}

extension Volume where Element == Float {
    /// Trilinear resampling onto another grid (world positions are matched).
    public func resampled(to target: Grid, outside: OutsideValue = .constant(0)) -> Volume<Float> {
        let stencil = TrilinearStencil(dims)
        var out = [Float](repeating: 0, count: target.count)
        voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let p = src.baseAddress!
                target.forEachVoxel(mappedInto: grid) { n, cx, cy, cz in
                    if case .constant(let value) = outside, !stencil.isInside(cx, cy, cz) {
                        dst[n] = value
                    } else {
                        dst[n] = stencil.interpolate(p, stencil.corner(cx, cy, cz))
                    }
                }
            }
        }
        return Volume(grid: target, voxels: out)
    }

    /// Resampled to isotropic `spacing` mm over the same extent (`Grid.withSpacing`), with
    /// anti-aliasing: along each axis that is downsampled by factor f = new/old > 1 the
    /// volume is first smoothed with a Gaussian of sigma = 0.5·f input voxels
    /// (i.e. half the new voxel size in mm); axes that are upsampled are not smoothed.
    public func resampled(toSpacing spacing: Double) -> Volume<Float> {
        let target = grid.withSpacing(spacing)
        let factor = target.spacing / grid.spacing
        let sigma = (0.5 * factor * grid.spacing).replacing(with: 0, where: factor .<= 1)
        let source = sigma.max() > 0 ? smoothed(sigmaMillimetres: sigma) : self
        return source.resampled(to: target)
    }
}

extension Volume where Element == Int32 {
    /// Nearest-neighbour resampling of a label map onto another grid; outside → `outside`.
    /// No smoothing: labels are categories, and nearest keeps every output a valid label.
    public func resampled(to target: Grid, outside: Int32 = 0) -> Volume<Int32> {
        let stencil = TrilinearStencil(dims)
        var out = [Int32](repeating: outside, count: target.count)
        voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                target.forEachVoxel(mappedInto: grid) { n, cx, cy, cz in
                    if stencil.isInside(cx, cy, cz) { dst[n] = src[stencil.nearest(cx, cy, cz)] }
                }
            }
        }
        return Volume(grid: target, voxels: out)
    }
}

extension VectorField {
    /// Trilinear resampling of each component onto another grid (nearest edge value outside).
    /// Components stay world-axis vectors in mm, so no reorientation is needed. Used to move
    /// velocity/displacement fields between the fine and the coarse exponentiation grids.
    /// Axis-aligned grid pairs take the separable path (same values, less work).
    public func resampled(to target: Grid) -> VectorField {
        if let separable = SeparableResampler(from: grid, to: target) {
            return VectorField(grid: target, x: separable.resample(x), y: separable.resample(y), z: separable.resample(z))
        }
        return stencilResampled(to: target)
    }

    /// The general path: a 3-D trilinear stencil per target voxel (any relative orientation).
    func stencilResampled(to target: Grid) -> VectorField {
        let stencil = TrilinearStencil(grid.dims)
        var out = VectorField(zerosOn: target)
        x.withUnsafeBufferPointer { sx in
            y.withUnsafeBufferPointer { sy in
                z.withUnsafeBufferPointer { sz in
                    out.x.withUnsafeMutableBufferPointer { dx in
                        out.y.withUnsafeMutableBufferPointer { dy in
                            out.z.withUnsafeMutableBufferPointer { dz in
                                target.forEachVoxel(mappedInto: grid) { n, cx, cy, cz in
                                    let corner = stencil.corner(cx, cy, cz)
                                    dx[n] = stencil.interpolate(sx.baseAddress!, corner)
                                    dy[n] = stencil.interpolate(sy.baseAddress!, corner)
                                    dz[n] = stencil.interpolate(sz.baseAddress!, corner)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
