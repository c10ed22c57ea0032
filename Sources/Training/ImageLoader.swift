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
    /// Subtracted voxel by voxel from every scaled image (`training.centre_input`:
    /// the training images' mean); nil: images as SimBA scales them.
    public private(set) var centre: [Float]?

    public init(reader: DatasetReader, centre: [Float]? = nil) throws {
        self.reader = reader
        voxels = reader.shape.reduce(1, *)
        try setCentre(centre)
    }

    /// Sets the image subtracted from every scaled image from now on.
    public func setCentre(_ centre: [Float]?) throws {
        if let centre, centre.count != voxels {
            throw TrainingError("\(reader.path): the input mean has \(centre.count) voxels, the images \(voxels)")
        }
        self.centre = centre
    }

    /// Images at dataset indices `indices`, concatenated, each min–max
    /// scaled to [−0.5, 0.5] (then `centre` subtracted, when set). Each stretch of consecutive indices is read
    /// in one call, straight into its place in the result (HDF5's cost per
    /// call is several times that of copying one more chunk).
    public func load(_ indices: [Int]) throws -> [Float] {
        let started = Clock.now
        defer { seconds += Clock.seconds(since: started) }
        var images = [Float](repeating: 0, count: indices.count * voxels)
        try images.withUnsafeMutableBufferPointer { buffer in
            for run in Self.contiguousRuns(indices) {
                let slots = (run.position * voxels)..<((run.position + run.images.count) * voxels)
                try reader.readImages(run.images, into: UnsafeMutableBufferPointer(rebasing: buffer[slots]))
            }
        }
        for (n, index) in indices.enumerated() {
            try checkFinite(images[(n * voxels)..<((n + 1) * voxels)], index: index)
            normalizeImage(&images[(n * voxels)..<((n + 1) * voxels)])
        }
        if let centre {
            for n in indices.indices {
                for v in 0..<voxels { images[n * voxels + v] -= centre[v] }
            }
        }
        return images
    }

    /// `indices` cut into maximal stretches of consecutive dataset indices:
    /// where each starts in `indices` and which images it holds.
    static func contiguousRuns(_ indices: [Int]) -> [(position: Int, images: Range<Int>)] {
        var runs: [(position: Int, images: Range<Int>)] = []
        for (position, index) in indices.enumerated() {
            if let last = runs.last, last.images.upperBound == index {
                runs[runs.count - 1].images = last.images.lowerBound..<(index + 1)
            } else {
                runs.append((position, index..<(index + 1)))
            }
        }
        return runs
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
