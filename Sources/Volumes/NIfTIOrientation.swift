/// Voxel → world affine of a NIfTI-1 header, following the standard's three methods.
extension NIfTIHeader {
    /// Which of the standard's methods produced `affine`.
    public enum AffineSource: Sendable, Equatable { case sform, qform, pixdim }

    /// sform when sform_code > 0, else qform when qform_code > 0, else plain pixdim scaling
    /// (method 1 of nifti1.h: world = pixdim · index, no offset; nibabel instead centres such
    /// files the ANALYZE way — they do not occur in this project).
    public var affineSource: AffineSource {
        if sformCode > 0 { return .sform }
        if qformCode > 0 { return .qform }
        return .pixdim
    }

    public var affine: Affine {
        switch affineSource {
        case .sform:
            return Affine(rows: srow.map { r in [Double(r.x), Double(r.y), Double(r.z), Double(r.w)] })
        case .qform:
            return qformAffine
        case .pixdim:
            return .scaling(SIMD3(positiveSpacing(1), positiveSpacing(2), positiveSpacing(3)))
        }
    }

    /// nifti1_io's rule: a non-positive voxel size counts as 1.
    private func positiveSpacing(_ axis: Int) -> Double {
        pixdim[axis] > 0 ? Double(pixdim[axis]) : 1
    }

    /// Quaternion (b, c, d; a = √(1−b²−c²−d²)) rotation, times voxel sizes, with the
    /// third column negated when qfac = pixdim[0] < 0 (nifti_quatern_to_mat44).
    var qformAffine: Affine {
        var b = Double(quaternion.x), c = Double(quaternion.y), d = Double(quaternion.z)
        var a = 1 - (b * b + c * c + d * d)
        if a < 1e-7 {
            // Rounding pushed |(b,c,d)| past 1: a 180° rotation; renormalise as nifti1_io does.
            let norm = (b * b + c * c + d * d).squareRoot()
            b /= norm; c /= norm; d /= norm
            a = 0
        } else {
            a = a.squareRoot()
        }
        let qfac: Double = pixdim[0] < 0 ? -1 : 1
        let dx = positiveSpacing(1), dy = positiveSpacing(2), dz = positiveSpacing(3) * qfac
        let r = [[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
                 [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
                 [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b]]
        return Affine(linear: r.map { [$0[0] * dx, $0[1] * dy, $0[2] * dz] },
                      translation: SIMD3(Double(qoffset.x), Double(qoffset.y), Double(qoffset.z)))
    }

    /// Stores `affine` exactly in the sform and as closely as a rotation allows in the qform
    /// (nifti_mat44_to_quatern; a sheared linear part is orthogonalised by Gram–Schmidt),
    /// with pixdim set to the column lengths and pixdim[0] = qfac.
    mutating func setAffine(_ affine: Affine, code: Int16) {
        srow = [affine.row0, affine.row1, affine.row2].map { SIMD4<Float>($0) }
        sformCode = code
        qformCode = code
        qoffset = SIMD3<Float>(affine.translation)
        var columns = (0..<3).map { affine.column($0) }
        let lengths = columns.map { $0.length }
        // Gram–Schmidt: an orthonormal frame closest in spirit to the columns.
        for i in 0..<3 {
            for j in 0..<i { columns[i] -= (columns[i] * columns[j]).sum() * columns[j] }
            columns[i] /= columns[i].length
        }
        let det = (columns[0] * cross(columns[1], columns[2])).sum()
        let qfac: Double = det < 0 ? -1 : 1
        if qfac < 0 { columns[2] = -columns[2] }
        // r[row][col]
        let r = (0..<3).map { row in (0..<3).map { col in columns[col][row] } }
        var a = r[0][0] + r[1][1] + r[2][2] + 1, b: Double, c: Double, d: Double
        if a > 0.5 {
            a = 0.5 * a.squareRoot()
            b = 0.25 * (r[2][1] - r[1][2]) / a
            c = 0.25 * (r[0][2] - r[2][0]) / a
            d = 0.25 * (r[1][0] - r[0][1]) / a
        } else {
            let xd = 1 + r[0][0] - (r[1][1] + r[2][2])
            let yd = 1 + r[1][1] - (r[0][0] + r[2][2])
            let zd = 1 + r[2][2] - (r[0][0] + r[1][1])
            if xd > 1 {
                b = 0.5 * xd.squareRoot()
                c = 0.25 * (r[0][1] + r[1][0]) / b
                d = 0.25 * (r[0][2] + r[2][0]) / b
                a = 0.25 * (r[2][1] - r[1][2]) / b
            } else if yd > 1 {
                c = 0.5 * yd.squareRoot()
                b = 0.25 * (r[0][1] + r[1][0]) / c
                d = 0.25 * (r[1][2] + r[2][1]) / c
                a = 0.25 * (r[0][2] - r[2][0]) / c
            } else {
                d = 0.5 * zd.squareRoot()
                b = 0.25 * (r[0][2] + r[2][0]) / d
                c = 0.25 * (r[1][2] + r[2][1]) / d
                a = 0.25 * (r[1][0] - r[0][1]) / d
            }
            if a < 0 { b = -b; c = -c; d = -d }
        }
        quaternion = SIMD3(Float(b), Float(c), Float(d))
        pixdim[0] = Float(qfac)
        for axis in 0..<3 { pixdim[axis + 1] = Float(lengths[axis]) }
    }
}

func cross(_ u: SIMD3<Double>, _ v: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
}
