import Synthesis
import Volumes

/// Slice montages of a cohort's images with the disease region outlined in
/// red and each regional bias in its own colour.
public enum ExampleSlices {
    public static let biasColors: [RGB] = [.blue, .green, .yellow, .cyan, .magenta]

    public static func outlines(_ reader: DatasetReader) throws -> [RegionOutline] {
        let names = try reader.labelNames()
        var outlines = [RegionOutline]()
        if let disease = names.label(named: reader.config.disease.region) {
            outlines.append(RegionOutline(labels: [disease], color: .red))
        }
        for (index, bias) in reader.config.biases.enumerated() {
            if let region = bias.region, let label = names.label(named: region) {
                outlines.append(RegionOutline(labels: [label], color: biasColors[index % biasColors.count]))
            }
        }
        return outlines
    }

    public static func montage(voxelMM: Double) -> SliceMontage {
        SliceMontage(slicesPerPlane: 5, pixelScale: max(1, Int(4 / voxelMM)))
    }

    /// PNG montages of a few test images of `dataset`: the first of each
    /// class × bias group, captioned.
    public static func examples(dataset: String, groupNames: GroupNames? = nil) throws -> [(caption: String, png: [UInt8])] {
        let reader = try DatasetReader(path: dataset)
        defer { try? reader.close() }
        let names = groupNames ?? GroupNames(biasNames: reader.config.biases.map(\.name))
        let labels = try reader.templateLabels()
        let outlines = try outlines(reader)
        let montage = montage(voxelMM: reader.config.template.voxelMM)
        var seen = Set<[Int]>()
        var examples: [(String, [UInt8])] = []
        for sample in reader.samples where sample.split == .test && seen.insert([sample.label, sample.group]).inserted {
            let image = try reader.image(sample.index)
            let caption = "sample \(sample.index): \(sample.label == 1 ? "disease" : "healthy"), bias group \(names.name(of: sample.group))"
            examples.append((caption, try PNG.encode(montage.render(image, labels: labels, outlines: outlines))))
        }
        return examples.sorted { $0.0 < $1.0 }
    }

    /// Montages of each saliency cell's mean map (bright: salient) with the
    /// regions outlined.
    public static func saliency(_ table: SaliencyTable, arm: String, dataset: String) throws -> [(caption: String, png: [UInt8])] {
        let reader = try DatasetReader(path: dataset)
        defer { try? reader.close() }
        let labels = try reader.templateLabels()
        let outlines = try outlines(reader)
        let montage = montage(voxelMM: reader.config.template.voxelMM)
        return try table.cells.indices.filter { table.counts[$0] > 0 }.map { cell in
            let volume = Volume(grid: reader.grid, cOrder: table.maps[cell])
            return ("\(arm): mean saliency of \(table.cells[cell]) (\(table.counts[cell]) images)",
                    try PNG.encode(montage.render(volume, labels: labels, outlines: outlines)))
        }
    }
}
