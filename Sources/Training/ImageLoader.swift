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
        for n in 0..<indices.count { normalizeImage(&images[(n * voxels)..<((n + 1) * voxels)]) }
        return images
    }
}
