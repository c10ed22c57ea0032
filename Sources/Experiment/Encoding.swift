import Analysis
import Cluster
import Foundation
import Randomness
import Storage
import Synthesis
import Training

/// Layer-wise encoding (eBioMedicine 2025): each block's test-set
/// activations → PCA (99% variance) → logistic regression, cross-validated.
/// Targets: "disease"; "bias", probed within each disease class on as many
/// images with the bias as without (chance one half) and pooled, since with
/// a bias more common in one class the bias label is partly the disease
/// label (the twin's features would "decode" it through the disease);
/// "bias_marginal", the bias over all images as the original does; with
/// several biases, "bias:NAME" per bias, balanced like "bias" within each
/// disease class and each combination of the other biases (so that one bias
/// cannot stand in for another: morphology and intensity apart).
///
/// Every probe keeps the number of samples it was tested on and what that
/// number can show: the smallest accuracy that reaches p < 0.05 at its
/// chance level, and the test's power. The per-layer tests of one target
/// are one family: `pValueHolm` is Holm-adjusted over the layers, and
/// "above chance" always means Holm-adjusted p < 0.05.
public struct EncodingTable: Codable, Sendable, Equatable {
    /// The level of every "above chance" statement (on Holm-adjusted p-values).
    public static let level = 0.05
    /// Below this power the probe is said to have little power.
    public static let adequatePower = 0.8

    public struct Probe: Codable, Sendable, Equatable {
        /// Cross-validated accuracy; nil with too few samples.
        public var accuracy: Double?
        /// What the original reports: accuracy on the fitted samples.
        public var fitSetAccuracy: Double
        /// Majority-class share (the accuracy of always guessing it).
        public var chance: Double
        /// One-sided exact binomial test of the cross-validated count against chance.
        public var pValue: Double?
        /// `pValue` Holm-adjusted over the layers of this table's target.
        public var pValueHolm: Double?
        public var components: Int
        /// Samples the probe was tested on (each held out once): for a
        /// balanced target the balanced subsets, not every test image.
        /// nil: not recorded (a run file from before it was).
        public var samples: Int?
        /// The smallest cross-validated accuracy that reaches p < 0.05
        /// (uncorrected) with `samples` at `chance`; nil: none can.
        public var significantAccuracy: Double?
        /// Power of the uncorrected test at 0.05 against a true accuracy a
        /// quarter of the way from chance to 1 (`powerAccuracy`).
        public var power: Double?
        /// power < 0.8: a probe at chance here says little about absence.
        public var lowPower: Bool?

        /// The alternative the power is computed against: a quarter of the
        /// way from chance to perfect (0.625 at chance 0.5).
        public static func powerAccuracy(chance: Double) -> Double { chance + (1 - chance) / 4 }

        init(_ result: EncodingProbeResult, samples: Int) {
            self.init(accuracy: result.crossValidatedAccuracy, fitSetAccuracy: result.fitSetAccuracy,
                      chance: result.chance.majorityShare, pValue: result.aboveChanceTest?.pValue,
                      components: result.fitSetComponentCount, samples: samples)
        }

        /// Probes of disjoint subsets, pooled: correct over all held-out
        /// samples against the pooled majority share.
        init(pooling parts: [(EncodingProbeResult, Int)]) throws {
            let count = parts.reduce(0) { $0 + $1.0.crossValidatedCount }
            let correct = parts.reduce(0) { $0 + $1.0.crossValidatedCorrect }
            let total = parts.reduce(0) { $0 + $1.1 }, samples = Double(total)
            let chance = parts.reduce(0) { $0 + $1.0.chance.majorityShare * Double($1.1) } / max(samples, 1)
            self.init(accuracy: count > 0 ? Double(correct) / Double(count) : nil,
                      fitSetAccuracy: parts.reduce(0) { $0 + $1.0.fitSetAccuracy * Double($1.1) } / max(samples, 1),
                      chance: chance,
                      pValue: count > 0 ? try BinomialTest(successes: correct, trials: count, nullProbability: chance).pValue : nil,
                      components: parts.map { $0.0.fitSetComponentCount }.max() ?? 0, samples: total)
        }

        /// `samples` nil (not recorded): no power figures.
        init(accuracy: Double?, fitSetAccuracy: Double, chance: Double, pValue: Double?, pValueHolm: Double? = nil,
             components: Int, samples: Int?) {
            self.accuracy = accuracy
            self.fitSetAccuracy = fitSetAccuracy
            self.chance = chance
            self.pValue = pValue
            self.pValueHolm = pValueHolm
            self.components = components
            self.samples = samples
            if let samples {
                significantAccuracy = BinomialTest.criticalSuccesses(trials: samples, nullProbability: chance, level: EncodingTable.level)
                    .map { Double($0) / Double(samples) }
                let power = BinomialTest.power(trials: samples, nullProbability: chance,
                                               alternative: Self.powerAccuracy(chance: chance), level: EncodingTable.level)
                self.power = power
                lowPower = power < EncodingTable.adequatePower
            }
        }

        /// Decodable above chance: Holm-adjusted p < 0.05.
        public var aboveChance: Bool { (pValueHolm ?? 1) < EncodingTable.level }
    }

    /// Always probed; "site" joins them when the test images come from
    /// several sites, "bias:NAME" per bias when there are several.
    public static let targetNames = ["bias", "bias_marginal", "disease"]
    /// The per-bias target of bias `name`.
    public static func biasTarget(_ name: String) -> String { "bias:" + name }

    public var layers: [String]
    public var features: [Int]
    /// Per layer: the f of the f×f×f average pooling that made the test
    /// set's activations fit the probe's memory (1: not pooled).
    public var pooling: [Int]
    /// Probe results per target, one per layer.
    public var targets: [String: [Probe]]
    /// Test images whose activations were probed (a balanced target uses
    /// a subset of them: its probes' `samples`).
    public var samples: Int
    public var folds: Int
    /// The dataset whose images were probed (nil: not recorded).
    public var dataset: String?

    public init(layers: [String], features: [Int], pooling: [Int], targets: [String: [Probe]], samples: Int, folds: Int,
                dataset: String? = nil) {
        self.layers = layers
        self.features = features
        self.pooling = pooling
        self.targets = targets
        self.samples = samples
        self.folds = folds
        self.dataset = dataset
    }

    /// What a target probes, in words.
    public static func describe(_ target: String) -> String {
        switch target {
        case "bias": return "bias (any), within each disease class on balanced subsets"
        case "bias_marginal": return "bias (any) over all images, as the original"
        case "disease": return "disease"
        case "site": return "site, each against as many images of the others"
        default:
            if target.hasPrefix("bias:") {
                return "bias \(target.dropFirst(5)) alone, balanced within each disease class and combination of the other biases"
            }
            return target
        }
    }

    /// The sample count and power of a target's probes in one sentence
    /// (from its first layer with a count; the layers share their samples),
    /// warning of little power when a layer is not above chance.
    public static func power(of probes: [Probe], images: Int) -> String {
        guard let probe = probes.first(where: { $0.samples != nil }), let samples = probe.samples else {
            return "sample count not recorded"
        }
        var text = "\(samples) of \(images) test images, chance \(String(format: "%.2f", probe.chance))"
        guard let needed = probe.significantAccuracy, let power = probe.power else {
            return text + "; too few for any accuracy to reach p < 0.05: little power, nothing can be shown"
        }
        text += String(format: "; p < 0.05 needs accuracy ≥ %.3f; power %.2f against %.3f", needed, power,
                       Probe.powerAccuracy(chance: probe.chance))
        // Power matters where a layer is not above chance: there it cannot tell absence from too few samples.
        if probes.contains(where: { $0.lowPower == true && !$0.aboveChance }) {
            text += " — little power: accuracy at chance here does not show the label absent"
        }
        return text
    }

    /// Sets every target's Holm-adjusted p-values: one family per target, over its layers.
    mutating func adjustForLayers() {
        for (target, probes) in targets {
            let adjusted = HolmCorrection.adjust(probes.map(\.pValue))
            targets[target] = zip(probes, adjusted).map { probe, holm in
                var probe = probe
                probe.pValueHolm = holm
                return probe
            }
        }
    }

    /// What one target probes: its label over all images, or balanced
    /// subsets probed one by one and pooled.
    enum Plan {
        case whole([Int])
        case pooled([(rows: [Int], labels: [Int])])
    }

    /// The targets of a set of samples, in a fixed order.
    static func plans(samples: [SampleRecord], biasNames: [String], seed: UInt64) -> [(name: String, plan: Plan)] {
        let bias = samples.map { $0.group == 0 ? 0 : 1 }, disease = samples.map(\.label)
        var plans: [(String, Plan)] = [
            ("bias", .pooled(balancedWithinClass(bias: bias, disease: disease, seed: seed).map { ($0, $0.map { bias[$0] }) })),
        ]
        if biasNames.count > 1 {
            for (b, name) in biasNames.enumerated() {
                let flag = samples.map { b < $0.biasFlags.count && $0.biasFlags[b] ? 1 : 0 }
                // Stratum: the disease class and the other biases' flags.
                let strata = samples.map { sample in
                    sample.biasFlags.indices.filter { $0 != b }.reduce(sample.label) { $0 * 2 + (sample.biasFlags[$1] ? 1 : 0) }
                }
                let parts = balancedWithinStrata(labels: flag, strata: strata, seed: seed, bias: b)
                plans.append((biasTarget(name), .pooled(parts.map { ($0, $0.map { flag[$0] }) })))
            }
        }
        plans += [("bias_marginal", .whole(bias)), ("disease", .whole(disease))]
        let sites = samples.map(\.site)
        if Set(sites).count > 1 {
            plans.append(("site", .pooled(balancedOneVersusRest(sites, seed: seed).map { site, rows in
                (rows, rows.map { sites[$0] == site ? 1 : 0 })
            })))
        }
        return plans
    }

    /// Probes every layer of `run`'s model on the split's images. Ranks
    /// share the layers (rank r probes layers r, r + N, …; each rank runs the
    /// forward passes itself, since activations are large); results are
    /// gathered on every rank. A layer whose activations over the split
    /// would exceed `memoryMiB` is average-pooled until they fit.
    public static func probe(_ run: TrainedRun, dataset: String, split: Split = .test, world: Communicator,
                             folds: Int = 5, seed: UInt64 = 0, batch: Int = 8,
                             memoryMiB: Int = AnalysisConfig().probeMemoryMiB) throws -> EncodingTable {
        let depth = run.config.widths.count
        let names = LayerEncoding.layerNames(depth: depth)
        let mine = Array(stride(from: world.rank, to: names.count, by: world.size))
        let (reader, samples, biasNames) = try world.unanimously { () -> (DatasetReader, [SampleRecord], [String]) in
            let reader = try Predictions.openDataset(dataset, for: run)
            return (reader, reader.samples.filter { $0.split == split }, reader.config.biases.map(\.name))
        }
        defer { try? reader.close() }
        let plans = Self.plans(samples: samples, biasNames: biasNames, seed: seed)
        // Per layer: features, pooling, then per target: accuracy, fit, chance, p, components, samples (NaN: none).
        let stride = 6, width = 2 + stride * plans.count
        var local = [Double](repeating: 0, count: names.count * width)
        try world.unanimously {
            guard !mine.isEmpty else { return }
            let loader = try run.imageLoader(reader)
            let model = try run.model(maxBatch: batch)
            let probe = EncodingProbe(folds: folds, seed: seed)
            let pooling = LayerEncoding.pooling(model: model, layers: mine, count: samples.count,
                                                budget: memoryMiB * (1 << 20) / MemoryLayout<Float>.stride)
            let matrices = try LayerEncoding.activations(model: model, layers: mine, count: samples.count, pooling: pooling) {
                try loader.load([samples[$0].index])
            }
            for ((layer, features), pooled) in zip(zip(mine, matrices), pooling) {
                var row = [Double(features.columnCount), Double(pooled.factor)]
                for (_, plan) in plans {
                    let result: Probe
                    switch plan {
                    case .whole(let labels):
                        result = Probe(try probe.evaluate(features: features, labels: labels), samples: labels.count)
                    case .pooled(let parts):
                        result = try Probe(pooling: parts.map { part in
                            (try probe.evaluate(features: try features.rows(part.rows), labels: part.labels), part.rows.count)
                        })
                    }
                    row += [result.accuracy ?? .nan, result.fitSetAccuracy, result.chance, result.pValue ?? .nan,
                            Double(result.components), Double(result.samples ?? 0)]
                }
                local.replaceSubrange((layer * width)..<((layer + 1) * width), with: row)
            }
        }
        try world.allreduce(&local, op: .sum)
        func value(_ layer: Int, _ column: Int) -> Double { local[layer * width + column] }
        var targets: [String: [Probe]] = [:]
        for (t, (target, _)) in plans.enumerated() {
            targets[target] = names.indices.map { layer in
                let base = 2 + stride * t
                let accuracy = value(layer, base), p = value(layer, base + 3)
                return Probe(accuracy: accuracy.isNaN ? nil : accuracy, fitSetAccuracy: value(layer, base + 1),
                             chance: value(layer, base + 2), pValue: p.isNaN ? nil : p,
                             components: Int(value(layer, base + 4)), samples: Int(value(layer, base + 5)))
            }
        }
        var table = EncodingTable(layers: names, features: names.indices.map { Int(value($0, 0)) },
                                  pooling: names.indices.map { Int(value($0, 1)) }, targets: targets,
                                  samples: samples.count, folds: folds, dataset: dataset)
        table.adjustForLayers()
        return table
    }

    /// Per disease class, as many images with the bias as without it
    /// (the larger side subsampled, seeded), so the bias probe's chance is
    /// one half and the disease cannot stand in for the bias.
    static func balancedWithinClass(bias: [Int], disease: [Int], seed: UInt64) -> [[Int]] {
        [0, 1].compactMap { label in
            var sides = [0, 1].map { b in bias.indices.filter { disease[$0] == label && bias[$0] == b } }
            let size = min(sides[0].count, sides[1].count)
            guard size >= 2 else { return nil }
            var generator = SeededGenerator(seed: seed, stream: UInt64(label), "balanced bias probe")
            for side in sides.indices { sides[side].deterministicShuffle(using: &generator) }
            return (sides[0].prefix(size) + sides[1].prefix(size)).sorted()
        }
    }

    /// Per stratum, as many samples with label 1 as with 0 (the larger side
    /// subsampled, seeded by the stratum and `bias`), so within the pooled
    /// subsets the label is independent of what the strata hold.
    static func balancedWithinStrata(labels: [Int], strata: [Int], seed: UInt64, bias: Int) -> [[Int]] {
        Set(strata).sorted().compactMap { stratum in
            var sides = [0, 1].map { value in labels.indices.filter { strata[$0] == stratum && labels[$0] == value } }
            let size = min(sides[0].count, sides[1].count)
            guard size >= 2 else { return nil }
            var generator = SeededGenerator(seed: seed, stream: UInt64(bias) << 32 | UInt64(stratum), "balanced per-bias probe")
            for side in sides.indices { sides[side].deterministicShuffle(using: &generator) }
            return (sides[0].prefix(size) + sides[1].prefix(size)).sorted()
        }
    }

    /// Per site: its images and as many drawn from the other sites (seeded),
    /// so "this site or another?" has chance one half; pooled over sites
    /// this is the lab's "secret site classifier".
    static func balancedOneVersusRest(_ sites: [Int], seed: UInt64) -> [(site: Int, rows: [Int])] {
        Set(sites).sorted().compactMap { site in
            let inside = sites.indices.filter { sites[$0] == site }
            var outside = sites.indices.filter { sites[$0] != site }
            let size = min(inside.count, outside.count)
            guard size >= 2 else { return nil }
            var generator = SeededGenerator(seed: seed, stream: UInt64(site), "balanced site probe")
            var chosen = inside
            chosen.deterministicShuffle(using: &generator)
            outside.deterministicShuffle(using: &generator)
            return (site, (chosen.prefix(size) + outside.prefix(size)).sorted())
        }
    }

    static let groupName = EncodingSection.own.rawValue

    /// Replaces the section's group (default `/encoding`) in the run file
    /// (serial; call on one rank).
    public func write(to path: String, section: EncodingSection = .own) throws {
        try RunFileSection.replace(section.rawValue, in: path) { group in
            try group.setAttribute("description", section.meaning + "; per layer: PCA (99% variance) + logistic regression on the test split's activations, \(folds)-fold cross-validated; bias: probed within each disease class on balanced subsets (as many with as without the bias) and pooled, which removes what the disease label explains; bias:NAME (several biases): one bias, balanced within each disease class and each combination of the other biases; bias_marginal: over all images as in the original; fit_set_accuracy is what the original reports; chance: majority-class share; p_value: one-sided exact binomial test against chance; p_value_holm: p_value Holm-adjusted over the layers of the target (what 'above chance' means); samples: images the probe was tested on; significant_accuracy: the smallest accuracy reaching p < 0.05 with those samples at that chance (NaN: none can); power: of the test at 0.05 against an accuracy a quarter of the way from chance to 1; low_power: power < 0.8")
            try group.setAttribute("samples", samples)
            try group.setAttribute("folds", folds)
            if let dataset { try group.setAttribute("dataset", dataset) }
            try group.writeStrings("layer", layers)
            try group.writeDataset("features", features)
            try group.writeDataset("pooling", pooling)
            try group.setAttribute("pooling", "f of the f×f×f average pooling of each layer's activations (1: none), applied when the split's activations would exceed the probe's memory")
            for (target, probes) in targets.sorted(by: { $0.key < $1.key }) {
                let sub = try group.createGroup(target)
                try sub.writeDataset("accuracy", probes.map { $0.accuracy ?? .nan })
                try sub.writeDataset("fit_set_accuracy", probes.map(\.fitSetAccuracy))
                try sub.writeDataset("chance", probes.map(\.chance))
                try sub.writeDataset("p_value", probes.map { $0.pValue ?? .nan })
                try sub.writeDataset("p_value_holm", probes.map { $0.pValueHolm ?? .nan })
                try sub.writeDataset("components", probes.map(\.components))
                if probes.allSatisfy({ $0.samples != nil }) {
                    try sub.writeDataset("samples", probes.map { $0.samples ?? 0 })
                    try sub.writeDataset("significant_accuracy", probes.map { $0.significantAccuracy ?? .nan })
                    try sub.writeDataset("power", probes.map { $0.power ?? .nan })
                    try sub.writeDataset("low_power", probes.map { $0.lowPower == true ? 1 : 0 })
                }
            }
        }
    }

    /// Reads a section (default `/encoding`) of a run file, nil if it has
    /// none. A run file from before the sample counts and Holm p-values:
    /// the Holm values are computed from the raw ones, the counts stay nil.
    public static func read(from path: String, section: EncodingSection = .own) throws -> EncodingTable? {
        try RunFileSection.read(section.rawValue, in: path) { group in
            var targets: [String: [Probe]] = [:]
            for target in try group.memberNames() where !["layer", "features", "pooling"].contains(target) {
                let sub = try group.group(target)
                let accuracy: [Double] = try sub.dataset("accuracy").read(), fit: [Double] = try sub.dataset("fit_set_accuracy").read()
                let chance: [Double] = try sub.dataset("chance").read(), p: [Double] = try sub.dataset("p_value").read()
                let components: [Int] = try sub.dataset("components").read()
                let counts: [Int]? = sub.contains("samples") ? try sub.dataset("samples").read() : nil
                let holm: [Double]? = sub.contains("p_value_holm") ? try sub.dataset("p_value_holm").read() : nil
                let probes = accuracy.indices.map { layer in
                    Probe(accuracy: accuracy[layer].isNaN ? nil : accuracy[layer], fitSetAccuracy: fit[layer],
                          chance: chance[layer], pValue: p[layer].isNaN ? nil : p[layer],
                          pValueHolm: holm.flatMap { $0[layer].isNaN ? nil : $0[layer] },
                          components: components[layer], samples: counts?[layer])
                }
                if holm == nil {
                    targets[target] = zip(probes, HolmCorrection.adjust(probes.map(\.pValue))).map {
                        var probe = $0
                        probe.pValueHolm = $1
                        return probe
                    }
                } else {
                    targets[target] = probes
                }
            }
            let features: [Int] = try group.dataset("features").read()
            return EncodingTable(layers: try group.readStrings("layer"), features: features,
                                 pooling: group.contains("pooling") ? try group.dataset("pooling").read() : features.map { _ in 1 },
                                 targets: targets, samples: try group.attribute("samples", as: Int.self),
                                 folds: try group.attribute("folds", as: Int.self),
                                 dataset: group.hasAttribute("dataset") ? try group.stringAttribute("dataset") : nil)
        }
    }
}

/// Where an encoding table lives in a run file: the run's own test images,
/// or another cohort's (never overwriting the run's own `/encoding`).
public enum EncodingSection: String, Sendable, CaseIterable {
    /// The test images of the dataset the run was trained on.
    case own = "encoding"
    /// Another dataset's test images, which carry the bias (the twin model
    /// on the biased cohort: the bias is in the input, the model never
    /// trained on it).
    case biasedImages = "encoding_biased_images"
    /// Another dataset's test images without the bias (a counterfactual twin cohort).
    case twinImages = "encoding_twin_images"

    /// What the section's probes were run on, for the file's description.
    var meaning: String {
        switch self {
        case .own: return "the run's own test images"
        case .biasedImages: return "another cohort's test images with the bias in them (for the twin arm: the biased cohort's; the bias is present in the input, the model never trained on it)"
        case .twinImages: return "another cohort's test images without the bias (a counterfactual twin cohort's)"
        }
    }
}
