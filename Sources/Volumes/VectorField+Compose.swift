extension VectorField {
    /// Displacement of the composed map (self ∘ inner): x → x + inner(x) + self(x + inner(x)).
    /// `self` is sampled trilinearly, taking the nearest edge value outside the grid.
    public func composed(after inner: VectorField) -> VectorField {
        var out = VectorField(zerosOn: grid)
        composed(after: inner, into: &out)
        return out
    }

    /// Allocation-free form of `composed(after:)` for loops such as scaling and squaring.
    func composed(after inner: VectorField, into out: inout VectorField) {
        precondition(inner.grid == grid && out.grid == grid, "fields must share a grid")
        let stencil = TrilinearStencil(grid.dims)
        x.withUnsafeBufferPointer { ox in
            y.withUnsafeBufferPointer { oy in
                z.withUnsafeBufferPointer { oz in
                    inner.x.withUnsafeBufferPointer { ix in
                        inner.y.withUnsafeBufferPointer { iy in
                            inner.z.withUnsafeBufferPointer { iz in
                                out.x.withUnsafeMutableBufferPointer { rx in
                                    out.y.withUnsafeMutableBufferPointer { ry in
                                        out.z.withUnsafeMutableBufferPointer { rz in
                                            let px = ox.baseAddress!, py = oy.baseAddress!, pz = oz.baseAddress!
                                            inner.forEachDisplacedVoxel { n, cx, cy, cz in
                                                let corner = stencil.corner(cx, cy, cz)
                                                rx[n] = ix[n] + stencil.interpolate(px, corner)
                                                ry[n] = iy[n] + stencil.interpolate(py, corner)
                                                rz[n] = iz[n] + stencil.interpolate(pz, corner)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
