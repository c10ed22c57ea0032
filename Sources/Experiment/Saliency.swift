import Analysis
import Cluster
import Foundation
import Network
import Randomness
import Storage
import Synthesis
import Training
import Volumes

/// SimBA's saliency analysis: for every bias group, up to `perCell` test
/// images the model classifies correctly as disease (TP, class-1 score)
/// and as healthy (TN, class-0 score) get a SmoothGrad map (20 copies,
/// σ 0.2); each cell's maps are averaged in template space and scored per
/// atlas region (coverage above a threshold, normalised mean, weighted score).
public struct SaliencyTable: Sendable, Equatable {
    /// "morph TP", "none TN", …
    public var cells: [String]
    public var counts: [Int]
    /// Mean map per cell, C order [X, Y, Z] of the dataset grid.
    public var maps: [[Float]]
    public var shape: [Int]
    public var regionLabels: [Int32]
    public var regionNames: [String]
    /// weighted score [cell][region]
    public var scores: [[Double]]
    public var coverage: [[Double]]
    public var threshold: Float

    /// The `count` regions with the highest weighted score in `cell`.
    public func topRegions(_ cell: Int, count: Int = 5) -> [(name: String, score: Double)] {
        regionNames.indices.sorted { scores[cell][$0] > scores[cell][$1] }.prefix(count).map { (regionNames[$0], scores[cell][$0]) }
    }

    public static func compute(_ run: TrainedRun, evaluation: StoredEvaluation, dataset: String, world: Communicator,
                               perCell: Int = 10, threshold: Float = 0.2, smoothGrad: SmoothGrad = SmoothGrad(),
                               seed: UInt64 = 66) throws -> SaliencyTable {
        // Cells and their images, chosen alike on every rank.
        let p = evaluation.predictions
        let groups = Array(Set(p.groups)).sorted()
        var cells: [String] = [], chosen: [[Int]] = []  // positions into the predictions
        for group in groups {
            for (outcome, label) in [("TP", 1), ("TN", 0)] {
                var members = p.indices.indices.filter {
                    p.groups[$0] == group && p.labels[$0] == label && ScoredSamples.predictedLabel(score: p.scores[$0]) == label
                }
                var generator = SeededGenerator(seed: seed, stream: UInt64(cells.count), "saliency")
                members.deterministicShuffle(using: &generator)
                cells.append("\(group) \(outcome)")
                chosen.append(Array(members.prefix(perCell)).sorted())
            }
        }
        let jobs = chosen.enumerated().flatMap { cell, positions in positions.map { (cell: cell, position: $0) } }
        let (reader, model, labels) = try world.unanimously { () -> (DatasetReader, SimbaCNN, [Int32]) in
            let reader = try Predictions.openDataset(dataset, for: run)
            let labels: [Int32] = try reader.file.root.group("template").dataset("labels").read()
            return (reader, try run.model(maxBatch: min(smoothGrad.copies, 10)), labels)
        }
        defer { try? reader.close() }
        let voxels = run.input.voxels
        let loader = try run.imageLoader(reader)
        var sums = [Double](repeating: 0, count: cells.count * voxels)
        try world.unanimously {
            for job in stride(from: world.rank, to: jobs.count, by: world.size).map({ jobs[$0] }) {
                let index = p.indices[job.position]
                let image = try loader.load([index])
                let map = smoothGrad.map(model: model, image: image, classIndex: p.labels[job.position], sample: index)
                let base = job.cell * voxels
                for v in 0..<voxels { sums[base + v] += Double(map[v]) }
            }
        }
        try world.allreduce(&sums, op: .sum)
        let names = try reader.labelNames()
        let maps = chosen.indices.map { cell -> [Float] in
            let n = Double(max(chosen[cell].count, 1))
            return (0..<voxels).map { Float(sums[cell * voxels + $0] / n) }
        }
        let perRegion = maps.map { RegionSaliency.scores(map: $0, labels: labels, threshold: threshold) }
        let regionLabels = perRegion.first?.map { $0.label } ?? []
        return SaliencyTable(cells: cells, counts: chosen.map(\.count), maps: maps, shape: reader.shape,
                             regionLabels: regionLabels,
                             regionNames: regionLabels.map { names.names[$0] ?? "label \($0)" },
                             scores: perRegion.map { $0.map { $0.weightedScore } },
                             coverage: perRegion.map { $0.map { $0.coverage } }, threshold: threshold)
    }

    static let groupName = "saliency"

    /// Replaces `/saliency` in the run file (serial; call on one rank).
    public func write(to path: String) throws {
        try RunFileSection.replace(Self.groupName, in: path) { group in
            try group.setAttribute("description", "SmoothGrad (20 copies, sigma 0.2) of correctly classified test images per bias group and outcome (TP: disease score, TN: healthy score); mean_map: the cell's average in template space (C order); region scores after a threshold of \(threshold): coverage_percent, weighted_score = min-max normalised mean x coverage")
            try group.setAttribute("threshold", Double(threshold))
            try group.writeStrings("cell", cells)
            try group.writeDataset("images", counts)
            try group.writeDataset("mean_map", maps.flatMap { $0 }, shape: [cells.count] + shape)
            try group.writeDataset("region_label", regionLabels)
            try group.writeStrings("region_name", regionNames)
            try group.writeDataset("weighted_score", scores.flatMap { $0 }, shape: [cells.count, regionLabels.count])
            try group.writeDataset("coverage_percent", coverage.flatMap { $0 }, shape: [cells.count, regionLabels.count])
        }
    }
}

extension SaliencyTable {
    /// Reads `/saliency` of a run file, nil if it has none.
    public static func read(from path: String) throws -> SaliencyTable? {
        try RunFileSection.read(groupName, in: path) { group in
            let cells = try group.readStrings("cell")
            let mapDataset = try group.dataset("mean_map")
            let shape = Array(try mapDataset.shape.dropFirst())
            let voxels = shape.reduce(1, *)
            let flat: [Float] = try mapDataset.read()
            let regions: [Int32] = try group.dataset("region_label").read()
            let scores: [Double] = try group.dataset("weighted_score").read()
            let coverage: [Double] = try group.dataset("coverage_percent").read()
            func rows(_ values: [Double]) -> [[Double]] {
                cells.indices.map { Array(values[($0 * regions.count)..<(($0 + 1) * regions.count)]) }
        }
        let threshold = Float(try group.attribute("threshold", as: Double.self))
        return SaliencyTable(cells: cells, counts: try group.dataset("images").read(),
                             maps: cells.indices.map { Array(flat[($0 * voxels)..<(($0 + 1) * voxels)]) },
                             shape: shape, regionLabels: regions, regionNames: try group.readStrings("region_name"),
                             scores: rows(scores), coverage: rows(coverage), threshold: threshold)
        }
    }

    /// Each cell's mean map as NIfTI in the dataset's world space
    /// (`folder`/saliency-<cell>.nii.gz); returns the paths.
    public func writeNIfTI(folder: String, dataset: String) throws -> [String] {
        let reader = try DatasetReader(path: dataset)
        defer { try? reader.close() }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try cells.indices.map { cell in
            let name = "saliency-" + cells[cell].replacingOccurrences(of: " ", with: "-").replacingOccurrences(of: "+", with: "_")
            let path = (folder as NSString).appendingPathComponent(name + ".nii.gz")
            try NIfTI.write(Volume(grid: reader.grid, cOrder: maps[cell]), path: path)
            return path
        }
    }
}
