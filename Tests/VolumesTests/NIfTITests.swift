import Foundation
import XCTest
@testable import Volumes

final class NIfTITests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testHeaderLayoutMatchesTheStandard() {
        // Offsets fixed by the NIfTI-1 standard, read here from nifti1.h's struct.
        XCTAssertEqual(NIfTIHeader.Field.dim, 40)
        XCTAssertEqual(NIfTIHeader.Field.datatype, 70)
        XCTAssertEqual(NIfTIHeader.Field.pixdim, 76)
        XCTAssertEqual(NIfTIHeader.Field.voxOffset, 108)
        XCTAssertEqual(NIfTIHeader.Field.qformCode, 252)
        XCTAssertEqual(NIfTIHeader.Field.srowX, 280)
        XCTAssertEqual(NIfTIHeader.Field.magic, 344)
    }

    func testFloatRoundTripPlainAndGzip() throws {
        let volume = randomVolume(obliqueGrid(dims: SIMD3(7, 6, 5)), seed: 2, range: -1000...1000)
        for name in ["v.nii", "v.nii.gz"] {
            let path = directory + "/" + name
            try NIfTI.write(volume, path: path)
            let image = try NIfTI.read(path: path)
            XCTAssertEqual(image.datatype, .float32)
            XCTAssertEqual(image.header.affineSource, .sform)
            XCTAssertEqual(image.grid.dims, volume.dims)
            XCTAssertAffineEqual(image.grid.affine, volume.grid.affine, accuracy: 1e-5)
            XCTAssertEqual(image.floatVoxels(), volume.voxels)
        }
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory + "/v.nii.gz"))
        XCTAssertEqual(Array(raw.prefix(2)), [0x1f, 0x8b], ".gz files are gzip-compressed")
    }

    func testQformIsWrittenAndReadIncludingQfac() throws {
        let grid = obliqueGrid(dims: SIMD3(4, 5, 6))
        XCTAssertLessThan(grid.affine.determinant, 0, "test grid must be left-handed to exercise qfac")
        let path = directory + "/q.nii"
        try NIfTI.write(Volume<Float>(grid: grid, repeating: 1), path: path)
        // Clear sform_code so that the reader must fall back to the quaternion.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[NIfTIHeader.Field.sformCode] = 0
        bytes[NIfTIHeader.Field.sformCode + 1] = 0
        let image = try NIfTI.decode(bytes)
        XCTAssertEqual(image.header.affineSource, .qform)
        XCTAssertEqual(image.header.pixdim[0], -1)
        XCTAssertAffineEqual(image.grid.affine, grid.affine, accuracy: 1e-5)
    }

    func testQuaternionRoundTripsForManyRotations() {
        // Includes 180° turns, where the quaternion's a is 0 and another branch is taken.
        var rng = SeededGenerator(seed: 17)
        let axes: [[[Double]]] = [[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[-1, 0, 0], [0, -1, 0], [0, 0, 1]],
                                  [[1, 0, 0], [0, -1, 0], [0, 0, -1]], [[-1, 0, 0], [0, 1, 0], [0, 0, -1]],
                                  [[0, 1, 0], [1, 0, 0], [0, 0, 1]]]
        var cases = axes
        for _ in 0..<20 {
            let (a, b, c) = (Double.random(in: -3...3, using: &rng), Double.random(in: -3...3, using: &rng),
                             Double.random(in: -3...3, using: &rng))
            let rx = [[1, 0, 0], [0, cos(a), -sin(a)], [0, sin(a), cos(a)]]
            let ry = [[cos(b), 0, sin(b)], [0, 1, 0], [-sin(b), 0, cos(b)]]
            let rz = [[cos(c), -sin(c), 0], [sin(c), cos(c), 0], [0, 0, 1]]
            cases.append(multiply(rx, multiply(ry, rz)))
        }
        for rotation in cases {
            let spacing = [1.2, 0.8, 2.5]
            let linear = rotation.map { row in (0..<3).map { row[$0] * spacing[$0] } }
            let affine = Affine(linear: linear, translation: SIMD3(4, -5, 6))
            var header = NIfTIHeader()
            header.setAffine(affine, code: 1)
            header.sformCode = 0
            XCTAssertAffineEqual(header.affine, affine, accuracy: 1e-5)
        }
    }

    private func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        (0..<3).map { i in (0..<3).map { j in (0..<3).map { a[i][$0] * b[$0][j] }.reduce(0, +) } }
    }

    func testLabelRoundTripInAllLabelTypes() throws {
        let grid = Grid(dims: SIMD3(5, 4, 3), spacing: SIMD3(2, 2, 2), origin: SIMD3(-4, -4, -2))
        let labels = Volume<Int32>(grid: grid) { i, j, k in Int32((i * 7 + j * 3 + k * 11) % 117) }
        for datatype in [NIfTIDatatype.uint8, .int16, .int32] {
            let path = directory + "/labels-\(datatype).nii.gz"
            try NIfTI.write(labels, path: path, datatype: datatype, xformCode: 4)
            let image = try NIfTI.read(path: path)
            XCTAssertEqual(image.datatype, datatype)
            XCTAssertEqual(image.header.sformCode, 4)
            XCTAssertEqual(try NIfTI.readLabels(path: path), labels)
        }
    }

    func testLabelsThatDoNotFitAreRefused() {
        let grid = Grid(dims: SIMD3(2, 2, 2))
        let labels = Volume<Int32>(grid: grid, repeating: 40000)
        XCTAssertThrowsError(try NIfTI.write(labels, path: directory + "/big.nii", datatype: .int16)) { error in
            XCTAssertTrue("\(error)".contains("does not fit int16"), "\(error)")
        }
    }

    func testFloatDataIsOnlyALabelMapWhenIntegral() throws {
        let grid = Grid(dims: SIMD3(3, 3, 3))
        let path = directory + "/f.nii"
        try NIfTI.write(Volume<Float>(grid: grid) { i, _, _ in Float(i) }, path: path)
        XCTAssertEqual(try NIfTI.readLabels(path: path).voxels.max(), 2)
        try NIfTI.write(Volume<Float>(grid: grid) { i, _, _ in Float(i) + 0.5 }, path: path)
        XCTAssertThrowsError(try NIfTI.readLabels(path: path)) { error in
            guard case .notLabels = (error as? NIfTIError)?.problem else { return XCTFail("\(error)") }
        }
    }

    func testPixdimFallbackWhenNoTransformIsSet() throws {
        let path = directory + "/p.nii"
        try NIfTI.write(Volume<Float>(grid: obliqueGrid(dims: SIMD3(3, 3, 3)), repeating: 0), path: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for field in [NIfTIHeader.Field.sformCode, NIfTIHeader.Field.qformCode] { bytes[field] = 0; bytes[field + 1] = 0 }
        let image = try NIfTI.decode(bytes)
        XCTAssertEqual(image.header.affineSource, .pixdim)
        XCTAssertAffineEqual(image.grid.affine, .scaling(SIMD3(1.5, 1, 2)), accuracy: 1e-6)
    }
}
