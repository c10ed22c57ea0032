import Foundation
import XCTest
@testable import Volumes

/// Damaged and hostile files: every one must raise a NIfTIError with a one-line message.
final class NIfTIDamageTests: XCTestCase {
    private var directory = ""
    private var valid: [UInt8] = []

    override func setUpWithError() throws {
        directory = try temporaryDirectory()
        let path = directory + "/valid.nii"
        try NIfTI.write(randomVolume(Grid(dims: SIMD3(6, 5, 4)), seed: 1), path: path)
        valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `bytes` to a file, reads it, and returns the problem reported.
    private func problem(reading bytes: [UInt8], name: String = "damaged.nii",
                         file: StaticString = #filePath, line: UInt = #line) -> NIfTIError.Problem? {
        let path = directory + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot create \(path)", file: file, line: line)
        do {
            _ = try NIfTI.readVolume(path: path)
            XCTFail("\(name) was accepted", file: file, line: line)
            return nil
        } catch let error as NIfTIError {
            XCTAssertFalse(error.description.contains("\n"), "message must be one line: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path + ": "), "message names the file: \(error)", file: file, line: line)
            return error.problem
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
            return nil
        }
    }

    private func patched(_ offset: Int, _ value: Int16, in bytes: [UInt8]? = nil) -> [UInt8] {
        var out = bytes ?? valid
        withUnsafeBytes(of: value.littleEndian) { out.replaceSubrange(offset..<(offset + 2), with: $0) }
        return out
    }

    private func gzip(_ bytes: [UInt8]) throws -> [UInt8] { try Gzip.compress(bytes) }

    func testTruncatedHeader() {
        XCTAssertEqual(problem(reading: Array(valid.prefix(100))), .truncatedHeader(bytes: 100))
        XCTAssertEqual(problem(reading: []), .truncatedHeader(bytes: 0))
    }

    func testTruncatedData() throws {
        let cut = Array(valid.prefix(valid.count - 10))
        XCTAssertEqual(problem(reading: cut), .truncatedData(expectedBytes: valid.count, availableBytes: valid.count - 10))
        XCTAssertEqual(problem(reading: try gzip(cut), name: "cut.nii.gz"),
                       .truncatedData(expectedBytes: valid.count, availableBytes: valid.count - 10))
    }

    func testGarbageBytes() {
        var rng = SeededGenerator(seed: 99)
        let garbage = (0..<2000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        guard case .notNIfTI1? = problem(reading: garbage) else { return XCTFail("garbage must be refused as not NIfTI") }
    }

    func testWrongMagic() {
        var bytes = valid
        bytes[NIfTIHeader.Field.magic] = UInt8(ascii: "x")
        guard case .notNIfTI1(let why)? = problem(reading: bytes) else { return XCTFail() }
        XCTAssertTrue(why.contains("magic"))
        bytes.replaceSubrange(NIfTIHeader.Field.magic..<(NIfTIHeader.Field.magic + 4), with: Array("ni1\0".utf8))
        guard case .notNIfTI1(let pair)? = problem(reading: bytes) else { return XCTFail() }
        XCTAssertTrue(pair.contains(".hdr/.img"))
    }

    func testFourAndTwoDimensionalImagesAreRefused() throws {
        let fourD = patched(NIfTIHeader.Field.dim + 8, 3, in: patched(NIfTIHeader.Field.dim, 4))
        XCTAssertEqual(problem(reading: fourD), .notThreeD(dims: [6, 5, 4, 3]))
        XCTAssertEqual(problem(reading: patched(NIfTIHeader.Field.dim, 2)), .notThreeD(dims: [6, 5]))
        // A 4-D header whose fourth extent is 1 is a 3-D volume.
        let singleton = patched(NIfTIHeader.Field.dim + 8, 1, in: patched(NIfTIHeader.Field.dim, 4))
        XCTAssertEqual(try NIfTI.decode(singleton).grid.dims, SIMD3(6, 5, 4))
        XCTAssertEqual(problem(reading: patched(NIfTIHeader.Field.dim + 2, -6)), .invalidHeader("non-positive dimension in [-6, 5, 4]"))
        XCTAssertEqual(problem(reading: patched(NIfTIHeader.Field.dim, 9)), .invalidHeader("dim[0] = 9"))
    }

    func testBadGzip() throws {
        let compressed = try gzip(valid)
        // Truncated stream.
        guard case .badGzip(let truncated)? = problem(reading: Array(compressed.prefix(compressed.count / 2)),
                                                      name: "half.nii.gz") else { return XCTFail() }
        XCTAssertTrue(truncated.contains("truncated"), truncated)
        // Corrupted deflate data (CRC or structure fails).
        var corrupted = compressed
        for i in stride(from: 20, to: corrupted.count - 8, by: 7) { corrupted[i] ^= 0x5a }
        guard case .badGzip? = problem(reading: corrupted, name: "corrupt.nii.gz") else { return XCTFail() }
        // Gzip magic followed by nonsense.
        guard case .badGzip? = problem(reading: [0x1f, 0x8b, 1, 2, 3, 4, 5], name: "magic.nii.gz") else { return XCTFail() }
    }

    func testUnsupportedDatatypeAndBadOffsetsAndSingularAffine() {
        XCTAssertEqual(problem(reading: patched(NIfTIHeader.Field.datatype, 128)), .unsupportedDatatype(128))
        var nanOffset = valid
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) {
            nanOffset.replaceSubrange(NIfTIHeader.Field.voxOffset..<(NIfTIHeader.Field.voxOffset + 4), with: $0)
        }
        guard case .invalidHeader? = problem(reading: nanOffset) else { return XCTFail() }
        var singular = valid
        let zeroRow = [UInt8](repeating: 0, count: 16)
        singular.replaceSubrange(NIfTIHeader.Field.srowX..<(NIfTIHeader.Field.srowX + 16), with: zeroRow)
        guard case .invalidHeader(let why)? = problem(reading: singular) else { return XCTFail() }
        XCTAssertTrue(why.contains("singular"), why)
    }

    func testMissingFileAndDirectory() {
        for path in [directory + "/does-not-exist.nii", directory] {
            XCTAssertThrowsError(try NIfTI.read(path: path)) { error in
                guard let error = error as? NIfTIError, case .unreadable = error.problem else { return XCTFail("\(error)") }
                XCTAssertFalse(error.description.contains("\n"))
            }
        }
    }

    /// Random corruption of header bytes must never crash: either a valid read or a NIfTIError.
    func testRandomHeaderCorruptionNeverCrashes() throws {
        var rng = SeededGenerator(seed: 2024)
        var refused = 0
        for round in 0..<400 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                bytes[Int.random(in: 0..<352, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let input = round.isMultiple(of: 4) ? try gzip(bytes) : bytes
            do {
                let image = try NIfTI.decode(input, path: "fuzz")
                XCTAssertEqual(image.floatVoxels().count, image.grid.count)
            } catch is NIfTIError {
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 50, "corruption of key fields must be noticed")
    }
}
