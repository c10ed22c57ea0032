import Cluster
import Foundation
import Storage
import Synthesis
import XCTest

/// Files that are not complete simba datasets are refused with a one-line
/// reason, before anything reads their images.
final class DatasetReaderTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func refusal(_ path: String) -> String {
        do {
            _ = try DatasetReader(path: path)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testDamagedAndForeignFilesAreRefused() throws {
        let garbage = folder.appendingPathComponent("garbage.h5").path
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: garbage))
        XCTAssertTrue(refusal(garbage).contains("not an HDF5 file"), refusal(garbage))
        XCTAssertTrue(refusal(folder.appendingPathComponent("none.h5").path).contains("no such file"))

        let foreign = folder.appendingPathComponent("foreign.h5").path
        let file = try H5File.create(foreign)
        try file.root.writeDataset("images", [Float](repeating: 0, count: 8), shape: [1, 2, 2, 2])
        try file.close()
        XCTAssertTrue(refusal(foreign).contains("is not a simba dataset"), refusal(foreign))

        let unfinished = folder.appendingPathComponent("unfinished.h5").path
        try writeDamagedCohort(unfinished) { try $0.deleteAttribute("complete") }
        XCTAssertTrue(refusal(unfinished).contains("is incomplete"), refusal(unfinished))

        let future = folder.appendingPathComponent("future.h5").path
        try writeDamagedCohort(future) { try $0.setAttribute("format_version", 99) }
        XCTAssertTrue(refusal(future).contains("format version 99"), refusal(future))

        for message in [refusal(garbage), refusal(foreign), refusal(unfinished), refusal(future)] {
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    /// A real cohort file (blank images, nothing generated) whose root
    /// `damage` then changes by hand.
    func writeDamagedCohort(_ path: String, damage: (H5Group) throws -> Void) throws {
        let design = try CohortDesign(SyntheticAnatomy.config())
        let template = SyntheticAnatomy.make().snapshot(voxelMM: 2)
        let writer = try DatasetWriter(path: path, overwrite: true, communicator: try Cluster.start(), design: design,
                                       template: template, variant: .biased,
                                       configYAML: design.config.yaml(title: "test"), generator: "test")
        let blank = [Float](repeating: 0, count: template.shape.reduce(1, *))
        for sample in design.samples { try writer.write(index: sample.index, volume: blank) }
        try writer.finish(minimumJacobians: [:])
        let file = try H5File.open(path, writable: true)
        try damage(try file.root)
        try file.close()
    }

    /// Writes a small cohort of the synthetic anatomy in this process.
    func writeCohort(_ path: String) throws -> (CohortDesign, SampleGenerator) {
        let world = try Cluster.start()
        let anatomy = SyntheticAnatomy.make()
        let config = SyntheticAnatomy.config()
        let design = try CohortDesign(config)
        let generator = try SampleGenerator(config: config, anatomy: anatomy)
        let writer = try DatasetWriter(path: path, overwrite: true, communicator: world, design: design,
                                       template: anatomy.snapshot(voxelMM: 2), variant: .biased,
                                       configYAML: config.yaml(title: "test"), generator: "test")
        var jacobians: [Int: Float] = [:]
        for sample in design.samples {
            let output = try generator.generate(sample)
            jacobians[sample.index] = output.minimumJacobian
            try writer.write(index: sample.index, volume: output.image.cOrderVoxels())
        }
        try writer.finish(minimumJacobians: jacobians)
        return (design, generator)
    }

    func testWrittenCohortReadsBack() throws {
        let output = folder.appendingPathComponent("cohort.h5").path
        let (design, generator) = try writeCohort(output)
        let reader = try DatasetReader(path: output)
        XCTAssertEqual(reader.samples, design.samples)
        XCTAssertEqual(reader.config, design.config)
        XCTAssertEqual(reader.variant, "biased")
        XCTAssertEqual(reader.grid, generator.anatomy.grid)
        XCTAssertEqual(try reader.image(7).voxels, try generator.generate(design.samples[7]).image.voxels)
        XCTAssertEqual(try reader.templateLabels().voxels, generator.anatomy.labels.voxels)
        XCTAssertEqual(try reader.labelNames(), generator.anatomy.names)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + ".partial"))
        try reader.close()
    }

    /// A file cut short (a crash while copying, a full disk) is refused too.
    func testTruncatedDatasetIsRefused() throws {
        let output = folder.appendingPathComponent("whole.h5").path
        _ = try writeCohort(output)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
        let truncated = folder.appendingPathComponent("truncated.h5").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        XCTAssertNotEqual(refusal(truncated), "accepted")
        XCTAssertEqual(refusal(output), "accepted")
    }
}
