/// Voxel values on a `Grid`, flat storage with x fastest: index = x + nx*(y + ny*z).
/// Intensities use `Volume<Float>`, label maps `Volume<Int32>`.
public struct Volume<Element> {
    public let grid: Grid
    /// Kernels read this through unsafe pointers sized by `grid`, so its count is pinned.
    /// (A didSet that ignores oldValue still lets element writes happen in place.)
    public var voxels: [Element] {
        didSet { precondition(voxels.count == grid.count, "voxel count must stay \(grid.count)") }
    }

    public init(grid: Grid, voxels: [Element]) {
        precondition(voxels.count == grid.count, "voxel count \(voxels.count) does not match grid \(grid.dims)")
        self.grid = grid
        self.voxels = voxels
    }

    public init(grid: Grid, repeating value: Element) {
        self.init(grid: grid, voxels: Array(repeating: value, count: grid.count))
    }

    /// Fills voxel (x, y, z) with `value(x, y, z)`.
    public init(grid: Grid, _ value: (Int, Int, Int) -> Element) {
        var voxels: [Element] = []
        voxels.reserveCapacity(grid.count)
        for z in 0..<grid.dims.z {
            for y in 0..<grid.dims.y {
                for x in 0..<grid.dims.x { voxels.append(value(x, y, z)) }
            }
        }
        self.init(grid: grid, voxels: voxels)
    }

    public var dims: SIMD3<Int> { grid.dims }

    public subscript(x: Int, y: Int, z: Int) -> Element {
        get { voxels[grid.index(x, y, z)] }
        set { voxels[grid.index(x, y, z)] = newValue }
    }

    public func map<T>(_ transform: (Element) throws -> T) rethrows -> Volume<T> {
        Volume<T>(grid: grid, voxels: try voxels.map(transform))
    }

    /// Values of the voxels inside `region`, on the cropped grid.
    public func cropped(to region: VoxelRegion) -> Volume<Element> {
        var out: [Element] = []
        out.reserveCapacity(region.size.x * region.size.y * region.size.z)
        for z in region.lower.z...region.upper.z {
            for y in region.lower.y...region.upper.y {
                let row = grid.index(region.lower.x, y, z)
                out.append(contentsOf: voxels[row..<(row + region.size.x)])
            }
        }
        return Volume(grid: grid.cropped(to: region), voxels: out)
    }

    /// Smallest box containing every voxel where `isForeground` holds, nil if none does.
    public func boundingBox(where isForeground: (Element) -> Bool) -> VoxelRegion? {
        var lower = dims, upper = SIMD3<Int>(repeating: -1)
        var i = 0
        for z in 0..<dims.z {
            for y in 0..<dims.y {
                for x in 0..<dims.x {
                    if isForeground(voxels[i]) {
                        let p = SIMD3(x, y, z)
                        lower = pointwiseMin(lower, p)
                        upper = pointwiseMax(upper, p)
                    }
                    i += 1
                }
            }
        }
        return upper.x < 0 ? nil : VoxelRegion(lower: lower, upper: upper)
    }
}

extension Volume: Sendable where Element: Sendable {}
extension Volume: Equatable where Element: Equatable {}

extension Volume where Element: AdditiveArithmetic {
    /// Bounding box of non-zero voxels grown by `margin` mm on every side (clamped to the grid).
    public func nonzeroBoundingBox(margin: Double) -> VoxelRegion? {
        guard let box = boundingBox(where: { $0 != .zero }) else { return nil }
        let spacing = grid.spacing
        let pad = SIMD3<Int>(Int((margin / spacing.x).rounded(.up)), Int((margin / spacing.y).rounded(.up)),
                             Int((margin / spacing.z).rounded(.up)))
        return VoxelRegion(lower: pointwiseMax(box.lower &- pad, .zero),
                           upper: pointwiseMin(box.upper &+ pad, dims &- 1))
    }
}
