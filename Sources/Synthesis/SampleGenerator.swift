import Foundation
import Randomness
import Volumes

/// Makes one sample's image from its record: a pure function of
/// (configuration, seed, record), so any rank can make any sample and the
/// cohort is the same whatever the number of ranks.
public struct SampleGenerator: Sendable {
    public let config: CohortConfig
    public let anatomy: Anatomy
    public let fields: EffectFields
    /// The template scaled to [0, 1]: every output is in these units.
    let template: Volume<Float>

    public enum Variant: Sendable {
        /// Every effect the record calls for.
        case biased
        /// The counterfactual: the twin's switched-off biases left out.
        case twin
    }

    public struct Output: Sendable {
        public let image: Volume<Float>
        /// Smallest Jacobian determinant of the sample's deformation (> 0: no folding).
        public let minimumJacobian: Float
        /// What each regional effect did to the others' regions: one value
        /// per `leakagePairs` entry.
        public let leakage: [Double]
    }

    let leakageMeter: LeakageMeter
    /// The disease's volume change (mm³) at its disease class's mean
    /// coefficient: the yardstick of volume leakage.
    public private(set) var typicalDiseaseChangeMM3 = 0.0

    public init(config: CohortConfig, anatomy: Anatomy) throws {
        self.config = config
        self.anatomy = anatomy
        fields = try EffectFields(config: config, anatomy: anatomy)
        let peak = anatomy.image.voxels.max() ?? 1
        template = anatomy.image.map { $0 / max(peak, 1e-12) }
        leakageMeter = try LeakageMeter(effects: fields.regional, anatomy: anatomy, fields: fields)
        typicalDiseaseChangeMM3 = measuredTypicalDiseaseChange()
    }

    /// The pairs of regional effects whose leakage every sample records.
    public var leakagePairs: [LeakagePair] { leakageMeter.pairs }

    /// The disease's own volume change at its disease class's mean
    /// coefficient, and at least one control voxel (a disease of strength
    /// 0 still gives leakage a yardstick).
    private func measuredTypicalDiseaseChange() -> Double {
        let weight = fields.regional[0].signedStrength * config.disease.coefficient.disease.mean
        let maps = effectMaps(weights: [(0, weight)], normBound: abs(weight) * Double(fields.directions[0]!.maxNorm))
        let change = leakageMeter.volume(0, under: maps.combined) - leakageMeter.volume(0, under: VectorField(zerosOn: fields.controlGrid))
        return max(abs(change), leakageMeter.voxelVolume)
    }

    /// Whether bias `index` acts in this variant of a sample that carries it.
    func isActive(_ index: Int, _ variant: Variant) -> Bool {
        guard variant == .twin else { return true }
        let off = config.twinSwitchesOff.isEmpty ? Set(config.biases.map(\.name)) : Set(config.twinSwitchesOff)
        return !off.contains(config.biases[index].name)
    }

    public func generate(_ record: SampleRecord, variant: Variant = .biased, clock: StageClock? = nil) throws -> Output {
        let active = config.biases.indices.filter { record.biasFlags[$0] && isActive($0, variant) }
        let effects = effectMaps(record, activeBiases: active, clock: clock)
        let displacement = deformation(effects: effects.combined, record, clock: clock)
        let minimumJacobian = clock.measure("jacobian") { Float(displacement.minimumJacobianDeterminant()) }
        guard minimumJacobian > 0 else {
            throw AnatomyError("sample \(record.index) would fold space (minimum Jacobian determinant "
                + "\(minimumJacobian)): lower the effect strengths or the subject's peak_mm")
        }
        let fine = clock.measure("upsample") {
            displacement.grid == template.grid ? displacement : displacement.resampled(to: template.grid)
        }

        var image = clock.measure("warp") { () -> Volume<Float> in
            var source = template
            for index in active {
                if case .regionalIntensity(_, let change, _) = config.biases[index].effect,
                   let weight = fields.intensityWeights[index] {
                    // Applied in template space, so the change follows the anatomy through the warp.
                    for n in source.voxels.indices { source.voxels[n] *= 1 + Float(change) * weight.voxels[n] }
                }
            }
            return source.warped(by: fine)
        }
        clock.measure("intensity") {
            for index in active {
                if case .globalContrast(let factor) = config.biases[index].effect {
                    applyContrast(&image, factor: Float(factor))
                }
            }
            applyScanner(&image, record: record)
        }
        let leakage = clock.measure("leakage") { leakageMeter.measure(effects, active: activeEffects(active)) }
        return Output(image: image, minimumJacobian: minimumJacobian, leakage: leakage)
    }

    /// The regional effects (indices into `fields.regional`) acting in a
    /// sample with these biases active: the disease, and the active biases.
    func activeEffects(_ activeBiases: [Int]) -> Set<Int> {
        Set(fields.regional.indices.filter { index in
            fields.regional[index].biasIndex.map(activeBiases.contains) ?? true
        })
    }

    /// The sample's displacement on the control grid: the regional effects
    /// applied in template space, composed with the subject's deformation.
    func deformation(_ record: SampleRecord, activeBiases: [Int], clock: StageClock? = nil) -> VectorField {
        deformation(effects: effectMaps(record, activeBiases: activeBiases, clock: clock).combined, record, clock: clock)
    }

    func deformation(effects: VectorField, _ record: SampleRecord, clock: StageClock?) -> VectorField {
        let subject = clock.measure("velocity") { subjectVelocity(record) }
        let subjectMap = clock.measure("exponentiate") { () -> VectorField in
            let map = subject.exponentiated()
            return map.grid == fields.controlGrid ? map : map.resampled(to: fields.controlGrid)
        }
        return clock.measure("compose") { effects.composed(after: subjectMap) }
    }

    /// The subject's velocity field (global, on the subject grid).
    func subjectVelocity(_ record: SampleRecord) -> VectorField {
        var subject = VectorField(zerosOn: fields.subjectGrid)
        let peak = Float(config.subject.peakMM)
        for (mode, field) in fields.subjectModes.enumerated() {
            let weight = peak * Float(record.subjectCoefficients[mode]) * Float(pow(Double(mode + 1), -config.subject.decay / 2))
            subject.add(field, scaledBy: weight)
        }
        return subject
    }

    /// The regional effects' displacement for a sample with these biases active.
    func effectMaps(_ record: SampleRecord, activeBiases: [Int], clock: StageClock? = nil) -> EffectMaps {
        var weights: [(effect: Int, weight: Double)] = []
        // The squaring steps follow a bound that counts every bias the sample
        // carries, active or not, so a sample and its twin are exponentiated
        // alike and differ only where the bias acts.
        var normBound = 0.0
        for (index, effect) in fields.regional.enumerated() where effect.kind == .morphological {
            let coefficient = effect.biasIndex.map { record.biasCoefficients[$0] } ?? record.diseaseCoefficient
            let weight = effect.signedStrength * coefficient
            if let bias = effect.biasIndex, !record.biasFlags[bias] { continue }
            normBound += abs(weight) * Double(fields.directions[index]!.maxNorm)
            if effect.biasIndex.map(activeBiases.contains) ?? true { weights.append((index, weight)) }
        }
        return clock.measure("exponentiate") { effectMaps(weights: weights, normBound: normBound) }
    }

    /// The effects' fields summed (tapered when confined) and exponentiated
    /// together on the effect box.
    func effectMaps(weights: [(effect: Int, weight: Double)], normBound: Double) -> EffectMaps {
        let grid = fields.controlGrid, box = fields.effectBox
        let steps = squaringSteps(forNormUpTo: normBound, on: grid)
        let exponentiate = { (excluded: Int?) -> VectorField in
            // Nothing left to move (a sample without biases, its disease left
            // out): the exponential of zero is zero, without the work.
            guard weights.contains(where: { $0.effect != excluded }) else { return VectorField(zerosOn: grid) }
            var effect = VectorField(zerosOn: grid.cropped(to: box))
            for (index, weight) in weights where index != excluded {
                effect.add(fields.directions[index]!, scaledBy: Float(weight))
            }
            return effect.exponentiated(steps: steps).embedded(in: grid, at: box)
        }
        return EffectMaps(combined: exponentiate(nil), without: { exponentiate($0) })
    }

    /// Scaling-and-squaring steps N so that a field of norm ≤ `bound` (mm)
    /// starts below half a voxel: bound / 2^N < spacing / 2.
    func squaringSteps(forNormUpTo bound: Double, on grid: Grid) -> Int {
        let limit = 0.5 * grid.spacing.min()
        var steps = 0
        while bound / Double(1 << steps) >= limit && steps < 30 { steps += 1 }
        return steps
    }

    /// SimBA's contrast bias: stretch by `factor` about half the intensity
    /// range (h = (max − min)/2, as SimBA computes it), clip to the original
    /// range, rescale to [0, 1].
    func applyContrast(_ image: inout Volume<Float>, factor: Float) {
        guard let low = image.voxels.min(), let high = image.voxels.max(), high > low else { return }
        let half = (high - low) / 2
        for n in image.voxels.indices {
            let stretched = min(max(factor * (image.voxels[n] - half) + half, low), high)
            image.voxels[n] = (stretched - low) / (high - low)
        }
    }

    /// The site's scanner: contrast (gamma), a smooth multiplicative bias
    /// field, blur, then Rician noise from the sample's own noise stream.
    func applyScanner(_ image: inout Volume<Float>, record: SampleRecord) {
        let scanner = config.sites[record.site].scanner
        guard !scanner.isNeutral else { return }
        if scanner.gamma != 1 {
            let gamma = Float(scanner.gamma)
            for n in image.voxels.indices where image.voxels[n] > 0 { image.voxels[n] = pow(image.voxels[n], gamma) }
        }
        if scanner.biasField > 0, let pattern = fields.siteFieldPatterns[record.site] {
            let field = pattern.grid == image.grid ? pattern : pattern.resampled(to: image.grid, outside: .nearestEdge)
            let strength = Float(scanner.biasField)
            for n in image.voxels.indices { image.voxels[n] *= exp(strength * field.voxels[n]) }
        }
        if scanner.blurMM > 0 { image = image.smoothed(sigmaMillimetres: scanner.blurMM) }
        if scanner.noise > 0 {
            var generator = SeededGenerator(seed: config.seed, stream: UInt64(record.index), "scanner-noise")
            let sigma = Float(scanner.noise)
            for n in image.voxels.indices {
                let real = image.voxels[n] + sigma * Float(generator.normal())
                let imaginary = sigma * Float(generator.normal())
                image.voxels[n] = (real * real + imaginary * imaginary).squareRoot()
            }
        }
    }
}
