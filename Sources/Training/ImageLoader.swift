import Synthesis

/// Where a replica gets its (already scaled) input images.
protocol ImageSource: AnyObject {
    /// Images at dataset indices `indices`, concatenated.
    func load(_ indices: [Int]) throws -> [Float]
    /// Seconds spent loading so far.
    var seconds: Double { get }
}

/// Reads this rank's images from the dataset file, opened serially and
/// read-only by each rank (no collective reads, so no rank waits for
/// another's I/O), and scales each image as SimBA does.
public final class ImageLoader: ImageSource {
    let reader: DatasetReader
    let voxels: Int
    public private(set) var seconds = 0.0

    public init(reader: DatasetReader) {
        self.reader = reader
        voxels = reader.shape.reduce(1, *)
    }

    /// Images at dataset indices `indices`, concatenated, each min–max
    /// scaled to [−0.5, 0.5].
    public func load(_ indices: [Int]) throws -> [Float] {
        let started = Clock.now
        defer { seconds += Clock.seconds(since: started) }
        var images = [Float]()
        images.reserveCapacity(indices.count * voxels)
        for index in indices { images += try reader.readImages(index..<(index + 1)) }
        for (n, index) in indices.enumerated() {
            try checkFinite(images[(n * voxels)..<((n + 1) * voxels)], index: index)
            normalizeImage(&images[(n * voxels)..<((n + 1) * voxels)])
        }
        return images
    }

    /// Refuses an image with NaN or infinite voxels: scaling would spread
    /// them over the whole image and the loss would turn NaN a step later,
    /// far from the cause.
    private func checkFinite(_ image: ArraySlice<Float>, index: Int) throws {
        guard let bad = image.firstIndex(where: { !$0.isFinite }) else { return }
        let offset = bad - image.startIndex, shape = reader.shape
        let voxel = [offset / (shape[1] * shape[2]), offset / shape[2] % shape[1], offset % shape[2]]
        throw TrainingError("\(reader.path): image \(index) holds \(image[bad]) at voxel \(voxel) (damaged or edited after generation); images must be finite")
    }
}
