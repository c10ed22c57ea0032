import Foundation
import XCTest
@testable import Volumes

/// Independent check against nibabel (Debian's python3-nibabel). Skipped when unavailable.
final class NibabelCrossCheckTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        try Python.requireNibabel()
        directory = try temporaryDirectory()
    }

    override func tearDownWithError() throws {
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    private struct Loaded: Decodable {
        let shape: [Int]
        let affine: [[Double]]
        let qform: [[Double]]
        let sformCode: Int
        let dtype: String
        let values: [Double]
    }

    func testNibabelReadsWhatWeWrite() throws {
        let grid = obliqueGrid(dims: SIMD3(7, 6, 5))
        let volume = randomVolume(grid, seed: 12, range: -50...50)
        let labels = Volume<Int32>(grid: grid) { i, j, k in Int32((i + 2 * j + 3 * k) % 9) - 2 }
        try NIfTI.write(volume, path: directory + "/float.nii.gz")
        try NIfTI.write(labels, path: directory + "/labels.nii", datatype: .int16)
        let script = """
        import sys, json, nibabel as nb, numpy as np
        out = {}
        for name in ["float.nii.gz", "labels.nii"]:
            img = nb.load(sys.argv[1] + "/" + name)
            out[name] = dict(shape=list(img.shape), affine=img.affine.tolist(), qform=img.header.get_qform().tolist(),
                             sformCode=int(img.header["sform_code"]), dtype=str(img.get_data_dtype()),
                             values=np.asarray(img.dataobj).astype(np.float64).ravel(order="F").tolist())
        print(json.dumps(out))
        """
        let output = try Python.run(script, arguments: [directory])
        let loaded = try JSONDecoder().decode([String: Loaded].self, from: Data(output.utf8))
        let float = try XCTUnwrap(loaded["float.nii.gz"]), label = try XCTUnwrap(loaded["labels.nii"])
        XCTAssertEqual(float.shape, [7, 6, 5])
        XCTAssertEqual(float.dtype, "float32")
        XCTAssertEqual(label.dtype, "int16")
        XCTAssertEqual(float.sformCode, 1)
        XCTAssertAffineEqual(Affine(rows: float.affine), grid.affine, accuracy: 1e-5)
        XCTAssertAffineEqual(Affine(rows: float.qform), grid.affine, accuracy: 1e-5)
        XCTAssertEqual(float.values, volume.voxels.map(Double.init))
        XCTAssertEqual(label.values, labels.voxels.map(Double.init))
    }

    func testWeReadWhatNibabelWrites() throws {
        // Same oblique, left-handed affine for every file; values depend on the voxel index.
        let script = """
        import sys, json, numpy as np, nibabel as nb
        d = sys.argv[1]
        c, s = np.cos(0.4), np.sin(0.4)
        aff = np.array([[c*1.5, -s*1.0, 0, -20.5], [s*1.5, c*1.0, 0, 13.25], [0, 0, -2.0, 40], [0, 0, 0, 1]])
        i, j, k = np.meshgrid(np.arange(7), np.arange(6), np.arange(5), indexing="ij")
        base = (i * 13 + j * 7 - k * 5).astype(np.float64)
        out = {}
        def save(name, data, dtype, endian="<", slope=None, inter=None, qform_only=False):
            hdr = nb.Nifti1Header(endianness=endian)
            hdr.set_data_dtype(dtype)
            img = nb.Nifti1Image(data.astype(dtype), None, hdr)
            if qform_only:
                img.set_qform(aff, code=1); img.set_sform(None, code=0)
            else:
                img.set_sform(aff, code=2); img.set_qform(aff, code=1)
            if slope is not None:
                img.header.set_slope_inter(slope, inter)
            nb.save(img, d + "/" + name)
            back = nb.load(d + "/" + name)
            out[name] = dict(shape=list(back.shape), affine=back.affine.tolist(), qform=back.header.get_qform().tolist(),
                             sformCode=int(back.header["sform_code"]), dtype=str(back.get_data_dtype()),
                             values=back.get_fdata().ravel(order="F").tolist())
        save("u8.nii", base - base.min(), np.uint8)
        save("i16.nii.gz", base, np.int16)
        save("i32.nii", base * 1000, np.int32)
        save("f32.nii.gz", base / 3, np.float32)
        save("f64.nii", base / 7, np.float64)
        save("scaled.nii", base, np.int16, slope=2.5, inter=-3)
        save("bigendian.nii.gz", base / 3, np.float32, endian=">")
        save("bigendian-i16.nii", base, np.int16, endian=">", slope=0.5, inter=1)
        save("qform.nii", base, np.float32, qform_only=True)
        print(json.dumps(out))
        """
        let output = try Python.run(script, arguments: [directory])
        let expected = try JSONDecoder().decode([String: Loaded].self, from: Data(output.utf8))
        XCTAssertEqual(expected.count, 9)
        for (name, reference) in expected.sorted(by: { $0.key < $1.key }) {
            let image = try NIfTI.read(path: directory + "/" + name)
            XCTAssertEqual([image.grid.dims.x, image.grid.dims.y, image.grid.dims.z], reference.shape, name)
            XCTAssertAffineEqual(image.grid.affine, Affine(rows: reference.affine), accuracy: 1e-5)
            let values = image.floatVoxels()
            for (ours, theirs) in zip(values, reference.values) {
                XCTAssertEqual(Double(ours), theirs, accuracy: 1e-6 * max(1, abs(theirs)), name)
            }
            XCTAssertEqual(image.header.byteSwapped, name.hasPrefix("bigendian"), name)
            XCTAssertEqual(image.header.affineSource, name == "qform.nii" ? .qform : .sform, name)
        }
    }

    /// Gaussian smoothing against scipy.ndimage (mode "reflect", truncate 4), when scipy is present.
    func testSmoothingMatchesScipy() throws {
        guard (try? Python.run("import scipy.ndimage")) != nil else { throw XCTSkip("scipy not importable") }
        let grid = Grid(dims: SIMD3(9, 8, 7), spacing: SIMD3(1, 1.5, 2))
        let volume = randomVolume(grid, seed: 4, range: 0...100)
        let path = directory + "/noise.nii"
        try NIfTI.write(volume, path: path)
        let script = """
        import sys, json, numpy as np, nibabel as nb
        from scipy.ndimage import gaussian_filter
        data = np.asarray(nb.load(sys.argv[1]).dataobj).astype(np.float64)
        out = gaussian_filter(data, sigma=[2.0 / 1, 2.0 / 1.5, 2.0 / 2], mode="reflect", truncate=4.0)
        print(json.dumps(out.ravel(order="F").tolist()))
        """
        let reference = try JSONDecoder().decode([Double].self, from: Data(try Python.run(script, arguments: [path]).utf8))
        let smoothed = volume.smoothed(sigmaMillimetres: 2)
        for (ours, theirs) in zip(smoothed.voxels, reference) { XCTAssertEqual(Double(ours), theirs, accuracy: 1e-3) }
    }
}
