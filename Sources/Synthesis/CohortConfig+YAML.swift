import YAMLConfig

/// The configuration as an editable YAML document with every key commented
/// (`simba config --preset NAME`); reading it back gives the same config.
extension CohortConfig {
    public func yaml(title: String) -> String {
        var lines: [String] = ["# \(title)", "# Lengths in millimetres; prevalences and fractions in [0, 1].", ""]
        func add(_ line: String, _ comment: String? = nil) { lines.append(YAMLText.commented(line, comment)) }
        add("seed: \(seed)", "every random choice follows from it")
        add("template:")
        add("  image: \(template.image ?? "default")", "NIfTI T1 template; default: Colin27 (mricron-data)")
        add("  labels: \(template.labels ?? "default")", "integer label map on the template's grid; default: AAL")
        add("  names: \(template.names ?? "default")", "'number name' lines; default: aal.nii.txt")
        add("  voxel_mm: \(number(template.voxelMM))", "experiment voxel size, 1 to 4")
        add("  margin_mm: \(number(template.marginMM))", "kept around the brain's bounding box")
        add("  crop_to: [\(template.cropTo.joined(separator: ", "))]", "crop to these regions + margin; empty: whole brain")
        add("cohort:")
        add("  size: \(cohort.size)", "number of images")
        add("  disease_prevalence: \(number(cohort.diseasePrevalence))", "fraction in the disease class")
        add("  splits: {train: \(number(cohort.splits.train)), validation: \(number(cohort.splits.validation)), test: \(number(cohort.splits.test))}",
            "must sum to 1")
        add("subject:", "natural variability: smooth global deformation modes")
        add("  modes: \(subject.modes)", "K modes (SimBA: 10)")
        add("  peak_mm: \(number(subject.peakMM))", "peak displacement of mode 1 at coefficient 1")
        add("  smoothness_mm: \(number(subject.smoothnessMM))", "spatial scale of the modes")
        add("  decay: \(number(subject.decay))", "mode k has variance 1/k^decay")
        add("  truncation: \(number(subject.truncation))", "coefficients ~ N(0,1) truncated at ±this")
        add("disease:", "the disease effect: a local shape change")
        add("  region: \(disease.region)", "atlas region name or number")
        add("  kind: \(disease.kind.rawValue)", "atrophy or expansion")
        add("  strength_mm: \(number(disease.strengthMM))", "boundary displacement at coefficient 1")
        add("  edge_mm: \(number(disease.edgeMM))", "how far the effect fades outside the region")
        add("  coefficient:", "[mean, sd] per class (SimBA: +1 / -1, sd 1)")
        add("    disease: [\(number(disease.coefficient.disease.mean)), \(number(disease.coefficient.disease.deviation))]")
        add("    healthy: [\(number(disease.coefficient.healthy.mean)), \(number(disease.coefficient.healthy.deviation))]")
        if biases.isEmpty {
            add("biases: []", "none: a bias-free cohort")
        } else {
            add("biases:", "effects present only in the bias group")
        }
        for bias in biases {
            add("  - name: \(bias.name)")
            switch bias.effect {
            case .morphological(let region, let kind, let strength, let coefficient, let edge):
                add("    type: morphological", "morphological or intensity")
                add("    region: \(region)", "must differ from the disease region")
                add("    kind: \(kind.rawValue)", "atrophy or expansion")
                add("    strength_mm: \(number(strength))")
                add("    edge_mm: \(number(edge))")
                add("    coefficient: [\(number(coefficient.mean)), \(number(coefficient.deviation))]",
                    "[mean, sd] (SimBA: [2, 1])")
            case .globalContrast(let factor):
                add("    type: intensity")
                add("    scope: global", "global (SimBA's contrast change) or regional")
                add("    factor: \(number(factor))", "contrast stretch about half the range (SimBA: 1.2)")
            case .regionalIntensity(let region, let change, let edge):
                add("    type: intensity")
                add("    scope: regional", "global or regional")
                add("    region: \(region)")
                add("    change: \(number(change))", "relative intensity change inside the region")
                add("    edge_mm: \(number(edge))", "smooth edge width")
            }
            add("    prevalence: {disease: \(number(bias.prevalence.disease)), healthy: \(number(bias.prevalence.healthy))}",
                "fraction of each class with the bias")
        }
        lines.append(String(EffectCoupling.schema.yaml(effects).dropLast()))
        add("sites:", "simulated hospitals (or: {count: N, scanner: {gamma: [lo, hi], ...}})")
        for site in sites {
            add("  - name: \(site.name)")
            add("    weight: \(number(site.weight))", "relative share of the cohort")
            if let prevalence = site.diseasePrevalence {
                add("    disease_prevalence: \(number(prevalence))", "overrides cohort.disease_prevalence")
            }
            if !site.biasPrevalence.isEmpty {
                add("    bias_prevalence:", "overrides per bias")
                for (name, prevalence) in site.biasPrevalence.sorted(by: { $0.key < $1.key }) {
                    add("      \(name): {disease: \(number(prevalence.disease)), healthy: \(number(prevalence.healthy))}")
                }
            }
            let scanner = site.scanner
            add("    scanner: {gamma: \(number(scanner.gamma)), bias_field: \(number(scanner.biasField)), noise: \(number(scanner.noise)), blur_mm: \(number(scanner.blurMM))}",
                "contrast, bias field, Rician noise, blur")
            add("    held_out: \(site.heldOut)", "all its images go to the test split")
        }
        add("twin:", "the counterfactual no-bias twin")
        add("  switch_off: [\(twinSwitchesOff.joined(separator: ", "))]", "biases switched off; empty: all")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Shortest text that reads back as the same Double.
func number(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
    return "\(value)"
}
