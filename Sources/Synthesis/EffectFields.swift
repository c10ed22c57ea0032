import Foundation
import Randomness
import Volumes

/// The per-cohort fields every sample is assembled from: computed once per
/// rank, then combined with each sample's coefficients.
///
/// Velocity fields live on a control grid of about 2 mm (the image grid when
/// it is coarser): they are smooth, so exponentiating them there and
/// upsampling the displacement loses little and saves most of the work.
public struct EffectFields: Sendable {
    public let imageGrid: Grid
    public let controlGrid: Grid
    /// Grid of the subject's deformation: coarser still (its modes are
    /// smoother than any regional effect); upsampled to the control grid.
    public let subjectGrid: Grid
    /// K subject modes, each with peak displacement 1 mm, on `subjectGrid`.
    public let subjectModes: [VectorField]
    /// The regional effects: the disease, then each regional bias.
    public let regional: [RegionalEffect]
    /// Whether each regional effect keeps out of the others' zones (the
    /// default), or the effects are coupled (`effects.allow_leakage`): their
    /// untapered fields summed, as in earlier versions.
    public let confined: Bool
    /// Each morphological effect's inward unit field (by index into
    /// `regional`), tapered when confined: `strength × coefficient` times the
    /// untapered field moves the region's boundary inward by that many mm on
    /// average (expansion). On the `effectBox` part of the control grid.
    public let directions: [Int: VectorField]
    /// The control-grid box holding every regional effect and anything its
    /// displacement can reach: effects are exponentiated there only.
    public let effectBox: VoxelRegion
    /// Regional intensity biases (by bias index): the region's smooth weight
    /// (0…1), image grid.
    public let intensityWeights: [Int: Volume<Float>]
    /// Each site's smooth bias-field pattern (peak 1), control grid; nil when neutral.
    public let siteFieldPatterns: [Volume<Float>?]

    public init(config: CohortConfig, anatomy: Anatomy) throws {
        imageGrid = anatomy.grid
        let factor = max(1, Int((2.0 / anatomy.grid.spacing.min()).rounded()))
        controlGrid = anatomy.grid.coarsened(by: factor)
        let subjectFactor = max(1, Int((config.subject.smoothnessMM / 4 / controlGrid.spacing.min()).rounded()))
        subjectGrid = controlGrid.coarsened(by: subjectFactor)
        subjectModes = Self.subjectModes(config, grid: subjectGrid)
        let effects = config.regionalEffects
        regional = effects
        confined = !config.effects.allowLeakage
        let regions = try regional.map { try anatomy.region($0.regionName) }
        for (index, region) in regions.enumerated() {
            if let other = regions.prefix(index).firstIndex(of: region) {
                throw AnatomyError("\(regional[other].description) and \(regional[index].description) are both in \(region.name): "
                    + "each effect needs a region of its own")
            }
        }
        let masks = try regions.map { try anatomy.mask($0) }
        let halfControlVoxel = controlGrid.spacing.max() / 2
        let zones = confined && regional.count > 1
            ? EffectZones(regions: masks, bandsMM: effects.map { max($0.extentMM, halfControlVoxel) }) : nil
        var fields: [Int: VectorField] = [:]
        var weights: [Int: Volume<Float>] = [:]
        for (index, effect) in regional.enumerated() {
            // No steeper than the field's own edge, nor than two voxels.
            let taper = zones?.taper(index, widthMM: max(effect.edgeMM, 2 * anatomy.grid.spacing.min()))
            switch effect.kind {
            case .morphological:
                let field = try Self.inwardDirection(anatomy, regions[index], mask: masks[index], edgeMM: effect.edgeMM)
                let tapered = taper.map { field.weighted(by: $0) } ?? field
                fields[index] = tapered.grid == controlGrid ? tapered : tapered.resampled(to: controlGrid)
            case .intensity:
                let weight = Self.smoothWeight(masks[index], edgeMM: effect.edgeMM)
                weights[effect.biasIndex!] = taper.map { taper in
                    Volume(grid: weight.grid, voxels: zip(weight.voxels, taper.voxels).map { $0 * $1 })
                } ?? weight
            }
        }
        intensityWeights = weights
        let order = fields.keys.sorted()
        let displacement = order.map { effects[$0].reachMM(maxNorm: fields[$0]!.maxNorm) }.reduce(0, +)
        let box = Self.box(around: order.map { fields[$0]! }, displacementMM: displacement, grid: controlGrid)
        effectBox = box
        directions = fields.mapValues { $0.cropped(to: box) }
        let control = controlGrid
        siteFieldPatterns = config.sites.enumerated().map { index, site in
            site.scanner.biasField == 0 ? nil : Self.sitePattern(seed: config.seed, site: index, grid: control)
        }
    }

    /// The box around the fields' support, grown by the largest
    /// displacement a sample could get, so the exponential there is the
    /// same as on the whole grid.
    static func box(around fields: [VectorField], displacementMM: Double, grid: Grid) -> VoxelRegion {
        let margin = Int((displacementMM / grid.spacing.min()).rounded(.up)) + 2
        let whole = VoxelRegion(lower: .zero, upper: grid.dims &- 1)
        let boxes = fields.compactMap { $0.support(above: 0, margin: margin) }
        guard let first = boxes.first else { return whole }
        return boxes.dropFirst().reduce(first) { box, next in
            VoxelRegion(lower: pointwiseMin(box.lower, next.lower), upper: pointwiseMax(box.upper, next.upper))
        }
    }

    /// Smooth random deformation modes with peak 1 mm. Each is white noise
    /// smoothed at the configured scale (on a grid coarse enough for that
    /// scale, then interpolated), a fixed function of the seed and mode.
    static func subjectModes(_ config: CohortConfig, grid: Grid) -> [VectorField] {
        let smoothness = config.subject.smoothnessMM
        let factor = max(1, Int((smoothness / 4 / grid.spacing.min()).rounded(.down)))
        let modeGrid = grid.coarsened(by: factor)
        return (0..<config.subject.modes).map { mode in
            var generator = SeededGenerator(seed: config.seed, stream: UInt64(mode), "subject-mode")
            let components = (0..<3).map { _ in (0..<modeGrid.count).map { _ in Float(generator.normal()) } }
            let noise = VectorField(grid: modeGrid, x: components[0], y: components[1], z: components[2])
            let smooth = noise.smoothed(sigmaMillimetres: smoothness).resampled(to: grid)
            let peak = smooth.maxNorm
            return peak > 0 ? smooth.scaled(by: 1 / peak) : smooth
        }
    }

    /// The inward unit field of a region: the gradient g of its mask smoothed
    /// over `edgeMM`, scaled so that `s` times it moves the boundary inward
    /// by s mm on average, i.e. grows the region by s × its surface area
    /// (pull-back warps: out(x) = in(x + d)). The surface area is the
    /// coarea integral ∫|∇m| of the mask smoothed by one voxel (enough to
    /// remove the staircase, little enough to keep its level sets near the
    /// true surface); the region's volume change per unit of g is measured
    /// by warping its mask a little along g.
    /// On the image grid.
    static func inwardDirection(_ anatomy: Anatomy, _ region: Region, mask: Volume<Float>,
                                edgeMM: Double) throws -> VectorField {
        let gradient = mask.smoothed(sigmaMillimetres: edgeMM).gradient()
        let voxelVolume = abs(anatomy.grid.affine.determinant)
        let surface = mask.smoothed(sigmaMillimetres: anatomy.grid.spacing.min()).gradient()
        var area = 0.0
        for n in surface.x.indices {
            let norm = surface.x[n] * surface.x[n] + surface.y[n] * surface.y[n] + surface.z[n] * surface.z[n]
            area += Double(norm.squareRoot()) * voxelVolume
        }
        // A step of a tenth of a voxel at the steepest point: first order, yet far above rounding.
        let step = 0.1 * anatomy.grid.spacing.min() / Double(max(gradient.maxNorm, 1e-12))
        let grown = mask.warped(by: gradient.scaled(by: Float(step))).voxels.reduce(0, +)
        let volumeChangePerUnit = (Double(grown) - Double(mask.voxels.reduce(0, +))) * voxelVolume / step
        guard area > 0, volumeChangePerUnit > 0 else {
            throw AnatomyError("region \(region.name) is too small to deform at \(anatomy.grid.spacing.x) mm")
        }
        return gradient.scaled(by: Float(area / volumeChangePerUnit))
    }

    /// The region's mask smoothed over `edgeMM`, rescaled to peak 1.
    static func smoothWeight(_ mask: Volume<Float>, edgeMM: Double) -> Volume<Float> {
        let smooth = edgeMM > 0 ? mask.smoothed(sigmaMillimetres: edgeMM) : mask
        let peak = smooth.voxels.max() ?? 1
        return smooth.map { $0 / peak }
    }

    /// A smooth random pattern in [-1, 1] for a site's multiplicative bias field.
    static func sitePattern(seed: UInt64, site: Int, grid: Grid) -> Volume<Float> {
        var generator = SeededGenerator(seed: seed, stream: UInt64(site), "site-bias-field")
        let coarse = grid.coarsened(by: max(1, Int((16 / grid.spacing.min()).rounded(.down))))
        let noise = Volume(grid: coarse, voxels: (0..<coarse.count).map { _ in Float(generator.normal()) })
        let smooth = noise.smoothed(sigmaMillimetres: 40).resampled(to: grid, outside: .nearestEdge)
        let peak = smooth.voxels.map(abs).max() ?? 1
        return smooth.map { $0 / max(peak, 1e-12) }
    }
}

