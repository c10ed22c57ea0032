import Network

/// Shrinks a block's activation [X, Y, Z, C] (one image, channels last)
/// by averaging each channel over f×f×f windows, so that a probe of many
/// images at full resolution fits in memory: at 1 mm SimBA's block 1 holds
/// 23 M values per image, tens of GB for a test set. Windows at the far
/// edges average the cells they have. Factor 1 is the activation itself.
public struct ActivationPooling: Equatable, Sendable {
    public let grid: Grid3
    public let channels: Int
    public let factor: Int

    public init(grid: Grid3, channels: Int, factor: Int) {
        precondition(factor >= 1, "pooling factor \(factor) below 1")
        self.grid = grid; self.channels = channels; self.factor = factor
    }

    /// The smallest factor whose pooled activations of `images` images fit
    /// in `budget` floats (the whole grid averaged to one cell, if nothing smaller fits).
    public static func fitting(grid: Grid3, channels: Int, images: Int, budget: Int) -> ActivationPooling {
        var factor = 1
        let largest = max(grid.x, grid.y, grid.z)
        while factor < largest
            && ActivationPooling(grid: grid, channels: channels, factor: factor).width.multipliedReportingOverflow(by: images)
                .partialValue > budget {
            factor += 1
        }
        return ActivationPooling(grid: grid, channels: channels, factor: factor)
    }

    public var pooledGrid: Grid3 {
        Grid3((grid.x + factor - 1) / factor, (grid.y + factor - 1) / factor, (grid.z + factor - 1) / factor)
    }

    /// Features per image after pooling.
    public var width: Int { pooledGrid.voxels * channels }

    /// Writes the pooled activation of one image (`width` floats, channels last) to `output`.
    public func pool(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        guard factor > 1 else { output.update(from: input, count: grid.voxels * channels); return }
        let out = pooledGrid
        output.update(repeating: 0, count: width)
        for x in 0..<grid.x { for y in 0..<grid.y { for z in 0..<grid.z {
            let cell = ((x / factor * out.y + y / factor) * out.z + z / factor) * channels
            let source = input + ((x * grid.y + y) * grid.z + z) * channels
            for c in 0..<channels { output[cell + c] += source[c] }
        } } }
        for px in 0..<out.x { for py in 0..<out.y { for pz in 0..<out.z {
            let cells = (min(grid.x, (px + 1) * factor) - px * factor) * (min(grid.y, (py + 1) * factor) - py * factor)
                * (min(grid.z, (pz + 1) * factor) - pz * factor)
            let cell = ((px * out.y + py) * out.z + pz) * channels
            for c in 0..<channels { output[cell + c] /= Float(cells) }
        } } }
    }
}
