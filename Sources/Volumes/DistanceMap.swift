/// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012):
/// three passes of the 1-D lower envelope of parabolas, one per axis, with
/// each axis's voxel spacing, so distances are in millimetres on
/// anisotropic grids too.
extension Volume {
    /// The distance (mm) from each voxel centre to the nearest voxel centre
    /// where `isInside` holds: 0 there, +∞ everywhere when it holds nowhere.
    public func distanceMap(to isInside: (Element) -> Bool) -> Volume<Float> {
        var squared = voxels.map { isInside($0) ? 0 : Double.infinity }
        let dims = grid.dims
        let strides = [1, dims.x, dims.x * dims.y]
        for axis in 0..<3 {
            let n = dims[axis]
            guard n > 1 else { continue }
            let spacing = grid.spacing[axis]
            let others = (0..<3).filter { $0 != axis }
            var line = [Double](repeating: 0, count: n)
            var envelope = LowerEnvelope(capacity: n)
            for b in 0..<dims[others[1]] {
                for a in 0..<dims[others[0]] {
                    let start = a * strides[others[0]] + b * strides[others[1]]
                    let stride = strides[axis]
                    for i in 0..<n { line[i] = squared[start + i * stride] }
                    envelope.transform(&line, spacing: spacing)
                    for i in 0..<n { squared[start + i * stride] = line[i] }
                }
            }
        }
        return Volume<Float>(grid: grid, voxels: squared.map { Float($0.squareRoot()) })
    }
}

/// The 1-D squared-distance transform d(p) = min_q (h²(p − q)² + f(q)),
/// reusing its work arrays from line to line.
private struct LowerEnvelope {
    var parabolas: [Int]
    var bounds: [Double]

    init(capacity: Int) {
        parabolas = [Int](repeating: 0, count: capacity)
        bounds = [Double](repeating: 0, count: capacity + 1)
    }

    mutating func transform(_ f: inout [Double], spacing h: Double) {
        let n = f.count
        // Only finite samples make parabolas; none: the line stays +∞.
        guard let first = f.firstIndex(where: { $0.isFinite }) else { return }
        func position(_ q: Int) -> Double { h * Double(q) }
        func intersection(_ q: Int, _ r: Int) -> Double {
            ((f[q] + position(q) * position(q)) - (f[r] + position(r) * position(r))) / (2 * (position(q) - position(r)))
        }
        var k = 0
        parabolas[0] = first
        bounds[0] = -.infinity
        bounds[1] = .infinity
        for q in (first + 1)..<max(first + 1, n) where f[q].isFinite {
            var s = intersection(q, parabolas[k])
            while s <= bounds[k] {
                k -= 1
                s = intersection(q, parabolas[k])
            }
            k += 1
            parabolas[k] = q
            bounds[k] = s
            bounds[k + 1] = .infinity
        }
        var values = [Double](repeating: 0, count: n)
        k = 0
        for p in 0..<n {
            while bounds[k + 1] < position(p) { k += 1 }
            let gap = position(p) - position(parabolas[k])
            values[p] = gap * gap + f[parabolas[k]]
        }
        f = values
    }
}
