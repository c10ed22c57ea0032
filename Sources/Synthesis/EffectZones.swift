import Volumes

/// How confined regional effects keep out of each other: every effect has
/// a zone, its region grown by how far its own displacement reaches (its
/// band), and every other effect's field is multiplied by a taper that is 0
/// inside that zone and rises smoothly to 1 outside it. Inside an effect's
/// zone only its own field moves tissue, and the points that end up in its
/// region come from within the zone, so no other effect changes the region
/// (exactly so in the continuous limit; what discretisation leaves is
/// measured per sample, see `LeakageMeter`).
struct EffectZones: Sendable {
    /// Distance (mm) from each image voxel to each effect's region.
    let distances: [Volume<Float>]
    /// Each effect's band (mm): how far its zone extends beyond its region.
    let bandsMM: [Double]

    init(regions masks: [Volume<Float>], bandsMM: [Double]) {
        distances = masks.map { $0.distanceMap { $0 > 0.5 } }
        self.bandsMM = bandsMM
    }

    /// The taper of effect `index`'s field on the image grid: the product,
    /// over the other effects, of a smoothstep of the distance to their
    /// zone, 0 inside it and 1 from `widthMM` outside it.
    func taper(_ index: Int, widthMM: Double) -> Volume<Float> {
        let grid = distances[index].grid
        var taper = [Float](repeating: 1, count: grid.count)
        let width = Float(widthMM)
        for other in distances.indices where other != index {
            let distance = distances[other].voxels, band = Float(bandsMM[other])
            for n in taper.indices {
                let t = min(max((distance[n] - band) / width, 0), 1)
                taper[n] *= t * t * (3 - 2 * t)
            }
        }
        return Volume(grid: grid, voxels: taper)
    }
}
