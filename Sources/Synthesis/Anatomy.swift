import Foundation
import Limits
import Volumes
import YAMLConfig

public struct AnatomyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The template and its atlas at the experiment's grid: resampled to the
/// voxel size (anti-aliased; labels by nearest neighbour) and cropped to the
/// brain's bounding box plus a margin.
public struct Anatomy: Sendable {
    public let image: Volume<Float>
    public let labels: Volume<Int32>
    public let names: LabelNames
    public let description: String

    public var grid: Grid { image.grid }

    public init(image: Volume<Float>, labels: Volume<Int32>, names: LabelNames, description: String) {
        self.image = image
        self.labels = labels
        self.names = names
        self.description = description
    }

    /// Loads the configured template (Colin27 + AAL by default).
    public static func load(_ settings: TemplateSettings) throws -> Anatomy {
        let paths: (image: String, labels: String, names: String)
        let description: String
        if let image = settings.image, let labels = settings.labels, let names = settings.names {
            paths = (image, labels, names)
            description = "\((image as NSString).lastPathComponent) + \((labels as NSString).lastPathComponent)"
        } else {
            paths = try DefaultTemplate.paths()
            description = "Colin27 (ch2bet) + AAL, mricron-data"
        }
        let image = try NIfTI.readVolume(path: paths.image)
        let labels = try NIfTI.readLabels(path: paths.labels)
        let names = try LabelNames(contentsOf: paths.names)
        let whole = try prepare(image: image, labels: labels, names: names, voxelMM: settings.voxelMM,
                                marginMM: settings.marginMM, description: description,
                                imagePath: paths.image, labelPath: paths.labels)
        return settings.cropTo.isEmpty ? whole : try whole.cropped(around: settings.cropTo, marginMM: settings.marginMM)
    }

    /// Resamples and crops a template + label map already in memory.
    public static func prepare(image: Volume<Float>, labels: Volume<Int32>, names: LabelNames, voxelMM: Double,
                               marginMM: Double, description: String, imagePath: String = "the template image",
                               labelPath: String = "the label map") throws -> Anatomy {
        guard labels.grid.dims == image.grid.dims,
              labels.grid.affine.maxDifference(to: image.grid.affine) < 1e-3 else {
            throw AnatomyError("\(labelPath) is on another grid (\(labels.grid.dims.x)×\(labels.grid.dims.y)×\(labels.grid.dims.z)) "
                + "than the template (\(image.grid.dims.x)×\(image.grid.dims.y)×\(image.grid.dims.z)): resample it onto the template first")
        }
        guard image.voxels.allSatisfy({ $0.isFinite }) else {
            throw AnatomyError("the template image contains NaN or infinite values")
        }
        try checkGeometry(image.grid, voxelMM: voxelMM, imagePath: imagePath)
        let resampledImage = image.resampled(toSpacing: voxelMM)
        let resampledLabels = labels.resampled(toSpacing: voxelMM)
        guard let box = resampledImage.nonzeroBoundingBox(margin: marginMM) else {
            throw AnatomyError("the template image is empty (all zero)")
        }
        return Anatomy(image: resampledImage.cropped(to: box), labels: resampledLabels.cropped(to: box),
                       names: names, description: description)
    }

    /// Bytes per voxel of the experiment's grid while samples are made
    /// (template, labels, fields, warps): `simba bench generate` peaks at
    /// 239 MiB for Colin27 at 1 mm (152×188×160 voxels), about 52.
    static let generationBytesPerVoxel = 64
    /// Voxel sizes a brain template can have (a larger one is usually an
    /// affine in the wrong units).
    static let templateVoxelMM = 0.05...50.0

    /// Refuses a template whose voxel size is no brain's, or whose grid at
    /// `voxelMM` would not fit this node's memory, before resampling it.
    static func checkGeometry(_ grid: Grid, voxelMM: Double, imagePath: String) throws {
        let spacing = grid.spacing
        guard (0..<3).allSatisfy({ templateVoxelMM.contains(spacing[$0]) }) else {
            throw AnatomyError("\(imagePath): voxel size \(spacing.x)×\(spacing.y)×\(spacing.z) mm is outside "
                + "\(templateVoxelMM.lowerBound)–\(templateVoxelMM.upperBound) mm: is its affine (sform/qform, pixdim) in mm?")
        }
        let dims = SIMD3<Double>(grid.dims) * spacing / voxelMM
        let voxels = dims.x * dims.y * dims.z
        let bytes = voxels * Double(generationBytesPerVoxel)
        try MachineMemory.require(bytes < 9e18 ? Int(bytes) : nil,
                                  for: "the template at \(voxelMM) mm (\(Int(dims.x))×\(Int(dims.y))×\(Int(dims.z)) voxels)",
                                  remedy: "use a larger template.voxel_mm or a smaller template")
    }

    /// The part of the anatomy around some regions: their joint bounding
    /// box grown by `marginMM`.
    public func cropped(around regionNames: [String], marginMM: Double) throws -> Anatomy {
        let wanted = Set(try regionNames.map { try region($0).label })
        guard let box = labels.boundingBox(where: { wanted.contains($0) }) else {
            throw AnatomyError("regions \(regionNames.joined(separator: ", ")) have no voxels at this resolution")
        }
        let margin = SIMD3<Int>((SIMD3(repeating: marginMM) / grid.spacing).rounded(.up))
        let window = VoxelRegion(lower: pointwiseMax(box.lower &- margin, .zero),
                                 upper: pointwiseMin(box.upper &+ margin, grid.dims &- 1))
        return Anatomy(image: image.cropped(to: window), labels: labels.cropped(to: window), names: names,
                       description: description + ", cropped around " + regionNames.joined(separator: " + "))
    }

    /// An atlas region named by its name (`Insula_R`) or number (`30`).
    public func region(_ key: String) throws -> Region {
        if let number = Int32(key), let name = names[number] {
            return Region(label: number, name: name)
        }
        if let number = names.label(named: key) { return Region(label: number, name: key) }
        if let match = names.names.first(where: { $0.value.lowercased() == key.lowercased() }) {
            return Region(label: match.key, name: match.value)
        }
        let wanted = key.lowercased()
        let ranked: [(distance: Int, name: String)] = names.names.values.map { name in
            (editDistance(name.lowercased(), wanted), name)
        }
        let suggestions = ranked.sorted { $0.distance != $1.distance ? $0.distance < $1.distance : $0.name < $1.name }
            .prefix(3).map(\.name)
        throw AnatomyError("unknown region '\(key)' (closest: \(suggestions.joined(separator: ", ")); "
            + "'simba regions' lists them)")
    }

    /// The region's voxels as a 0/1 mask; refuses a region with no voxels at this resolution.
    public func mask(_ region: Region) throws -> Volume<Float> {
        let mask = labels.map { $0 == region.label ? Float(1) : 0 }
        guard mask.voxels.contains(1) else {
            throw AnatomyError("region \(region.name) has no voxels at \(grid.spacing.x) mm: use a finer voxel size or a larger region")
        }
        return mask
    }

    /// Volume (mL) and centroid (world mm) of every labelled region present.
    public func regionStatistics() -> [RegionStatistics] {
        var count: [Int32: Int] = [:]
        var sum: [Int32: SIMD3<Double>] = [:]
        let dims = grid.dims
        var index = 0
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                for i in 0..<dims.x {
                    let label = labels.voxels[index]
                    index += 1
                    guard label != 0 else { continue }
                    count[label, default: 0] += 1
                    sum[label, default: .zero] += SIMD3(Double(i), Double(j), Double(k))
                }
            }
        }
        let voxelML = abs(grid.affine.determinant) / 1000
        return count.keys.sorted().map { label in
            let centroidVoxel = sum[label]! / Double(count[label]!)
            return RegionStatistics(region: Region(label: label, name: names[label] ?? "label \(label)"),
                                    voxels: count[label]!, volumeML: Double(count[label]!) * voxelML,
                                    centroidMM: grid.world(voxel: centroidVoxel))
        }
    }

    /// Distance between two regions: between centroids and between their
    /// closest voxels (0 when they touch), in mm.
    public func distance(_ a: Region, _ b: Region) throws -> (centroidMM: Double, closestMM: Double) {
        let statistics = regionStatistics()
        guard let first = statistics.first(where: { $0.region.label == a.label }),
              let second = statistics.first(where: { $0.region.label == b.label }) else {
            throw AnatomyError("region \(a.name) or \(b.name) has no voxels at this resolution")
        }
        let pointsA = boundaryPoints(of: a), pointsB = boundaryPoints(of: b)
        var closest = Double.infinity
        for p in pointsA {
            for q in pointsB {
                let d = p - q
                closest = min(closest, (d * d).sum())
            }
        }
        let centroidGap = first.centroidMM - second.centroidMM
        let voxelDiagonal = (grid.spacing * grid.spacing).sum().squareRoot()
        // Touching voxels are one voxel apart centre to centre: count that as 0.
        let gap = max(0, closest.squareRoot() - voxelDiagonal)
        return ((centroidGap * centroidGap).sum().squareRoot(), gap)
    }

    /// World positions of the region's boundary voxels (a 6-neighbour
    /// outside the region): the closest points of two regions lie there.
    private func boundaryPoints(of region: Region) -> [SIMD3<Double>] {
        let dims = grid.dims
        let strides = [1, dims.x, dims.x * dims.y]
        var points: [SIMD3<Double>] = []
        var index = 0
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                for i in 0..<dims.x {
                    defer { index += 1 }
                    guard labels.voxels[index] == region.label else { continue }
                    let position = [i, j, k]
                    let onBoundary = (0..<3).contains { axis in
                        (position[axis] == 0 || labels.voxels[index - strides[axis]] != region.label)
                            || (position[axis] == dims[axis] - 1 || labels.voxels[index + strides[axis]] != region.label)
                    }
                    if onBoundary { points.append(grid.world(voxel: SIMD3(Double(i), Double(j), Double(k)))) }
                }
            }
        }
        return points
    }
}

public struct Region: Equatable, Hashable, Sendable {
    public let label: Int32
    public let name: String
}

public struct RegionStatistics: Sendable {
    public let region: Region
    public let voxels: Int
    public let volumeML: Double
    public let centroidMM: SIMD3<Double>
}

