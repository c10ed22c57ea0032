/// An effect that acts in one atlas region: the disease, or a regional
/// (morphological or intensity) bias. Global contrast biases are not regional.
public struct RegionalEffect: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case morphological, intensity }

    /// "disease" or the bias's name.
    public let name: String
    public let regionName: String
    public let kind: Kind
    /// The bias's index in the configuration; nil for the disease.
    public let biasIndex: Int?
    public let edgeMM: Double
    /// Morphological: boundary displacement (mm) per unit of coefficient,
    /// positive for expansion, negative for atrophy. Intensity: the
    /// relative change inside the region.
    public let signedStrength: Double
    /// Morphological: the distributions its coefficient is drawn from
    /// (the disease: one per class).
    public let coefficients: [Coefficient]

    public var description: String {
        biasIndex == nil ? "the disease (\(regionName))" : "bias '\(name)' (\(regionName))"
    }

    /// How far (mm) its displacement typically extends beyond its region:
    /// coefficients up to 2 standard deviations out (0 for intensity effects).
    var extentMM: Double {
        coefficients.map { abs(signedStrength) * (abs($0.mean) + 2 * $0.deviation) }.max() ?? 0
    }

    /// How far (mm) its displacement can reach with a unit field of this
    /// peak norm: coefficients up to 6 standard deviations out.
    func reachMM(maxNorm: Float) -> Double {
        let strength = abs(signedStrength)
        return coefficients.map { strength * (abs($0.mean) + 6 * $0.deviation) * Double(maxNorm) }.max() ?? 0
    }
}

extension CohortConfig {
    /// The regional effects: the disease first, then each regional bias in order.
    public var regionalEffects: [RegionalEffect] {
        let diseaseSign: Double = disease.kind == .expansion ? 1 : -1
        var effects = [RegionalEffect(name: "disease", regionName: disease.region, kind: .morphological, biasIndex: nil,
                                      edgeMM: disease.edgeMM, signedStrength: disease.strengthMM * diseaseSign,
                                      coefficients: [disease.coefficient.disease, disease.coefficient.healthy])]
        for (index, bias) in biases.enumerated() {
            switch bias.effect {
            case .morphological(let region, let kind, let strength, let coefficient, let edge):
                effects.append(RegionalEffect(name: bias.name, regionName: region, kind: .morphological, biasIndex: index,
                                              edgeMM: edge, signedStrength: strength * (kind == .expansion ? 1 : -1),
                                              coefficients: [coefficient]))
            case .regionalIntensity(let region, let change, let edge):
                effects.append(RegionalEffect(name: bias.name, regionName: region, kind: .intensity, biasIndex: index,
                                              edgeMM: edge, signedStrength: change, coefficients: []))
            case .globalContrast:
                break
            }
        }
        return effects
    }
}
