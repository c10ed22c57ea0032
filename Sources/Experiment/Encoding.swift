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
/// "bias_marginal", the bias over all images as the original does.
public struct EncodingTable: Codable, Sendable, Equatable {
    public struct Probe: Codable, Sendable, Equatable {
        /// Cross-validated accuracy; nil with too few samples.
        public var accuracy: Double?
        /// What the original reports: accuracy on the fitted samples.
        public var fitSetAccuracy: Double
        /// Majority-class share (the accuracy of always guessing it).
        public var chance: Double
        /// One-sided exact binomial test of the cross-validated count against chance.
        public var pValue: Double?
        public var components: Int

        init(_ result: EncodingProbeResult) {
            accuracy = result.crossValidatedAccuracy
            fitSetAccuracy = result.fitSetAccuracy
            chance = result.chance.majorityShare
            pValue = result.aboveChanceTest?.pValue
            components = result.fitSetComponentCount
        }

        /// Probes of disjoint subsets, pooled: correct over all held-out
        /// samples against the pooled majority share.
        init(pooling parts: [(EncodingProbeResult, Int)]) throws {
            let count = parts.reduce(0) { $0 + $1.0.crossValidatedCount }
            let correct = parts.reduce(0) { $0 + $1.0.crossValidatedCorrect }
            let samples = Double(parts.reduce(0) { $0 + $1.1 })
            accuracy = count > 0 ? Double(correct) / Double(count) : nil
            fitSetAccuracy = parts.reduce(0) { $0 + $1.0.fitSetAccuracy * Double($1.1) } / max(samples, 1)
            chance = parts.reduce(0) { $0 + $1.0.chance.majorityShare * Double($1.1) } / max(samples, 1)
            pValue = count > 0 ? try BinomialTest(successes: correct, trials: count, nullProbability: chance).pValue : nil
            components = parts.map { $0.0.fitSetComponentCount }.max() ?? 0
        }

        init(accuracy: Double?, fitSetAccuracy: Double, chance: Double, pValue: Double?, components: Int) {
            self.accuracy = accuracy
            self.fitSetAccuracy = fitSetAccuracy
            self.chance = chance
            self.pValue = pValue
            self.components = components
        }
    }

    /// Always probed; "site" joins them when the test images come from several sites.
    public static let targetNames = ["bias", "bias_marginal", "disease"]

    public var layers: [String]
    public var features: [Int]
    /// Per layer: the f of the f×f×f average pooling that made the test
    /// set's activations fit the probe's memory (1: not pooled).
    public var pooling: [Int]
    /// Probe results per target, one per layer.
    public var targets: [String: [Probe]]
    public var samples: Int
    public var folds: Int

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
        let (reader, samples) = try world.unanimously { () -> (DatasetReader, [SampleRecord]) in
            let reader = try Predictions.openDataset(dataset, for: run)
            return (reader, reader.samples.filter { $0.split == split })
        }
        defer { try? reader.close() }
        // The site is a target when the test images come from several sites.
        let sites = samples.map(\.site)
        let targetNames = Self.targetNames + (Set(sites).count > 1 ? ["site"] : [])
        // Per layer: features, pooling, then per target: accuracy, fit, chance, p, components (NaN: none).
        let width = 2 + 5 * targetNames.count
        var local = [Double](repeating: 0, count: names.count * width)
        try world.unanimously {
            guard !mine.isEmpty else { return }
            let loader = ImageLoader(reader: reader)
            let model = try run.model(maxBatch: batch)
            let probe = EncodingProbe(folds: folds, seed: seed)
            let bias = samples.map { $0.group == 0 ? 0 : 1 }, disease = samples.map(\.label)
            let pooling = LayerEncoding.pooling(model: model, layers: mine, count: samples.count,
                                                budget: memoryMiB * (1 << 20) / MemoryLayout<Float>.stride)
            let matrices = try LayerEncoding.activations(model: model, layers: mine, count: samples.count, pooling: pooling) {
                try loader.load([samples[$0].index])
            }
            for ((layer, features), pooled) in zip(zip(mine, matrices), pooling) {
                var withinClass: [(EncodingProbeResult, Int)] = []
                for rows in balancedWithinClass(bias: bias, disease: disease, seed: seed) {
                    withinClass.append((try probe.evaluate(features: try features.rows(rows), labels: rows.map { bias[$0] }),
                                        rows.count))
                }
                var probes = [try Probe(pooling: withinClass), Probe(try probe.evaluate(features: features, labels: bias)),
                              Probe(try probe.evaluate(features: features, labels: disease))]
                if targetNames.contains("site") {
                    let parts = try balancedOneVersusRest(sites, seed: seed).map { site, rows in
                        (try probe.evaluate(features: try features.rows(rows), labels: rows.map { sites[$0] == site ? 1 : 0 }),
                         rows.count)
                    }
                    probes.append(try Probe(pooling: parts))
                }
                var row = [Double(features.columnCount), Double(pooled.factor)]
                for probe in probes {
                    row += [probe.accuracy ?? .nan, probe.fitSetAccuracy, probe.chance, probe.pValue ?? .nan,
                            Double(probe.components)]
                }
                local.replaceSubrange((layer * width)..<((layer + 1) * width), with: row)
            }
        }
        try world.allreduce(&local, op: .sum)
        func value(_ layer: Int, _ column: Int) -> Double { local[layer * width + column] }
        var targets: [String: [Probe]] = [:]
        for (t, target) in targetNames.enumerated() {
            targets[target] = names.indices.map { layer in
                let base = 2 + 5 * t
                let accuracy = value(layer, base), p = value(layer, base + 3)
                return Probe(accuracy: accuracy.isNaN ? nil : accuracy, fitSetAccuracy: value(layer, base + 1),
                             chance: value(layer, base + 2), pValue: p.isNaN ? nil : p,
                             components: Int(value(layer, base + 4)))
            }
        }
        return EncodingTable(layers: names, features: names.indices.map { Int(value($0, 0)) },
                             pooling: names.indices.map { Int(value($0, 1)) }, targets: targets,
                             samples: samples.count, folds: folds)
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

    static let groupName = "encoding"

    /// Replaces `/encoding` in the run file (serial; call on one rank).
    public func write(to path: String) throws {
        try RunFileSection.replace(Self.groupName, in: path) { group in
            try group.setAttribute("description", "per layer: PCA (99% variance) + logistic regression on the test split's activations, \(folds)-fold cross-validated; bias: probed within each disease class on balanced subsets (as many with as without the bias) and pooled, which removes what the disease label explains; bias_marginal: over all images as in the original; fit_set_accuracy is what the original reports; chance: majority-class share; p_value: one-sided exact binomial test against chance")
            try group.setAttribute("samples", samples)
            try group.setAttribute("folds", folds)
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
                try sub.writeDataset("components", probes.map(\.components))
        }
        }
    }

    /// Reads `/encoding` of a run file, nil if it has none.
    public static func read(from path: String) throws -> EncodingTable? {
        try RunFileSection.read(groupName, in: path) { group in
            var targets: [String: [Probe]] = [:]
            for target in try group.memberNames() where !["layer", "features", "pooling"].contains(target) {
                let sub = try group.group(target)
                let accuracy: [Double] = try sub.dataset("accuracy").read(), fit: [Double] = try sub.dataset("fit_set_accuracy").read()
                let chance: [Double] = try sub.dataset("chance").read(), p: [Double] = try sub.dataset("p_value").read()
                let components: [Int] = try sub.dataset("components").read()
                targets[target] = accuracy.indices.map {
                    Probe(accuracy: accuracy[$0].isNaN ? nil : accuracy[$0], fitSetAccuracy: fit[$0], chance: chance[$0],
                          pValue: p[$0].isNaN ? nil : p[$0], components: components[$0])
                }
        }
        let features: [Int] = try group.dataset("features").read()
        return EncodingTable(layers: try group.readStrings("layer"), features: features,
                             pooling: group.contains("pooling") ? try group.dataset("pooling").read() : features.map { _ in 1 },
                             targets: targets, samples: try group.attribute("samples", as: Int.self),
                             folds: try group.attribute("folds", as: Int.self))
        }
    }
}
