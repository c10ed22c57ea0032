extension Volume where Element == Float {
    /// Trilinear value at a continuous voxel index.
    public func sample(atVoxel c: SIMD3<Double>, outside: OutsideValue = .constant(0)) -> Float {
        let stencil = TrilinearStencil(dims)
        let cx = Float(c.x), cy = Float(c.y), cz = Float(c.z)
        if case .constant(let value) = outside, !stencil.isInside(cx, cy, cz) { return value }
        return voxels.withUnsafeBufferPointer { stencil.interpolate($0.baseAddress!, stencil.corner(cx, cy, cz)) }
    }

    /// Trilinear value at a world position (mm).
    public func sample(atWorld p: SIMD3<Double>, outside: OutsideValue = .constant(0)) -> Float {
        sample(atVoxel: grid.voxel(world: p), outside: outside)
    }
}

extension VectorField {
    /// Trilinear vector at a continuous voxel index; outside points take the nearest edge value.
    public func sample(atVoxel c: SIMD3<Double>) -> SIMD3<Float> {
        let stencil = TrilinearStencil(grid.dims)
        let corner = stencil.corner(Float(c.x), Float(c.y), Float(c.z))
        let vx = x.withUnsafeBufferPointer { stencil.interpolate($0.baseAddress!, corner) }
        let vy = y.withUnsafeBufferPointer { stencil.interpolate($0.baseAddress!, corner) }
        let vz = z.withUnsafeBufferPointer { stencil.interpolate($0.baseAddress!, corner) }
        return SIMD3(vx, vy, vz)
    }

    public func sample(atWorld p: SIMD3<Double>) -> SIMD3<Float> { sample(atVoxel: grid.voxel(world: p)) }
}
