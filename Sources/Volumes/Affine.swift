/// A 3-D affine map stored as the top three rows of a 4×4 matrix
/// (the bottom row is implicitly 0 0 0 1). Used for voxel index → world (RAS mm).
public struct Affine: Equatable, Sendable, CustomStringConvertible {
    public var row0: SIMD4<Double>
    public var row1: SIMD4<Double>
    public var row2: SIMD4<Double>

    public init(row0: SIMD4<Double>, row1: SIMD4<Double>, row2: SIMD4<Double>) {
        self.row0 = row0
        self.row1 = row1
        self.row2 = row2
    }

    /// From a row-major 3×3 linear part and a translation.
    public init(linear: [[Double]], translation: SIMD3<Double>) {
        precondition(linear.count == 3 && linear.allSatisfy { $0.count == 3 }, "linear part must be 3×3")
        row0 = SIMD4(linear[0][0], linear[0][1], linear[0][2], translation.x)
        row1 = SIMD4(linear[1][0], linear[1][1], linear[1][2], translation.y)
        row2 = SIMD4(linear[2][0], linear[2][1], linear[2][2], translation.z)
    }

    /// From 3 or 4 rows of 4 numbers (a 4th row must be 0 0 0 1).
    public init(rows: [[Double]]) {
        precondition((rows.count == 3 || rows.count == 4) && rows.allSatisfy { $0.count == 4 }, "need 3 or 4 rows of 4")
        row0 = SIMD4(rows[0][0], rows[0][1], rows[0][2], rows[0][3])
        row1 = SIMD4(rows[1][0], rows[1][1], rows[1][2], rows[1][3])
        row2 = SIMD4(rows[2][0], rows[2][1], rows[2][2], rows[2][3])
    }

    public static let identity = Affine(row0: SIMD4(1, 0, 0, 0), row1: SIMD4(0, 1, 0, 0), row2: SIMD4(0, 0, 1, 0))

    public static func scaling(_ s: SIMD3<Double>, translation t: SIMD3<Double> = .zero) -> Affine {
        Affine(row0: SIMD4(s.x, 0, 0, t.x), row1: SIMD4(0, s.y, 0, t.y), row2: SIMD4(0, 0, s.z, t.z))
    }

    public subscript(row: Int, column: Int) -> Double {
        precondition((0..<4).contains(row) && (0..<4).contains(column))
        switch row {
        case 0: return row0[column]
        case 1: return row1[column]
        case 2: return row2[column]
        default: return column == 3 ? 1 : 0
        }
    }

    public var translation: SIMD3<Double> { SIMD3(row0.w, row1.w, row2.w) }

    /// Column `axis` of the linear part: the world step of one voxel along that index axis.
    public func column(_ axis: Int) -> SIMD3<Double> { SIMD3(row0[axis], row1[axis], row2[axis]) }

    public func apply(_ p: SIMD3<Double>) -> SIMD3<Double> {
        let h = SIMD4(p.x, p.y, p.z, 1)
        return SIMD3((row0 * h).sum(), (row1 * h).sum(), (row2 * h).sum())
    }

    /// Linear part only (for directions and displacements, which do not translate).
    public func applyLinear(_ v: SIMD3<Double>) -> SIMD3<Double> {
        let h = SIMD4(v.x, v.y, v.z, 0)
        return SIMD3((row0 * h).sum(), (row1 * h).sum(), (row2 * h).sum())
    }

    public var determinant: Double {
        row0.x * (row1.y * row2.z - row1.z * row2.y)
            - row0.y * (row1.x * row2.z - row1.z * row2.x)
            + row0.z * (row1.x * row2.y - row1.y * row2.x)
    }

    /// Inverse map; nil when the linear part is singular.
    public var inverse: Affine? {
        let det = determinant
        guard det != 0, det.isFinite else { return nil }
        let a = row0, b = row1, c = row2
        // Adjugate of the 3×3 linear part divided by the determinant.
        let i00 = (b.y * c.z - b.z * c.y) / det, i01 = (a.z * c.y - a.y * c.z) / det, i02 = (a.y * b.z - a.z * b.y) / det
        let i10 = (b.z * c.x - b.x * c.z) / det, i11 = (a.x * c.z - a.z * c.x) / det, i12 = (a.z * b.x - a.x * b.z) / det
        let i20 = (b.x * c.y - b.y * c.x) / det, i21 = (a.y * c.x - a.x * c.y) / det, i22 = (a.x * b.y - a.y * b.x) / det
        let t = translation
        let tx = -(i00 * t.x + i01 * t.y + i02 * t.z)
        let ty = -(i10 * t.x + i11 * t.y + i12 * t.z)
        let tz = -(i20 * t.x + i21 * t.y + i22 * t.z)
        return Affine(row0: SIMD4(i00, i01, i02, tx), row1: SIMD4(i10, i11, i12, ty), row2: SIMD4(i20, i21, i22, tz))
    }

    /// self ∘ other: apply `other` first.
    public func concatenating(_ other: Affine) -> Affine {
        func row(_ r: SIMD4<Double>) -> SIMD4<Double> {
            let c0 = other.column(0), c1 = other.column(1), c2 = other.column(2), t = other.translation
            let head = SIMD3(r.x, r.y, r.z)
            return SIMD4((head * c0).sum(), (head * c1).sum(), (head * c2).sum(), (head * t).sum() + r.w)
        }
        return Affine(row0: row(row0), row1: row(row1), row2: row(row2))
    }

    public var isFinite: Bool {
        (0..<4).allSatisfy { row0[$0].isFinite && row1[$0].isFinite && row2[$0].isFinite }
    }

    /// Largest absolute entry difference, for tolerance comparisons.
    public func maxDifference(to other: Affine) -> Double {
        let d = [abs(row0 - other.row0).max(), abs(row1 - other.row1).max(), abs(row2 - other.row2).max()]
        return d.max()!
    }

    public var description: String {
        [row0, row1, row2].map { r in "[\(r.x) \(r.y) \(r.z) \(r.w)]" }.joined(separator: " ")
    }
}

@inline(__always) private func abs(_ v: SIMD4<Double>) -> SIMD4<Double> { v.replacing(with: -v, where: v .< 0) }
