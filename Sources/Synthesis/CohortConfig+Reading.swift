import Randomness
import YAMLConfig

extension CohortConfig {
    /// Reads the cohort keys of a configuration (seed, template, cohort,
    /// subject, disease, biases, sites, twin) on top of `defaults`, and
    /// validates them. Keys of other stages are left for their readers; the
    /// caller calls `finish()` on the root.
    public static func read(_ root: ConfigNode, defaults: CohortConfig = CohortConfig()) throws -> CohortConfig {
        var config = defaults
        if let seed = try root.int("seed") {
            guard seed >= 0 else { throw ConfigError("seed", "must be 0 or more, got \(seed)") }
            config.seed = UInt64(seed)
        }
        if let node = try root.section("template") { try config.template.read(node) }
        if let node = try root.section("cohort") { try config.cohort.read(node) }
        if let node = try root.section("subject") { try config.subject.read(node) }
        if let node = try root.section("disease") { try config.disease.read(node) }
        if let nodes = try root.sections("biases") {
            config.biases = try nodes.map(Bias.read)
        }
        if let node = try root.section("effects") { try EffectCoupling.schema.read(node, into: &config.effects) }
        if root.contains("sites") { config.sites = try readSites(root, seed: config.seed) }
        if let node = try root.section("twin") {
            config.twinSwitchesOff = try node.strings("switch_off") ?? []
            try node.finish()
        }
        try config.validate()
        return config
    }

    private static func readSites(_ root: ConfigNode, seed: UInt64) throws -> [Site] {
        if let list = try? root.sections("sites") {
            let sites = try list.enumerated().map { index, node in try Site.read(node, index: index) }
            guard !sites.isEmpty else { throw ConfigError("sites", "must name at least one site") }
            return sites
        }
        let node = try root.sectionOrEmpty("sites")
        return try Site.generate(node, seed: seed)
    }

    /// Checks ranges and consistency that need no template (regions are
    /// checked against the atlas when it is loaded).
    public func validate() throws {
        try checkRange(template.voxelMM, 1...4, "template.voxel_mm", unit: " mm")
        try checkRange(template.marginMM, 0...Self.largestMM, "template.margin_mm", unit: " mm")
        guard cohort.size >= 1 else { throw ConfigError("cohort.size", "must be at least 1, got \(cohort.size)") }
        guard cohort.size <= Self.largestCohort else {
            throw ConfigError("cohort.size", "must be at most \(Self.largestCohort), got \(cohort.size) (every rank holds the sample table)")
        }
        try validateStrata()
        try checkFraction(cohort.diseasePrevalence, "cohort.disease_prevalence")
        let splits = cohort.splits.asArray
        for (name, value) in zip(["train", "validation", "test"], splits) {
            try checkFraction(value, "cohort.splits.\(name)")
        }
        guard abs(splits.reduce(0, +) - 1) < 1e-6 else {
            throw ConfigError("cohort.splits", "train, validation and test must sum to 1, got \(splits.reduce(0, +))")
        }
        guard (1...64).contains(subject.modes) else { throw ConfigError("subject.modes", "must be 1 to 64") }
        guard subject.peakMM >= 0, subject.smoothnessMM > 0, subject.truncation > 0 else {
            throw ConfigError("subject", "peak_mm must be ≥ 0, smoothness_mm and truncation > 0")
        }
        try checkRange(subject.peakMM, 0...Self.largestMM, "subject.peak_mm", unit: " mm")
        try checkRange(subject.smoothnessMM, 0...Self.largestMM, "subject.smoothness_mm", unit: " mm")
        try checkRange(subject.decay, -Self.largestFactor...Self.largestFactor, "subject.decay")
        try checkRange(subject.truncation, 0...Self.largestFactor, "subject.truncation")
        try disease.validate(path: "disease")
        try EffectCoupling.schema.validate(effects)
        try Self.checkMagnitudes(strengthMM: disease.strengthMM, edgeMM: disease.edgeMM,
                            coefficients: [disease.coefficient.disease, disease.coefficient.healthy], path: "disease")
        var names = Set<String>()
        for (index, bias) in biases.enumerated() {
            let path = "biases[\(index)]"
            guard names.insert(bias.name).inserted else { throw ConfigError(path, "the name '\(bias.name)' is used twice") }
            try checkFraction(bias.prevalence.disease, path + ".prevalence.disease")
            try checkFraction(bias.prevalence.healthy, path + ".prevalence.healthy")
            if let region = bias.region, region == disease.region {
                throw ConfigError(path + ".region",
                                  "bias and disease are both in '\(region)': a bias must act in another region")
            }
            if case .globalContrast(let factor) = bias.effect, !(factor > 0) {
                throw ConfigError(path + ".factor", "must be greater than 0, got \(factor)")
            }
            if case .regionalIntensity(_, let change, let edge) = bias.effect, !(change > -1) || edge < 0 {
                throw ConfigError(path, "change must be greater than -1 and edge_mm at least 0")
            }
            if case .morphological(_, _, let strength, let coefficient, let edge) = bias.effect,
               strength < 0 || coefficient.deviation < 0 || edge <= 0 {
                throw ConfigError(path, "strength_mm and the coefficient's sd must be ≥ 0, edge_mm > 0")
            }
            try bias.checkMagnitudes(path: path)
        }
        for name in twinSwitchesOff where !names.contains(name) {
            throw ConfigError("twin.switch_off", "no bias is named '\(name)' (biases: \(names.sorted().joined(separator: ", ")))")
        }
        guard !sites.isEmpty else { throw ConfigError("sites", "must name at least one site") }
        var siteNames = Set<String>()
        for (index, site) in sites.enumerated() {
            let path = "sites[\(index)]"
            guard siteNames.insert(site.name).inserted else { throw ConfigError(path, "the name '\(site.name)' is used twice") }
            guard site.weight > 0 else { throw ConfigError(path + ".weight", "must be greater than 0") }
            guard site.weight <= Self.largestSiteWeight else {
                throw ConfigError(path + ".weight", "must be a relative share of at most \(Int(Self.largestSiteWeight)) "
                    + "(the cohort is split in proportion, so the weights must sum to a finite number), got \(site.weight)")
            }
            if let prevalence = site.diseasePrevalence { try checkFraction(prevalence, path + ".disease_prevalence") }
            for (biasName, prevalence) in site.biasPrevalence {
                guard names.contains(biasName) else {
                    throw ConfigError(path + ".bias_prevalence", "no bias is named '\(biasName)'")
                }
                try checkFraction(prevalence.disease, path + ".bias_prevalence.\(biasName).disease")
                try checkFraction(prevalence.healthy, path + ".bias_prevalence.\(biasName).healthy")
            }
            let scanner = site.scanner
            guard scanner.gamma > 0, scanner.biasField >= 0, scanner.noise >= 0, scanner.blurMM >= 0 else {
                throw ConfigError(path + ".scanner", "gamma must be > 0; bias_field, noise and blur_mm ≥ 0")
            }
            try checkRange(scanner.gamma, 0...Self.largestFactor, path + ".scanner.gamma")
            try checkRange(scanner.biasField, 0...Self.largestFactor, path + ".scanner.bias_field")
            try checkRange(scanner.noise, 0...Self.largestFactor, path + ".scanner.noise")
            try checkRange(scanner.blurMM, 0...Self.largestMM, path + ".scanner.blur_mm", unit: " mm")
        }
        if sites.allSatisfy(\.heldOut) {
            throw ConfigError("sites", "every site is held out: at least one must provide training data")
        }
    }
}

func checkFraction(_ value: Double, _ path: String) throws {
    try checkRange(value, 0...1, path)
}

/// "must be between 1 and 4 mm, got 0.5".
func checkRange(_ value: Double, _ range: ClosedRange<Double>, _ path: String, unit: String = "") throws {
    guard range.contains(value) else {
        throw ConfigError(path, "must be between \(range.lowerBound.formatted) and \(range.upperBound.formatted)\(unit), got \(value)")
    }
}

extension Double {
    /// 4.0 as "4", 0.5 as "0.5".
    fileprivate var formatted: String { rounded() == self && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}

extension CohortConfig {
    /// Bounds that hold on every machine: far beyond any study, short of
    /// what would exhaust a node before a check could say so.
    static let largestCohort = 1_000_000
    static let largestBiasCount = 16
    static let largestStrata = 1 << 20
    static let largestSiteCount = 10_000
    static let largestSiteWeight = 1e6
    /// Lengths in mm: larger than any head.
    static let largestMM = 1000.0
    /// Coefficients, contrast factors and intensity changes.
    static let largestFactor = 100.0

    /// The design has a cell per site, class and bias group (2^biases of them).
    func validateStrata() throws {
        guard biases.count <= Self.largestBiasCount else {
            throw ConfigError("biases", "at most \(Self.largestBiasCount) biases (the bias groups grow as 2^biases), got \(biases.count)")
        }
        guard sites.count <= Self.largestSiteCount else {
            throw ConfigError("sites", "at most \(Self.largestSiteCount) sites, got \(sites.count)")
        }
        let strata = sites.count * 2 << biases.count
        guard strata <= Self.largestStrata else {
            throw ConfigError("biases", "\(sites.count) sites × 2 classes × 2^\(biases.count) bias groups are \(strata) strata, "
                + "more than \(Self.largestStrata): use fewer biases or sites")
        }
    }

    static func checkMagnitudes(strengthMM: Double, edgeMM: Double, coefficients: [Coefficient], path: String) throws {
        try checkRange(strengthMM, 0...Self.largestMM, path + ".strength_mm", unit: " mm")
        try checkRange(edgeMM, 0...Self.largestMM, path + ".edge_mm", unit: " mm")
        for coefficient in coefficients {
            try checkRange(coefficient.mean, -Self.largestFactor...Self.largestFactor, path + ".coefficient")
            try checkRange(coefficient.deviation, 0...Self.largestFactor, path + ".coefficient")
        }
    }
}

extension Bias {
    /// Sizes of the effect within `CohortConfig`'s bounds.
    func checkMagnitudes(path: String) throws {
        let largest = CohortConfig.largestFactor
        switch effect {
        case .morphological(_, _, let strength, let coefficient, let edge):
            try CohortConfig.checkMagnitudes(strengthMM: strength, edgeMM: edge, coefficients: [coefficient], path: path)
        case .globalContrast(let factor):
            try checkRange(factor, 0...largest, path + ".factor")
        case .regionalIntensity(_, let change, let edge):
            try checkRange(change, -1...largest, path + ".change")
            try checkRange(edge, 0...CohortConfig.largestMM, path + ".edge_mm", unit: " mm")
        }
    }
}

extension TemplateSettings {
    mutating func read(_ node: ConfigNode) throws {
        image = try node.string("image").flatMap { $0 == "default" ? nil : $0 } ?? image
        labels = try node.string("labels").flatMap { $0 == "default" ? nil : $0 } ?? labels
        names = try node.string("names").flatMap { $0 == "default" ? nil : $0 } ?? names
        voxelMM = try node.double("voxel_mm", default: voxelMM)
        marginMM = try node.double("margin_mm", default: marginMM)
        cropTo = try node.strings("crop_to") ?? cropTo
        try node.finish()
        if (image == nil) != (labels == nil) || (labels == nil) != (names == nil) {
            throw ConfigError(node.path, "give image, labels and names together (or none, for Colin27 + AAL)")
        }
    }
}

extension CohortSettings {
    mutating func read(_ node: ConfigNode) throws {
        size = try node.int("size", default: size)
        diseasePrevalence = try node.double("disease_prevalence", default: diseasePrevalence)
        if let split = try node.section("splits") {
            splits = SplitFractions(train: try split.double("train", default: splits.train),
                                    validation: try split.double("validation", default: splits.validation),
                                    test: try split.double("test", default: splits.test))
            try split.finish()
        }
        try node.finish()
    }
}

extension SubjectEffect {
    mutating func read(_ node: ConfigNode) throws {
        modes = try node.int("modes", default: modes)
        peakMM = try node.double("peak_mm", default: peakMM)
        smoothnessMM = try node.double("smoothness_mm", default: smoothnessMM)
        decay = try node.double("decay", default: decay)
        truncation = try node.double("truncation", default: truncation)
        try node.finish()
    }
}

extension Coefficient {
    static func read(_ node: ConfigNode, _ key: String, default fallback: Coefficient) throws -> Coefficient {
        guard let pair = try node.doubles(key) else { return fallback }
        guard pair.count == 2, pair[1] >= 0 else {
            throw ConfigError(node.keyPath(key), "must be [mean, sd] with sd ≥ 0")
        }
        return Coefficient(mean: pair[0], deviation: pair[1])
    }
}

extension MorphologicalEffect {
    mutating func read(_ node: ConfigNode) throws {
        region = try node.string("region", default: region)
        kind = try node.choice("kind", default: kind)
        strengthMM = try node.double("strength_mm", default: strengthMM)
        edgeMM = try node.double("edge_mm", default: edgeMM)
        if let coefficients = try node.section("coefficient") {
            coefficient.disease = try Coefficient.read(coefficients, "disease", default: coefficient.disease)
            coefficient.healthy = try Coefficient.read(coefficients, "healthy", default: coefficient.healthy)
            try coefficients.finish()
        }
        try node.finish()
    }

    func validate(path: String) throws {
        guard strengthMM >= 0 else { throw ConfigError(path + ".strength_mm", "must be 0 or more") }
        guard edgeMM > 0 else { throw ConfigError(path + ".edge_mm", "must be greater than 0") }
        guard coefficient.disease.deviation >= 0, coefficient.healthy.deviation >= 0 else {
            throw ConfigError(path + ".coefficient", "standard deviations must be 0 or more")
        }
    }
}

extension ClassPrevalence {
    static func read(_ node: ConfigNode, default fallback: ClassPrevalence) throws -> ClassPrevalence {
        let value = ClassPrevalence(disease: try node.double("disease", default: fallback.disease),
                                    healthy: try node.double("healthy", default: fallback.healthy))
        try node.finish()
        return value
    }
}

extension Bias {
    enum Kind: String, CaseIterable { case morphological, intensity }
    enum Scope: String, CaseIterable { case global, regional }

    static func read(_ node: ConfigNode) throws -> Bias {
        let name = try node.string("name") ?? "bias"
        let effect: Effect
        switch try node.choice("type", default: Kind.morphological) {
        case .morphological:
            effect = .morphological(region: try node.string("region") ?? "Putamen_R",
                                    kind: try node.choice("kind", default: DeformationKind.expansion),
                                    strengthMM: try node.double("strength_mm", default: 1),
                                    coefficient: try Coefficient.read(node, "coefficient",
                                                                      default: Coefficient(mean: 2, deviation: 1)),
                                    edgeMM: try node.double("edge_mm", default: 4))
        case .intensity:
            switch try node.choice("scope", default: Scope.global) {
            case .global:
                effect = .globalContrast(factor: try node.double("factor", default: 1.2))
            case .regional:
                guard let region = try node.string("region") else {
                    throw ConfigError(node.keyPath("region"), "a regional intensity bias needs a region")
                }
                effect = .regionalIntensity(region: region, change: try node.double("change", default: 0.2),
                                            edgeMM: try node.double("edge_mm", default: 3))
            }
        }
        let prevalence = try ClassPrevalence.read(try node.sectionOrEmpty("prevalence"),
                                                  default: ClassPrevalence(disease: 0.7, healthy: 0.3))
        try node.finish()
        return Bias(name: name, effect: effect, prevalence: prevalence)
    }
}

extension Site {
    static func read(_ node: ConfigNode, index: Int) throws -> Site {
        var site = Site(name: try node.string("name") ?? "site-\(index + 1)")
        site.weight = try node.double("weight", default: 1)
        site.diseasePrevalence = try node.double("disease_prevalence")
        site.heldOut = try node.bool("held_out", default: false)
        if let prevalences = try node.section("bias_prevalence") {
            for key in try prevalences.keys() {
                guard let entry = try prevalences.section(key) else { continue }
                site.biasPrevalence[key] = try ClassPrevalence.read(entry, default: ClassPrevalence(disease: 0.7, healthy: 0.3))
            }
            try prevalences.finish()
        }
        if let scanner = try node.section("scanner") {
            site.scanner.gamma = try scanner.double("gamma", default: 1)
            site.scanner.biasField = try scanner.double("bias_field", default: 0)
            site.scanner.noise = try scanner.double("noise", default: 0)
            site.scanner.blurMM = try scanner.double("blur_mm", default: 0)
            try scanner.finish()
        }
        try node.finish()
        return site
    }

    /// `sites: {count: N, …}`: N sites whose scanners and disease
    /// prevalences are drawn uniformly from the given [low, high] ranges.
    static func generate(_ node: ConfigNode, seed: UInt64) throws -> [Site] {
        let count = try node.int("count", default: 1)
        guard (1...10_000).contains(count) else { throw ConfigError(node.keyPath("count"), "must be 1 to 10000") }
        func range(_ section: ConfigNode, _ key: String, _ fallback: ClosedRange<Double>) throws -> ClosedRange<Double> {
            guard let pair = try section.doubles(key) else { return fallback }
            guard pair.count == 2, pair[0] <= pair[1] else {
                throw ConfigError(section.keyPath(key), "must be [low, high] with low ≤ high")
            }
            return pair[0]...pair[1]
        }
        let prevalence = try node.doubles("disease_prevalence")
        if let prevalence, prevalence.count != 2 || prevalence[0] > prevalence[1] {
            throw ConfigError(node.keyPath("disease_prevalence"), "must be [low, high] with low ≤ high")
        }
        let scanner = try node.sectionOrEmpty("scanner")
        let gamma = try range(scanner, "gamma", 1...1)
        let field = try range(scanner, "bias_field", 0...0)
        let noise = try range(scanner, "noise", 0...0)
        let blur = try range(scanner, "blur_mm", 0...0)
        try scanner.finish()
        let heldOut = Set(try node.strings("held_out") ?? [])
        try node.finish()
        var generator = SeededGenerator(seed: seed, stream: 0, "sites")
        func draw(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + (range.upperBound - range.lowerBound) * generator.uniform()
        }
        let sites = (0..<count).map { index -> Site in
            var site = Site(name: "site-\(index + 1)")
            site.scanner.gamma = draw(gamma)
            site.scanner.biasField = draw(field)
            site.scanner.noise = draw(noise)
            site.scanner.blurMM = draw(blur)
            if let prevalence { site.diseasePrevalence = draw(prevalence[0]...prevalence[1]) }
            site.heldOut = heldOut.contains(site.name) || heldOut.contains(String(index + 1))
            return site
        }
        let known = Set(sites.map(\.name)).union((1...count).map(String.init))
        if let unknown = heldOut.subtracting(known).sorted().first {
            throw ConfigError(node.keyPath("held_out"), "no site is named '\(unknown)' (sites are site-1 … site-\(count))")
        }
        return sites
    }
}
