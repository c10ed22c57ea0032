import Analysis
import Cluster
import Foundation
import Storage
import Synthesis
import Training

/// Layer-wise encoding (eBioMedicine 2025): each block's test-set
/// activations → PCA (99% variance) → logistic regression predicting the
/// bias label and the disease label, cross-validated (5 folds).
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
    }

    public var layers: [String]
    public var features: [Int]
    /// Probe results per target ("bias", "disease"), one per layer.
    public var targets: [String: [Probe]]
    public var samples: Int
    public var folds: Int

    /// Probes every layer of `run`'s model on the split's images. Ranks
    /// share the layers (rank r probes layers r, r + N, …; each rank runs the
    /// forward passes itself, since activations are large); results are
    /// gathered on every rank.
    public static func probe(_ run: TrainedRun, dataset: String, split: Split = .test, world: Communicator,
                             folds: Int = 5, seed: UInt64 = 0, batch: Int = 8) throws -> EncodingTable {
        let depth = run.config.widths.count
        let names = LayerEncoding.layerNames(depth: depth)
        let mine = Array(stride(from: world.rank, to: names.count, by: world.size))
        let targetNames = ["bias", "disease"]
        // Per layer: features, then per target: accuracy, fit, chance, p, components (NaN: none).
        let width = 1 + 5 * targetNames.count
        var local = [Double](repeating: 0, count: names.count * width)
        let sampleCount = try world.unanimously { () -> Int in
            let reader = try Predictions.openDataset(dataset, for: run)
            defer { try? reader.close() }
            let samples = reader.samples.filter { $0.split == split }
            guard !mine.isEmpty else { return samples.count }
            let loader = ImageLoader(reader: reader)
            let model = try run.model(maxBatch: batch)
            let labels = ["bias": samples.map { $0.group == 0 ? 0 : 1 }, "disease": samples.map(\.label)]
            let results = try LayerEncoding.probe(
                model: model, layers: mine, count: samples.count, labels: labels,
                probe: EncodingProbe(folds: folds, seed: seed)) { try loader.load([samples[$0].index]) }
            for (layer, result) in zip(mine, results) {
                var row = [Double(result.features)]
                for target in targetNames {
                    let probe = result.probes[target]!
                    row += [probe.crossValidatedAccuracy ?? .nan, probe.fitSetAccuracy, probe.chance.majorityShare,
                            probe.aboveChanceTest?.pValue ?? .nan, Double(probe.fitSetComponentCount)]
                }
                local.replaceSubrange((layer * width)..<((layer + 1) * width), with: row)
            }
            return samples.count
        }
        try world.allreduce(&local, op: .sum)
        func value(_ layer: Int, _ column: Int) -> Double { local[layer * width + column] }
        var targets: [String: [Probe]] = [:]
        for (t, target) in targetNames.enumerated() {
            targets[target] = names.indices.map { layer in
                let base = 1 + 5 * t
                let accuracy = value(layer, base), p = value(layer, base + 3)
                return Probe(accuracy: accuracy.isNaN ? nil : accuracy, fitSetAccuracy: value(layer, base + 1),
                             chance: value(layer, base + 2), pValue: p.isNaN ? nil : p,
                             components: Int(value(layer, base + 4)))
            }
        }
        return EncodingTable(layers: names, features: names.indices.map { Int(value($0, 0)) }, targets: targets,
                             samples: sampleCount, folds: folds)
    }

    static let groupName = "encoding"

    /// Replaces `/encoding` in the run file (serial; call on one rank).
    public func write(to path: String) throws {
        let file = try H5File.open(path, writable: true)
        let root = try file.root
        if root.contains(Self.groupName) { try root.removeLink(Self.groupName) }
        let group = try root.createGroup(Self.groupName)
        try group.setAttribute("description", "per layer: PCA (99% variance) + logistic regression on the test split's activations, \(folds)-fold cross-validated; fit_set_accuracy is what the original reports; chance: majority-class share; p_value: one-sided exact binomial test against chance")
        try group.setAttribute("samples", samples)
        try group.setAttribute("folds", folds)
        try group.writeStrings("layer", layers)
        try group.writeDataset("features", features)
        for (target, probes) in targets.sorted(by: { $0.key < $1.key }) {
            let sub = try group.createGroup(target)
            try sub.writeDataset("accuracy", probes.map { $0.accuracy ?? .nan })
            try sub.writeDataset("fit_set_accuracy", probes.map(\.fitSetAccuracy))
            try sub.writeDataset("chance", probes.map(\.chance))
            try sub.writeDataset("p_value", probes.map { $0.pValue ?? .nan })
            try sub.writeDataset("components", probes.map(\.components))
        }
        try group.setAttribute("complete", 1)
        try file.close()
    }

    /// Reads `/encoding` of a run file, nil if it has none.
    public static func read(from path: String) throws -> EncodingTable? {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let root = try file.root
        guard root.contains(groupName) else { return nil }
        let group = try root.group(groupName)
        guard group.hasAttribute("complete") else { return nil }
        var targets: [String: [Probe]] = [:]
        for target in try group.memberNames() where !["layer", "features"].contains(target) {
            let sub = try group.group(target)
            let accuracy: [Double] = try sub.dataset("accuracy").read(), fit: [Double] = try sub.dataset("fit_set_accuracy").read()
            let chance: [Double] = try sub.dataset("chance").read(), p: [Double] = try sub.dataset("p_value").read()
            let components: [Int] = try sub.dataset("components").read()
            targets[target] = accuracy.indices.map {
                Probe(accuracy: accuracy[$0].isNaN ? nil : accuracy[$0], fitSetAccuracy: fit[$0], chance: chance[$0],
                      pValue: p[$0].isNaN ? nil : p[$0], components: components[$0])
            }
        }
        return EncodingTable(layers: try group.readStrings("layer"), features: try group.dataset("features").read(),
                             targets: targets, samples: try group.attribute("samples", as: Int.self),
                             folds: try group.attribute("folds", as: Int.self))
    }
}
