import Cluster
import Foundation
import Limits
import Storage
import Volumes
import YAMLConfig

/// Reads a cohort file written by `DatasetWriter`: checks that it is one and
/// that it is complete, then gives the sample table, the template and images.
public final class DatasetReader {
    public let path: String
    public let file: H5File
    public let samples: [SampleRecord]
    /// The configuration the file was generated with.
    public let config: CohortConfig
    public let variant: String
    /// Grid of every image (the template's, with its affine).
    public let grid: Grid
    let images: H5Dataset

    /// Opens the file; with a communicator all its ranks must call this.
    public init(path: String, communicator: Communicator? = nil) throws {
        self.path = path
        file = try H5File.open(path, communicator: communicator)
        let root = try file.root
        guard root.hasAttribute("format"), try root.stringAttribute("format") == DatasetFile.format else {
            throw DatasetError("\(path) is not a simba dataset (no format attribute 'simba-dataset')")
        }
        let version = try root.attribute("format_version", as: Int.self)
        guard version == DatasetFile.formatVersion else {
            throw DatasetError("\(path) has dataset format version \(version); this simba reads version \(DatasetFile.formatVersion)")
        }
        guard root.hasAttribute("complete"), try root.attribute("complete", as: Int.self) == 1 else {
            throw DatasetError("\(path) is incomplete (its generation did not finish)")
        }
        variant = try root.stringAttribute("variant")
        let configNode = try ConfigNode.parse(try root.stringAttribute("config"), source: "\(path) config")
        config = try CohortConfig.read(configNode)
        images = try root.dataset("images")
        guard images.elementTypeName == Float.h5Name else {
            throw DatasetError("\(path): /images holds \(images.elementTypeName) values, expected float32")
        }
        let shape = try images.shape
        guard shape.count == 4, shape[0] >= 1, shape.dropFirst().allSatisfy({ $0 >= 1 }) else {
            throw DatasetError("\(path): /images has shape \(shape), expected [\(shape.first.map(String.init) ?? "samples"), X, Y, Z]")
        }
        try MachineMemory.require(checkedProduct(Array(shape.dropFirst()) + [MemoryLayout<Float>.stride]),
                                  for: "\(path): one image of \(shape.dropFirst())", remedy: "is the file damaged?")
        samples = try SampleColumns.read(try root.group("samples"), rows: shape[0], config: config)
        let template = try root.group("template")
        let affine = try template.attribute("affine", as: [Double].self)
        guard affine.count == 16 else { throw DatasetError("\(path): /template affine is not 4×4") }
        let transform = Affine(rows: (0..<3).map { Array(affine[$0 * 4..<$0 * 4 + 4]) })
        guard transform.isFinite, let inverse = transform.inverse, inverse.isFinite else {
            throw DatasetError("\(path): /template affine is singular or not finite: \(affine)")
        }
        grid = Grid(dims: SIMD3(shape[1], shape[2], shape[3]), affine: transform)
        try checkTemplate(template)
    }

    /// The label map lies on the image grid and every label number is named once.
    private func checkTemplate(_ template: H5Group) throws {
        let labels = try template.dataset("labels").shape
        guard labels == shape else {
            throw DatasetError("\(path): /template/labels has shape \(labels), the images \(shape)")
        }
        let numbers: [Int32] = try template.dataset("label_numbers").read()
        let names = try template.readStrings("label_names")
        guard numbers.count == names.count else {
            throw DatasetError("\(path): /template has \(numbers.count) label numbers for \(names.count) label names")
        }
        if let repeated = Dictionary(grouping: numbers, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw DatasetError("\(path): /template/label_numbers names label number \(repeated) more than once")
        }
    }

    /// [X, Y, Z] of every image.
    public var shape: [Int] { [grid.dims.x, grid.dims.y, grid.dims.z] }

    /// Reads images `indices` (ascending, contiguous is fastest) as C-order
    /// voxels. Collective when the file was opened with a communicator.
    public func readImages(_ range: Range<Int>) throws -> [Float] {
        try images.read(Float.self, offset: [range.lowerBound, 0, 0, 0], count: [range.count] + shape)
    }

    /// Reads images `range` straight into `buffer` (range.count images,
    /// C order). Collective when the file was opened with a communicator.
    public func readImages(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try images.read(into: buffer, offset: [range.lowerBound, 0, 0, 0], count: [range.count] + shape)
    }

    public func image(_ index: Int) throws -> Volume<Float> {
        Volume(grid: grid, cOrder: try readImages(index..<index + 1))
    }

    public func templateLabels() throws -> Volume<Int32> {
        let labels: [Int32] = try file.root.group("template").dataset("labels").read()
        return Volume(grid: grid, cOrder: labels)
    }

    public func labelNames() throws -> LabelNames {
        let template = try file.root.group("template")
        let numbers: [Int32] = try template.dataset("label_numbers").read()
        let names = try template.readStrings("label_names")
        return LabelNames(names: Dictionary(uniqueKeysWithValues: zip(numbers, names)))
    }

    public func close() throws { try file.close() }
}
