/// How a label map is brought onto a coarser or finer grid.
public enum LabelResampling: Sendable {
    /// The label of the source voxel nearest to each target voxel centre.
    case nearest
    /// The most frequent label (background included) among the source voxels whose centres lie
    /// in the target voxel; ties go to the smaller label. Keeps region shapes and small regions
    /// better than `nearest` when downsampling; falls back to nearest where a target voxel
    /// contains no source centre (upsampling).
    case majority
}

extension Volume where Element == Int32 {
    /// Label map on the grid `grid.withSpacing(spacing)` (same extent and orientation).
    public func resampled(toSpacing spacing: Double, method: LabelResampling = .majority) -> Volume<Int32> {
        let target = grid.withSpacing(spacing)
        switch method {
        case .nearest: return resampled(to: target)
        case .majority: return majorityResampled(to: target) ?? resampled(to: target)
        }
    }

    /// Majority vote onto an axis-aligned target grid; nil when the grids are not axis-aligned.
    func majorityResampled(to target: Grid) -> Volume<Int32>? {
        let map = grid.affine.inverse!.concatenating(target.affine)
        for row in 0..<3 {
            for column in 0..<3 where row != column && abs(map[row, column]) > 1e-9 { return nil }
        }
        // Votes are counted in a dense table indexed by rank among the labels present.
        let labels = Array(Set(voxels)).sorted()
        let rankOf = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, Int32($0)) })
        let ranks = voxels.map { rankOf[$0]! }
        // Per axis and target index: the range of source indices whose centres are in the footprint.
        let footprints: [[ClosedRange<Int>?]] = (0..<3).map { axis in
            let scale = map[axis, axis], offset = map[axis, 3], half = abs(scale) / 2
            return (0..<target.dims[axis]).map { t in
                let centre = scale * Double(t) + offset
                let first = Swift.max(Int((centre - half).rounded(.up)), 0)
                let last = Swift.min(Int((centre + half).rounded(.up)) - 1, dims[axis] - 1)
                return first <= last ? first...last : nil
            }
        }
        var out = [Int32](repeating: 0, count: target.count)
        let nearest = resampled(to: target)
        let (tx, ty) = (target.dims.x, target.dims.y)
        ranks.withUnsafeBufferPointer { rank in
            out.withUnsafeMutableBufferPointer { dst in
                forEachSlab(target.dims.z) { _, slab in
                    var counts = [Int32](repeating: 0, count: labels.count)
                    var touched: [Int32] = []
                    for k in slab {
                        for j in 0..<ty {
                            for i in 0..<tx {
                                let n = i + tx * (j + ty * k)
                                guard let xs = footprints[0][i], let ys = footprints[1][j], let zs = footprints[2][k] else {
                                    dst[n] = nearest.voxels[n]
                                    continue
                                }
                                for z in zs {
                                    for y in ys {
                                        let row = dims.x * (y + dims.y * z)
                                        for x in xs {
                                            let r = Int(rank[row + x])
                                            if counts[r] == 0 { touched.append(Int32(r)) }
                                            counts[r] += 1
                                        }
                                    }
                                }
                                var best = Int32.max, bestCount: Int32 = 0
                                for r in touched {
                                    let c = counts[Int(r)]
                                    if c > bestCount || (c == bestCount && r < best) { best = r; bestCount = c }
                                    counts[Int(r)] = 0
                                }
                                touched.removeAll(keepingCapacity: true)
                                dst[n] = labels[Int(best)]
                            }
                        }
                    }
                }
            }
        }
        return Volume(grid: target, voxels: out)
    }
}
