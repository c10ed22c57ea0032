import Volumes

/// One leakage a sample records: how much effect `from` changed the region
/// of effect `into` (indices into `CohortConfig.regionalEffects`).
public struct LeakagePair: Equatable, Sendable {
    public enum Unit: String, Sendable {
        /// The region's volume change (mm³) caused by a morphological effect.
        case cubicMillimetres = "mm3"
        /// The mean relative intensity change an intensity effect makes
        /// inside the region (0.01: 1% brighter).
        case relativeIntensity = "relative intensity"
    }

    public let from: Int
    public let into: Int
    public let unit: Unit

    /// Every ordered pair of two different regional effects.
    public static func all(_ effects: [RegionalEffect]) -> [LeakagePair] {
        effects.indices.flatMap { from in
            effects.indices.filter { $0 != from }.map { into in
                LeakagePair(from: from, into: into,
                            unit: effects[from].kind == .morphological ? .cubicMillimetres : .relativeIntensity)
            }
        }
    }
}

/// The regional effects' displacement of one sample on the control grid
/// (template space), and the same with one effect left out.
struct EffectMaps {
    let combined: VectorField
    let without: (Int) -> VectorField
}

/// Measures one sample's leakage between regional effects on the control
/// grid, in template space (the subject's deformation, common to every
/// effect, is left out). A morphological effect's leakage into a region is
/// the region's volume with all the sample's effects minus its volume
/// without that effect (volumes of the region's mask pulled back through
/// the displacement, with partial voxels); an intensity effect's is the
/// mean relative change it makes inside the region where the region lies
/// after the sample's displacement.
struct LeakageMeter: Sendable {
    let effects: [RegionalEffect]
    let pairs: [LeakagePair]
    /// Each regional effect's region as a 0…1 mask on the control grid.
    let masks: [Volume<Float>]
    /// Intensity effects (by index into `effects`): relative change × weight, control grid.
    let changes: [Int: Volume<Float>]
    let voxelVolume: Double

    init(effects: [RegionalEffect], anatomy: Anatomy, fields: EffectFields) throws {
        self.effects = effects
        pairs = LeakagePair.all(effects)
        let grid = fields.controlGrid
        masks = try effects.map { effect in
            let mask = try anatomy.mask(try anatomy.region(effect.regionName))
            return mask.grid == grid ? mask : mask.resampled(to: grid)
        }
        var changes: [Int: Volume<Float>] = [:]
        for (index, effect) in effects.enumerated() where effect.kind == .intensity {
            guard let bias = effect.biasIndex, let weight = fields.intensityWeights[bias] else { continue }
            let onGrid = weight.grid == grid ? weight : weight.resampled(to: grid)
            changes[index] = onGrid.map { $0 * Float(effect.signedStrength) }
        }
        self.changes = changes
        voxelVolume = abs(grid.affine.determinant)
    }

    /// The region's volume (mm³) after the displacement `map`.
    func volume(_ region: Int, under map: VectorField) -> Double {
        masks[region].warped(by: map).voxels.reduce(0.0) { $0 + Double($1) } * voxelVolume
    }

    /// One value per pair; 0 for pairs whose source is not among `active`.
    func measure(_ maps: EffectMaps, active: Set<Int>) -> [Double] {
        var withAll: [Int: Double] = [:]
        var leftOut: [Int: VectorField] = [:]
        var warpedMasks: [Int: Volume<Float>] = [:]
        return pairs.map { pair in
            guard active.contains(pair.from) else { return 0 }
            switch pair.unit {
            case .cubicMillimetres:
                if withAll[pair.into] == nil { withAll[pair.into] = volume(pair.into, under: maps.combined) }
                if leftOut[pair.from] == nil { leftOut[pair.from] = maps.without(pair.from) }
                return withAll[pair.into]! - volume(pair.into, under: leftOut[pair.from]!)
            case .relativeIntensity:
                guard let change = changes[pair.from] else { return 0 }
                if warpedMasks[pair.into] == nil { warpedMasks[pair.into] = masks[pair.into].warped(by: maps.combined) }
                let mask = warpedMasks[pair.into]!.voxels
                let moved = change.warped(by: maps.combined).voxels
                var weighted = 0.0, total = 0.0
                for n in mask.indices {
                    weighted += Double(mask[n]) * Double(moved[n])
                    total += Double(mask[n])
                }
                return total > 0 ? weighted / total : 0
            }
        }
    }
}

/// Confined effects that still change each other's regions beyond the tolerance.
public struct LeakageError: Error, CustomStringConvertible {
    public let description: String
}

extension SampleGenerator {
    /// Refuses confined effects that change another effect's region by
    /// more than `effects.leakage_tolerance`, measured before any image is
    /// made on probes with every regional bias present and the cohort's most
    /// extreme coefficients (the disease's lowest and highest).
    public func checkLeakage(_ samples: [SampleRecord]) throws {
        guard fields.confined, !leakagePairs.isEmpty, !samples.isEmpty else { return }
        var flags = [Bool](repeating: false, count: config.biases.count)
        var coefficients = [Double](repeating: 0, count: config.biases.count)
        for effect in fields.regional {
            guard let bias = effect.biasIndex else { continue }
            flags[bias] = true
            let carried = samples.filter { $0.biasFlags[bias] }.map { $0.biasCoefficients[bias] }
            coefficients[bias] = carried.max { abs($0) < abs($1) } ?? (effect.coefficients.first?.mean ?? 1)
        }
        let active = flags.indices.filter { flags[$0] }
        let table = LeakageTable(config: config, samples: 0, typicalDiseaseChangeMM3: typicalDiseaseChangeMM3)
        var worst: (pair: LeakagePair, value: Double, share: Double)?
        let diseaseCoefficients = samples.map(\.diseaseCoefficient)
        for disease in Set([diseaseCoefficients.min()!, diseaseCoefficients.max()!]).sorted() {
            let probe = SampleRecord(index: 0, split: .train, label: 1, site: 0, biasFlags: flags,
                                     biasCoefficients: coefficients,
                                     subjectCoefficients: [Double](repeating: 0, count: config.subject.modes),
                                     diseaseCoefficient: disease)
            let values = leakageMeter.measure(effectMaps(probe, activeBiases: active), active: activeEffects(active))
            for (pair, value) in zip(leakagePairs, values) {
                let share = table.share(value, of: pair)
                if share > (worst?.share ?? -1) { worst = (pair, value, share) }
            }
        }
        guard let worst, worst.share > config.effects.leakageTolerance else { return }
        let from = fields.regional[worst.pair.from], into = fields.regional[worst.pair.into]
        let amount = worst.pair.unit == .cubicMillimetres
            ? String(format: "its volume by %.1f mm³ (%.1f%% of the disease's typical change of %.0f mm³",
                     worst.value, 100 * worst.share, typicalDiseaseChangeMM3)
            : String(format: "its intensity by %.2f%% (%.1f%% of the bias's own change", 100 * worst.value, 100 * worst.share)
        throw LeakageError(description: "\(from.description) reaches into the region of \(into.description) and changes "
            + amount + String(format: "; tolerance %.1f%%): ", 100 * config.effects.leakageTolerance)
            + "choose regions farther apart or a smaller strength_mm or edge_mm, or set effects.allow_leakage: true "
            + "to study coupled effects")
    }
}
