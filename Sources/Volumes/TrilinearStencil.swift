/// What interpolation returns for a point outside the grid.
/// A point counts as inside when every continuous index c satisfies -0.5 <= c <= n-0.5
/// (ITK's IsInsideBuffer convention, used by SimpleITK's WarpImageFilter); within
/// that half-voxel border the nearest edge voxels are used.
public enum OutsideValue: Sendable, Equatable {
    /// Outside points get this value (WarpImageFilter's default edge value is 0).
    case constant(Float)
    /// Outside points take the value of the nearest edge voxel (used for displacement fields).
    case nearestEdge
}

/// Precomputed addressing for trilinear interpolation on one grid; the per-sample
/// work is a clamp, a floor and seven lerps, with no allocation.
struct TrilinearStencil {
    let nx: Int, ny: Int, nz: Int
    let strideY: Int, strideZ: Int
    let maxX: Float, maxY: Float, maxZ: Float
    let upper: SIMD4<Float>

    init(_ dims: SIMD3<Int>) {
        nx = dims.x; ny = dims.y; nz = dims.z
        strideY = nx
        strideZ = nx * ny
        maxX = Float(nx - 1); maxY = Float(ny - 1); maxZ = Float(nz - 1)
        upper = SIMD4(maxX, maxY, maxZ, 0)
    }

    /// Corner offset, the steps to the +1 neighbours (0 at the last voxel) and fractions.
    struct Corner {
        var base: Int
        var stepX: Int, stepY: Int, stepZ: Int
        var fx: Float, fy: Float, fz: Float
    }

    @inline(__always) func isInside(_ cx: Float, _ cy: Float, _ cz: Float) -> Bool {
        cx >= -0.5 && cx <= maxX + 0.5 && cy >= -0.5 && cy <= maxY + 0.5 && cz >= -0.5 && cz <= maxZ + 0.5
    }

    /// Corner for a point, with coordinates clamped to the voxel-centre range.
    /// The clamp is done four lanes wide because it runs per voxel.
    @inline(__always) func corner(_ cx: Float, _ cy: Float, _ cz: Float) -> Corner {
        // maxps/minps return the second operand for NaN, so NaN becomes 0 and a bad
        // displacement cannot index out of range.
        let clamped = pointwiseMin(pointwiseMax(SIMD4(cx, cy, cz, 0), .zero), upper)
        let x0 = Int(clamped.x), y0 = Int(clamped.y), z0 = Int(clamped.z)
        let fraction = clamped - SIMD4(Float(x0), Float(y0), Float(z0), 0)
        return Corner(base: x0 + strideY * y0 + strideZ * z0,
                      stepX: x0 < nx - 1 ? 1 : 0,
                      stepY: y0 < ny - 1 ? strideY : 0,
                      stepZ: z0 < nz - 1 ? strideZ : 0,
                      fx: fraction.x, fy: fraction.y, fz: fraction.z)
    }

    @inline(__always) func interpolate(_ p: UnsafePointer<Float>, _ c: Corner) -> Float {
        let b = c.base
        let p000 = p[b], p100 = p[b + c.stepX]
        let p010 = p[b + c.stepY], p110 = p[b + c.stepY + c.stepX]
        let b1 = b + c.stepZ
        let p001 = p[b1], p101 = p[b1 + c.stepX]
        let p011 = p[b1 + c.stepY], p111 = p[b1 + c.stepY + c.stepX]
        let a00 = p000 + (p100 - p000) * c.fx
        let a10 = p010 + (p110 - p010) * c.fx
        let a01 = p001 + (p101 - p001) * c.fx
        let a11 = p011 + (p111 - p011) * c.fx
        let b0 = a00 + (a10 - a00) * c.fy
        let b1v = a01 + (a11 - a01) * c.fy
        return b0 + (b1v - b0) * c.fz
    }

    /// Index of the nearest voxel centre (clamped).
    @inline(__always) func nearest(_ cx: Float, _ cy: Float, _ cz: Float) -> Int {
        let x = Int((Swift.min(Swift.max(cx, 0), maxX) + 0.5).rounded(.down))
        let y = Int((Swift.min(Swift.max(cy, 0), maxY) + 0.5).rounded(.down))
        let z = Int((Swift.min(Swift.max(cz, 0), maxZ) + 0.5).rounded(.down))
        return Swift.min(x, nx - 1) + strideY * Swift.min(y, ny - 1) + strideZ * Swift.min(z, nz - 1)
    }
}

/// Row-major 3×3 Float matrix applied in hot loops (world mm → voxel index units).
struct Matrix3f {
    let m00: Float, m01: Float, m02: Float
    let m10: Float, m11: Float, m12: Float
    let m20: Float, m21: Float, m22: Float

    init(_ m: [Float]) {
        precondition(m.count == 9)
        m00 = m[0]; m01 = m[1]; m02 = m[2]
        m10 = m[3]; m11 = m[4]; m12 = m[5]
        m20 = m[6]; m21 = m[7]; m22 = m[8]
    }

    /// True for a diagonal matrix, so hot loops can skip the off-diagonal terms.
    var isDiagonal: Bool { m01 == 0 && m02 == 0 && m10 == 0 && m12 == 0 && m20 == 0 && m21 == 0 }
}
