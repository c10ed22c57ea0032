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
    /// Per region effect (disease, then each morphological bias): the
    /// inward-pointing unit field; `strength × coefficient` times it moves
    /// the region's boundary inward by that many mm on average (expansion).
    /// On the `effectBox` part of the control grid.
    public let diseaseDirection: VectorField
    public let biasDirections: [Int: VectorField]
    /// The control-grid box holding every regional effect and anything its
    /// displacement can reach: effects are exponentiated there only.
    public let effectBox: VoxelRegion

    /// Regional intensity biases: the region's smooth weight (0…1), image grid.
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
        let diseaseRegion = try anatomy.region(config.disease.region)
        let disease = try Self.inwardDirection(anatomy, diseaseRegion, edgeMM: config.disease.edgeMM,
                                               controlGrid: controlGrid)
        var directions: [Int: VectorField] = [:]
        var weights: [Int: Volume<Float>] = [:]
        for (index, bias) in config.biases.enumerated() {
            switch bias.effect {
            case .morphological(let regionName, _, _, _, let edge):
                let region = try anatomy.region(regionName)
                guard region != diseaseRegion else {
                    throw AnatomyError("bias \(bias.name) and the disease are both in \(region.name)")
                }
                directions[index] = try Self.inwardDirection(anatomy, region, edgeMM: edge, controlGrid: controlGrid)
            case .regionalIntensity(let regionName, _, let edge):
                let region = try anatomy.region(regionName)
                guard region != diseaseRegion else {
                    throw AnatomyError("bias \(bias.name) and the disease are both in \(region.name)")
                }
                weights[index] = try Self.smoothWeight(anatomy, region, edgeMM: edge)
            case .globalContrast:
                break
            }
        }
        intensityWeights = weights
        let box = Self.effectBox(config, disease: disease, biases: directions, grid: controlGrid)
        effectBox = box
        diseaseDirection = disease.cropped(to: box)
        biasDirections = directions.mapValues { $0.cropped(to: box) }
        let control = controlGrid
        siteFieldPatterns = config.sites.enumerated().map { index, site in
            site.scanner.biasField == 0 ? nil : Self.sitePattern(seed: config.seed, site: index, grid: control)
        }
    }

    /// The box around the effects' support, grown by the largest
    /// displacement a sample could get (coefficients up to 6 standard
    /// deviations out), so the exponential is the same as on the whole grid.
    static func effectBox(_ config: CohortConfig, disease: VectorField, biases: [Int: VectorField],
                          grid: Grid) -> VoxelRegion {
        func reach(_ strength: Double, _ coefficient: Coefficient, _ field: VectorField) -> Double {
            strength * (abs(coefficient.mean) + 6 * coefficient.deviation) * Double(field.maxNorm)
        }
        var displacement = max(reach(config.disease.strengthMM, config.disease.coefficient.disease, disease),
                               reach(config.disease.strengthMM, config.disease.coefficient.healthy, disease))
        var fields = [disease]
        for (index, field) in biases {
            if case .morphological(_, _, let strength, let coefficient, _) = config.biases[index].effect {
                displacement += reach(strength, coefficient, field)
                fields.append(field)
            }
        }
        let margin = Int((displacement / grid.spacing.min()).rounded(.up)) + 2
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
    static func inwardDirection(_ anatomy: Anatomy, _ region: Region, edgeMM: Double,
                                controlGrid: Grid) throws -> VectorField {
        let mask = try anatomy.mask(region)
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
        let field = gradient.scaled(by: Float(area / volumeChangePerUnit))
        return controlGrid == anatomy.grid ? field : field.resampled(to: controlGrid)
    }

    /// The region's mask smoothed over `edgeMM`, rescaled to peak 1.
    static func smoothWeight(_ anatomy: Anatomy, _ region: Region, edgeMM: Double) throws -> Volume<Float> {
        let mask = try anatomy.mask(region)
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
