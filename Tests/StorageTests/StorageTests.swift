import Cluster
import Foundation
import Storage
import XCTest

final class StorageTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("simba-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Serial files, and MPI-IO files on the world of one.
    func files() throws -> [(String, Communicator?)] {
        [("serial", nil), ("mpio", try Cluster.start())]
    }

    func testHyperslabRoundTripOfEveryElementType() throws {
        for (kind, communicator) in try files() {
            let file = try H5File.create(path("types-\(kind).h5"), communicator: communicator)
            let root = try file.root
            try roundTrip(root, Float.self, { Float($0) * 0.25 - 3 })
            try roundTrip(root, Double.self, { Double($0) * 1e-3 })
            try roundTrip(root, Int32.self, { Int32($0) - 50 })
            try roundTrip(root, Int64.self, { Int64($0) << 33 })
            try roundTrip(root, UInt8.self, { UInt8($0 % 251) })
            try file.close()
        }
    }

    /// Writes a 4×5×6 volume in two hyperslabs (a slab and the rest), then
    /// reads back the whole and an interior block.
    private func roundTrip<T: H5Element & Equatable>(_ root: H5Group, _ type: T.Type, _ value: (Int) -> T) throws {
        let shape = [4, 5, 6]
        let all = (0..<120).map(value)
        let dataset = try root.createDataset("volume_\(T.h5Name)", of: T.self, shape: shape, chunk: [1, 5, 6])
        try dataset.write(Array(all[0..<30]), offset: [0, 0, 0], count: [1, 5, 6])
        try dataset.write(Array(all[30...]), offset: [1, 0, 0], count: [3, 5, 6])
        XCTAssertEqual(try dataset.read(T.self), all)
        let block = try dataset.read(T.self, offset: [1, 2, 3], count: [2, 2, 2])
        var expected: [T] = []
        for x in 1...2 {
            for y in 2...3 {
                for z in 3...4 { expected.append(all[x * 30 + y * 6 + z]) }
            }
        }
        XCTAssertEqual(block, expected)
        XCTAssertEqual(try dataset.shape, shape)
        XCTAssertEqual(dataset.elementTypeName, T.h5Name)
    }

    func testAppendGrowsAnExtendableDataset() throws {
        for (kind, communicator) in try files() {
            let file = try H5File.create(path("append-\(kind).h5"), communicator: communicator)
            let series = try file.root.createDataset("loss", of: Double.self, shape: [0, 2], maxShape: [nil, 2],
                                                     chunk: [16, 2])
            XCTAssertEqual(try series.append([1, 2, 3, 4]), 0)
            XCTAssertEqual(try series.append([5, 6]), 2)
            XCTAssertEqual(try series.shape, [3, 2])
            XCTAssertEqual(try series.read(Double.self), [1, 2, 3, 4, 5, 6])
            XCTAssertEqual(try series.maxShape.map { $0 == nil }, [true, false])
            XCTAssertThrowsError(try series.append([1, 2, 3])) { error in
                XCTAssertTrue("\(error)".contains("whole rows"), "\(error)")
            }
            try file.close()
        }
    }

    func testDeflateShrinksCompressibleData() throws {
        let zeros = [Float](repeating: 0, count: 1 << 18)
        let plainPath = path("plain.h5"), packedPath = path("packed.h5")
        for (file, deflate) in [(plainPath, nil), (packedPath, 6)] as [(String, Int?)] {
            let handle = try H5File.create(file, communicator: try Cluster.start())
            let dataset = try handle.root.createDataset("zeros", of: Float.self, shape: [64, 64, 64],
                                                        chunk: [16, 64, 64], deflate: deflate)
            try dataset.write(zeros)
            XCTAssertEqual(try dataset.read(Float.self), zeros)
            try handle.close()
        }
        let plainSize = try FileManager.default.attributesOfItem(atPath: plainPath)[.size] as! Int
        let packedSize = try FileManager.default.attributesOfItem(atPath: packedPath)[.size] as! Int
        XCTAssertLessThan(packedSize * 10, plainSize)
    }

    func testAttributesScalarsArraysAndStrings() throws {
        let file = try H5File.create(path("attributes.h5"))
        let root = try file.root
        try root.setAttribute("world_size", 3)
        try root.setAttribute("weights", [0.714, 1.667] as [Double])
        try root.setAttribute("config", "disease: Insula_R\nbias: Putamen_R — 70% / 30%")
        try root.setAttribute("world_size", 4)  // replaced, not duplicated
        let group = try root.createGroup("checkpoints/000012")
        try group.setAttribute("complete", UInt8(1))
        XCTAssertEqual(try root.attribute("world_size", as: Int.self), 4)
        XCTAssertEqual(try root.attribute("weights", as: [Double].self), [0.714, 1.667])
        XCTAssertEqual(try root.stringAttribute("config"), "disease: Insula_R\nbias: Putamen_R — 70% / 30%")
        XCTAssertEqual(Set(try root.attributeNames()), ["world_size", "weights", "config"])
        XCTAssertEqual(try group.attribute("complete", as: UInt8.self), 1)
        XCTAssertThrowsError(try root.attribute("missing", as: Int.self)) { error in
            XCTAssertTrue("\(error)".contains("no such attribute"), "\(error)")
        }
        XCTAssertThrowsError(try root.attribute("weights", as: Int.self)) { error in
            XCTAssertTrue("\(error)".contains("float64"), "\(error)")
        }
        try file.close()
    }

    func testStringDatasetsAndGroups() throws {
        let file = try H5File.create(path("strings.h5"), communicator: try Cluster.start())
        let root = try file.root
        let names = ["Precentral_L", "Insula_R", "", "Ünïcode"]
        try root.writeStrings("template/label_names", names)
        try root.writeStrings("empty", [])
        XCTAssertTrue(root.contains("template"))
        XCTAssertTrue(root.contains("template/label_names"))
        XCTAssertFalse(root.contains("template/nothing"))
        XCTAssertEqual(try root.group("template").memberNames(), ["label_names"])
        try file.close()
        let reopened = try H5File.open(path("strings.h5"))
        XCTAssertEqual(try reopened.root.readStrings("template/label_names"), names)
        XCTAssertEqual(try reopened.root.readStrings("empty"), [])
        try reopened.close()
    }

    func testSoftLinksPointAtCheckpoints() throws {
        let file = try H5File.create(path("links.h5"))
        let root = try file.root
        _ = try root.createGroup("checkpoints/000001")
        _ = try root.createGroup("checkpoints/000002")
        let checkpoints = try root.group("checkpoints")
        try checkpoints.setSoftLink("latest", to: "/checkpoints/000001")
        try checkpoints.setSoftLink("latest", to: "/checkpoints/000002")
        XCTAssertEqual(checkpoints.softLinkTarget("latest"), "/checkpoints/000002")
        XCTAssertNil(checkpoints.softLinkTarget("000001"))
        XCTAssertEqual(try root.group("checkpoints/latest").path, "/checkpoints/latest")
        try file.close()
    }

    func testCloseReleasesObjectsStillHeld() throws {
        let file = try H5File.create(path("held.h5"), communicator: try Cluster.start())
        let dataset = try file.root.createDataset("x", of: Float.self, shape: [2])
        let group = try file.root.createGroup("g")
        try file.close()   // would fail in HDF5 with objects open
        _ = (dataset, group)
        let reopened = try H5File.open(path("held.h5"))
        XCTAssertEqual(try reopened.root.dataset("x").shape, [2])
    }

    func testErrorsAreOneLineAndNothingReachesStderr() throws {
        let existing = path("existing.h5")
        try H5File.create(existing).close()
        let garbage = path("garbage.h5")
        try Data("this is not HDF5\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let truncated = path("truncated.h5")
        let original = try Data(contentsOf: URL(fileURLWithPath: existing))
        try original.prefix(100).write(to: URL(fileURLWithPath: truncated))

        let stderrText = try capturingStandardError {
            XCTAssertThrowsError(try H5File.create(existing)) { error in
                XCTAssertTrue("\(error)".contains("exists"), "\(error)")
            }
            XCTAssertThrowsError(try H5File.open(garbage)) { error in
                XCTAssertTrue("\(error)".contains("not an HDF5 file"), "\(error)")
            }
            XCTAssertThrowsError(try H5File.open(truncated))
            XCTAssertThrowsError(try H5File.open(path("missing.h5"))) { error in
                XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
            }
            let file = try H5File.create(path("errors.h5"), communicator: try Cluster.start())
            let dataset = try file.root.createDataset("d", of: Float.self, shape: [3, 3])
            XCTAssertThrowsError(try dataset.write([Float](repeating: 0, count: 4), offset: [2, 2], count: [2, 2])) { error in
                XCTAssertTrue("\(error)".contains("outside the shape"), "\(error)")
            }
            XCTAssertThrowsError(try dataset.write([Float](repeating: 0, count: 3), offset: [0, 0], count: [2, 2])) { error in
                XCTAssertTrue("\(error)".contains("3 values given"), "\(error)")
            }
            XCTAssertThrowsError(try dataset.read(Int32.self)) { error in
                XCTAssertTrue("\(error)".contains("holds float32"), "\(error)")
            }
            XCTAssertThrowsError(try file.root.dataset("nope")) { error in
                XCTAssertFalse("\(error)".contains("\n"))
            }
            XCTAssertThrowsError(try file.root.createDataset("d", of: Float.self, shape: [1])) { error in
                XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
            }
            try file.close()
        }
        XCTAssertEqual(stderrText, "", "HDF5 printed to stderr")
    }

    /// Runs `body` with file descriptor 2 redirected to a file; returns what was written.
    private func capturingStandardError(_ body: () throws -> Void) throws -> String {
        let capture = path("stderr.txt")
        FileManager.default.createFile(atPath: capture, contents: nil)
        let saved = dup(2)
        let target = open(capture, O_WRONLY)
        dup2(target, 2)
        close(target)
        defer {
            dup2(saved, 2)
            close(saved)
        }
        try body()
        fflush(nil)
        return try String(contentsOfFile: capture, encoding: .utf8)
    }
}
