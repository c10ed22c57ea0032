import Foundation
import Synthesis
@testable import Training
import XCTest

final class ImageLoaderTests: XCTestCase {
    func testRunsAreMaximalStretchesOfConsecutiveIndices() {
        let runs = ImageLoader.contiguousRuns([3, 4, 5, 9, 1, 2, 2])
        XCTAssertEqual(runs.map(\.position), [0, 3, 4, 6])
        XCTAssertEqual(runs.map(\.images), [3..<6, 9..<10, 1..<3, 2..<3])
        XCTAssertTrue(ImageLoader.contiguousRuns([]).isEmpty)
    }

    /// Any order, with stretches, gaps and repeats, loads what reading and
    /// scaling the images one by one gives.
    func testLoadingInStretchesGivesTheImagesOneByOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("mini.h5").path
        try MiniCohort.write(path)
        let reader = try DatasetReader(path: path)
        let indices = [7, 8, 9, 30, 2, 3, 47, 0, 0]
        var expected = [Float]()
        for index in indices {
            var image = ArraySlice(try reader.readImages(index..<(index + 1)))
            normalizeImage(&image)
            expected += image
        }
        XCTAssertEqual(try ImageLoader(reader: reader).load(indices), expected)
    }
}
