/// An 8-bit colour.
public struct RGB: Equatable, Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    public static let red = RGB(255, 40, 40), green = RGB(40, 220, 40), blue = RGB(60, 120, 255)
    public static let yellow = RGB(255, 230, 0), cyan = RGB(0, 230, 230), magenta = RGB(240, 0, 240)
}

/// A set of atlas labels drawn as a coloured outline (e.g. a disease or a bias region).
public struct RegionOutline: Sendable {
    public var labels: Set<Int32>
    public var color: RGB
    public init(labels: Set<Int32>, color: RGB) { self.labels = labels; self.color = color }
}

public enum SlicePlane: CaseIterable, Sendable { case axial, coronal, sagittal }

/// Renders a grid of slices — one row per plane (axial, coronal, sagittal), `slicesPerPlane`
/// columns — with label regions outlined. Assumes index axes run roughly along R, A, S
/// (true for MNI templates and grids resampled from them): superior and anterior are drawn
/// up, the subject's right on the right (neurological convention).
public struct SliceMontage: Sendable {
    public var slicesPerPlane: Int
    /// Each voxel becomes a pixelScale × pixelScale block (nearest neighbour).
    public var pixelScale: Int
    /// Intensities mapped to black…white; nil uses the 0.5th–99.5th percentile of non-zero voxels.
    public var window: ClosedRange<Float>?
    public var gap = 2

    public init(slicesPerPlane: Int = 5, pixelScale: Int = 1, window: ClosedRange<Float>? = nil) {
        precondition(slicesPerPlane > 0 && pixelScale > 0)
        self.slicesPerPlane = slicesPerPlane
        self.pixelScale = pixelScale
        self.window = window
    }

    /// Slice positions are spread evenly over the bounding box of the outlined regions when
    /// there are any (so every panel shows them), else over the non-zero part of the volume.
    public func render(_ volume: Volume<Float>, labels: Volume<Int32>? = nil, outlines: [RegionOutline] = []) -> Image8 {
        if let labels { precondition(labels.grid.dims == volume.dims, "labels must be on the volume's grid") }
        let dims = volume.dims
        let levels = window ?? Self.percentileWindow(volume.voxels)
        let outlined = Set(outlines.flatMap(\.labels))
        let box = (labels != nil && !outlined.isEmpty ? labels!.boundingBox(where: { outlined.contains($0) }) : nil)
            ?? volume.boundingBox(where: { $0 != 0 })
            ?? VoxelRegion(lower: .zero, upper: dims &- 1)

        let panelSizes = SlicePlane.allCases.map { panelSize($0, dims) }
        let cellWidth = panelSizes.map(\.width).max()! * pixelScale
        let width = slicesPerPlane * cellWidth + (slicesPerPlane + 1) * gap
        let height = panelSizes.map { $0.height * pixelScale }.reduce(0, +) + 4 * gap
        var image = Image8(width: width, height: height, kind: .rgb)

        var top = gap
        for (row, plane) in SlicePlane.allCases.enumerated() {
            let axis = normalAxis(plane)
            for column in 0..<slicesPerPlane {
                let fraction = Double(column + 1) / Double(slicesPerPlane + 1)
                let slice = box.lower[axis] + Int((fraction * Double(box.upper[axis] - box.lower[axis])).rounded())
                let left = gap + column * (cellWidth + gap)
                drawPanel(plane, slice: slice, volume: volume, labels: labels, outlines: outlines,
                          levels: levels, into: &image, left: left, top: top)
            }
            top += panelSizes[row].height * pixelScale + gap
        }
        return image
    }

    private func normalAxis(_ plane: SlicePlane) -> Int {
        switch plane { case .axial: 2; case .coronal: 1; case .sagittal: 0 }
    }

    private func panelSize(_ plane: SlicePlane, _ dims: SIMD3<Int>) -> (width: Int, height: Int) {
        switch plane {
        case .axial: (dims.x, dims.y)
        case .coronal: (dims.x, dims.z)
        case .sagittal: (dims.y, dims.z)
        }
    }

    /// Voxel shown at panel pixel (u, v), v = 0 at the top.
    private func voxel(_ plane: SlicePlane, slice: Int, u: Int, v: Int, dims: SIMD3<Int>) -> SIMD3<Int> {
        switch plane {
        case .axial: SIMD3(u, dims.y - 1 - v, slice)
        case .coronal: SIMD3(u, slice, dims.z - 1 - v)
        case .sagittal: SIMD3(slice, u, dims.z - 1 - v)
        }
    }

    private func drawPanel(_ plane: SlicePlane, slice: Int, volume: Volume<Float>, labels: Volume<Int32>?,
                           outlines: [RegionOutline], levels: ClosedRange<Float>,
                           into image: inout Image8, left: Int, top: Int) {
        let dims = volume.dims
        let (w, h) = panelSize(plane, dims)
        let span = Swift.max(levels.upperBound - levels.lowerBound, .leastNormalMagnitude)
        func region(_ u: Int, _ v: Int) -> Int32? {
            guard let labels, u >= 0, v >= 0, u < w, v < h else { return nil }
            return labels.voxels[volume.grid.index(voxel(plane, slice: slice, u: u, v: v, dims: dims))]
        }
        for v in 0..<h {
            for u in 0..<w {
                let p = voxel(plane, slice: slice, u: u, v: v, dims: dims)
                let value = volume.voxels[volume.grid.index(p)]
                let gray = UInt8(Swift.min(Swift.max((value - levels.lowerBound) / span, 0), 1) * 255)
                var color = RGB(gray, gray, gray)
                if let label = region(u, v) {
                    // Later outlines are drawn over earlier ones.
                    for outline in outlines where outline.labels.contains(label) {
                        let neighbours = [region(u - 1, v), region(u + 1, v), region(u, v - 1), region(u, v + 1)]
                        if neighbours.contains(where: { $0 == nil || !outline.labels.contains($0!) }) { color = outline.color }
                    }
                }
                fill(&image, x: left + u * pixelScale, y: top + v * pixelScale, color: color)
            }
        }
    }

    private func fill(_ image: inout Image8, x: Int, y: Int, color: RGB) {
        for dy in 0..<pixelScale {
            for dx in 0..<pixelScale {
                let o = 3 * ((y + dy) * image.width + x + dx)
                image.pixels[o] = color.r
                image.pixels[o + 1] = color.g
                image.pixels[o + 2] = color.b
            }
        }
    }

    /// 0.5th–99.5th percentile of the non-zero voxels (sampled for speed).
    static func percentileWindow(_ values: [Float]) -> ClosedRange<Float> {
        let stride = Swift.max(1, values.count / 200_000)
        let sample = Swift.stride(from: 0, to: values.count, by: stride).map { values[$0] }.filter { $0 != 0 && $0.isFinite }.sorted()
        guard let first = sample.first else { return 0...1 }
        let low = sample[Int(Double(sample.count - 1) * 0.005)], high = sample[Int(Double(sample.count - 1) * 0.995)]
        return high > low ? low...high : first...(first + 1)
    }
}

extension Grid {
    @inline(__always) func index(_ p: SIMD3<Int>) -> Int { index(p.x, p.y, p.z) }
}
