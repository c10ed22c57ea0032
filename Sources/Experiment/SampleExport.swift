import Foundation
import Synthesis
import Volumes

/// What `simba export` writes: samples as NIfTI in the template's world
/// space, and PNG montages with the regions outlined.
public enum SampleExport {
    /// Writes `samples` of `dataset` into `output` (created if needed);
    /// returns the paths written.
    public static func write(dataset: String, samples wanted: [Int], to output: String, png: Bool) throws -> [String] {
        let reader = try DatasetReader(path: dataset)
        defer { try? reader.close() }
        if let bad = wanted.first(where: { !(0..<reader.samples.count).contains($0) }) {
            throw ExperimentError("sample \(bad) is not in \(dataset) (0..<\(reader.samples.count))")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let labels = try reader.templateLabels()
        let outlines = try ExampleSlices.outlines(reader)
        var written: [String] = []
        for index in wanted {
            let image = try reader.image(index)
            let stem = (output as NSString).appendingPathComponent(String(format: "sample-%05d", index))
            try NIfTI.write(image, path: stem + ".nii.gz")
            written.append(stem + ".nii.gz")
            if png {
                let montage = ExampleSlices.montage(voxelMM: reader.config.template.voxelMM)
                try PNG.write(montage.render(image, labels: labels, outlines: outlines), path: stem + ".png")
                written.append(stem + ".png")
            }
        }
        return written
    }
}
