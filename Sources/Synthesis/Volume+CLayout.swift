import Volumes

/// HDF5 files store volumes as [X, Y, Z] arrays in C order (z varies
/// fastest), the order h5py and nibabel users index them in; `Volume`
/// keeps x fastest (NIfTI's order). These convert between the two.
extension Volume {
    /// The voxels in C order: index ((x · Y) + y) · Z + z.
    public func cOrderVoxels() -> [Element] {
        let dims = grid.dims
        guard let first = voxels.first else { return [] }
        var out = [Element](repeating: first, count: voxels.count)
        var source = 0
        for z in 0..<dims.z {
            for y in 0..<dims.y {
                var target = y * dims.z + z
                for _ in 0..<dims.x {
                    out[target] = voxels[source]
                    source += 1
                    target += dims.y * dims.z
                }
            }
        }
        return out
    }

    /// A volume from C-order voxels on `grid`.
    public init(grid: Grid, cOrder voxels: [Element]) {
        let dims = grid.dims
        precondition(voxels.count == grid.count, "voxel count does not match the grid")
        var out = voxels
        var target = 0
        for z in 0..<dims.z {
            for y in 0..<dims.y {
                var source = y * dims.z + z
                for _ in 0..<dims.x {
                    out[target] = voxels[source]
                    target += 1
                    source += dims.y * dims.z
                }
            }
        }
        self.init(grid: grid, voxels: out)
    }

    /// [X, Y, Z], the shape of the C-order array.
    public var cShape: [Int] { [grid.dims.x, grid.dims.y, grid.dims.z] }
}

extension Anatomy {
    /// The template as stored in a dataset file.
    public func snapshot(voxelMM: Double) -> TemplateSnapshot {
        let affine = grid.affine
        let rows: [SIMD4<Double>] = [affine.row0, affine.row1, affine.row2, SIMD4(0, 0, 0, 1)]
        let matrix: [Double] = rows.flatMap { row in (0..<4).map { row[$0] } }
        let labelNumbers = names.labels
        return TemplateSnapshot(shape: image.cShape, image: image.cOrderVoxels(), labels: labels.cOrderVoxels(),
                                labelNumbers: labelNumbers, labelNames: labelNumbers.map { names[$0] ?? "" },
                                affine: matrix, voxelMM: voxelMM, description: description)
    }
}
