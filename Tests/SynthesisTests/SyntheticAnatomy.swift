import Foundation
import Synthesis
import Volumes

/// A small stand-in for Colin27 + AAL: a 2 mm grid with a smooth "brain"
/// and two ellipsoidal regions 24 mm apart — fast enough for unit tests and
/// with known geometry.
enum SyntheticAnatomy {
    static let disease: Int32 = 1
    static let bias: Int32 = 2

    static func make(dims: SIMD3<Int> = SIMD3(40, 40, 36), spacing: Double = 2) -> Anatomy {
        let grid = Grid(dims: dims, spacing: SIMD3(repeating: spacing),
                        origin: -SIMD3<Double>(dims) * spacing / 2)
        let centre = SIMD3<Double>(dims) / 2
        func ellipsoid(_ i: Int, _ j: Int, _ k: Int, _ c: SIMD3<Double>, _ r: SIMD3<Double>) -> Bool {
            let d = (SIMD3(Double(i), Double(j), Double(k)) - c) / r
            return (d * d).sum() <= 1
        }
        let image = Volume<Float>(grid: grid) { i, j, k in
            let d = (SIMD3(Double(i), Double(j), Double(k)) - centre) / (centre * 0.8)
            let r = (d * d).sum()
            // A textured blob so warps change intensities.
            let texture: Double = 0.3 * sin(Double(i) * 0.7) * cos(Double(j) * 0.5)
            return r > 1 ? 0 : Float(0.5 + texture + 0.2 * (1 - r))
        }
        let labels = Volume<Int32>(grid: grid) { i, j, k in
            if ellipsoid(i, j, k, centre - SIMD3(6, 0, 0), SIMD3(3.5, 4.5, 4)) { return disease }
            if ellipsoid(i, j, k, centre + SIMD3(6, 0, 0), SIMD3(3, 4, 3.5)) { return bias }
            return 0
        }
        return Anatomy(image: image, labels: labels,
                       names: LabelNames(names: [disease: "Lesion_L", bias: "Nucleus_R"]), description: "synthetic")
    }

    /// A cohort config that uses the synthetic regions.
    static func config(strength: Double = 2, biasStrength: Double = 2) -> CohortConfig {
        var config = CohortConfig()
        config.template.voxelMM = 2
        config.cohort.size = 40
        config.subject.modes = 3
        config.subject.smoothnessMM = 12
        config.disease = MorphologicalEffect(
            region: "Lesion_L", kind: .atrophy, strengthMM: strength,
            coefficient: ClassCoefficients(disease: Coefficient(mean: 1, deviation: 1),
                                           healthy: Coefficient(mean: -1, deviation: 1)))
        config.biases = [Bias(name: "morph",
                              effect: .morphological(region: "Nucleus_R", kind: .expansion, strengthMM: biasStrength,
                                                     coefficient: Coefficient(mean: 2, deviation: 1), edgeMM: 3),
                              prevalence: ClassPrevalence(disease: 0.7, healthy: 0.3))]
        return config
    }
}
