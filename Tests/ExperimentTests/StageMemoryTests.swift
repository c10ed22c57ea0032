import Foundation
import Limits
import Storage
import XCTest
@testable import Experiment

final class StageMemoryTests: XCTestCase {
    /// VmRSS from /proc/self/status in MiB: the reference the peak is checked against.
    private func residentMiB() throws -> Double {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try XCTUnwrap(line.split(separator: " ").dropFirst().first.flatMap { Double($0) }) / 1024
    }

    /// The peak follows memory touched, and a new stage starts from what is
    /// resident now, not from the process's earlier peak.
    func testPeakRisesWithTouchedMemoryAndRestartsAtAStage() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/proc/self/clear_refs"), "needs Linux procfs")
        XCTAssertTrue(PeakMemory.startStage())
        let before = PeakMemory.peakMiB()
        let bytes = 256 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        // Touch every page so it becomes resident.
        for offset in stride(from: 0, to: bytes, by: 4096) { block.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self) }
        let during = PeakMemory.peakMiB()
        XCTAssertGreaterThan(during - before, 250, "touching 256 MiB raised the peak by \(during - before) MiB only")
        block.deallocate()
        // Freed (glibc returns a block this size to the kernel): the old peak stays until a stage restarts it
        // (within the kernel's per-thread batching of RSS counts, 64 pages a thread).
        XCTAssertGreaterThan(PeakMemory.peakMiB(), during - 4)
        XCTAssertTrue(PeakMemory.startStage())
        let restarted = PeakMemory.peakMiB(), resident = try residentMiB()
        XCTAssertLessThan(restarted, during - 200, "the restarted peak \(restarted) MiB still holds the freed block")
        XCTAssertGreaterThanOrEqual(restarted + 1, resident)
    }

    func testStagesRoundTripInPipelineOrderAndBadRowsAreRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("simba-memory-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try H5File.create(path).close()
        XCTAssertNil(try StageMemory.read(from: path))
        let saliency = StageMemory.Stage(name: "saliency", peakMibByRank: [300, 310.5, 299], sinceStageStart: true)
        let training = StageMemory.Stage(name: "training", peakMibByRank: [1000, 1024, 990], sinceStageStart: false)
        try StageMemory.write(saliency, to: path)
        try StageMemory.write(StageMemory.Stage(name: "training", peakMibByRank: [1], sinceStageStart: true), to: path)
        try StageMemory.write(training, to: path)  // a re-run replaces its own row
        let read = try XCTUnwrap(try StageMemory.read(from: path))
        XCTAssertEqual(read.stages, [training, saliency])
        XCTAssertEqual(read.stages[0].peakMib, 1024)

        let file = try H5File.open(path, writable: true)
        try file.root.group("memory").writeDataset("evaluation", [Double](repeating: 1, count: 6), shape: [2, 3])
        try file.close()
        XCTAssertThrowsError(try StageMemory.read(from: path)) { error in
            XCTAssertEqual("\(error)", "\(path): /memory/evaluation is not a list of peak MiB per rank")
        }
        try StageMemory.write(StageMemory.Stage(name: "evaluation", peakMibByRank: [-1], sinceStageStart: true), to: path)
        XCTAssertThrowsError(try StageMemory.read(from: path))
    }
}
