import Foundation
import Synthesis

/// What `simba regions` prints: the atlas's regions on the experiment's grid.
public enum RegionReport {
    /// Every region with its volume and centroid, or with `distance` the
    /// distance between two regions.
    public static func text(template settings: TemplateSettings, distance: (String, String)?) throws -> String {
        let anatomy = try Anatomy.load(settings)
        if let distance {
            let a = try anatomy.region(distance.0), b = try anatomy.region(distance.1)
            let measured = try anatomy.distance(a, b)
            return String(format: "%@ ↔ %@: centroids %.1f mm apart, closest voxels %.1f mm apart (%.1f mm grid)\n",
                          a.name, b.name, measured.centroidMM, measured.closestMM, settings.voxelMM)
        }
        let rows = anatomy.regionStatistics().map { entry in
            [String(entry.region.label), entry.region.name, String(format: "%.2f", entry.volumeML),
             String(format: "(%.1f, %.1f, %.1f)", entry.centroidMM.x, entry.centroidMM.y, entry.centroidMM.z)]
        }
        return "\(anatomy.description), \(settings.voxelMM) mm grid\n"
            + ResultText.columns(["label", "name", "volume mL", "centroid mm (x, y, z)"], rows).joined(separator: "\n") + "\n"
    }
}
