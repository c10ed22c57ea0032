import Foundation
import XCTest
@testable import Volumes

/// Checks warp semantics against SimpleITK's WarpImageFilter (the reference SimBA uses).
/// SimpleITK is not a Debian package; the test is skipped unless `import SimpleITK` works in
/// /usr/bin/python3 (e.g. `pip install --target DIR SimpleITK` and PYTHONPATH=DIR).
final class SimpleITKCrossCheckTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        try Python.requirePython()
        guard (try? Python.run("import SimpleITK, numpy")) != nil else { throw XCTSkip("SimpleITK not importable") }
        directory = try temporaryDirectory()
    }

    override func tearDownWithError() throws {
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func writeRaw(_ values: [Float], _ name: String) throws {
        try values.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: directory + "/" + name)) }
    }

    private func readRaw(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testWarpMatchesWarpImageFilter() throws {
        // Oblique, anisotropic grid and a displacement that pushes some points outside.
        let grid = obliqueGrid(dims: SIMD3(14, 12, 10))
        let volume = randomVolume(grid, seed: 41, range: 0...100)
        let displacement = smoothRandomField(grid, sigma: 3, maxNorm: 4, seed: 42)
        try writeRaw(volume.voxels, "volume.raw")
        try writeRaw(displacement.x + displacement.y + displacement.z, "displacement.raw")
        let columns = (0..<3).map { grid.affine.column($0) / grid.spacing[$0] }
        // ITK direction matrix: row-major, columns are the index axes' unit vectors.
        let direction = (0..<3).flatMap { row in (0..<3).map { column in columns[column][row] } }
        let script = """
        import sys, json, numpy as np, SimpleITK as sitk
        d, spec = sys.argv[1], json.loads(sys.argv[2])
        nx, ny, nz = spec["dims"]
        def geometry(image):
            image.SetSpacing(spec["spacing"]); image.SetOrigin(spec["origin"]); image.SetDirection(spec["direction"])
            return image
        volume = geometry(sitk.GetImageFromArray(np.fromfile(d + "/volume.raw", np.float32).reshape(nz, ny, nx)))
        comps = np.fromfile(d + "/displacement.raw", np.float32).reshape(3, nz, ny, nx)
        field = geometry(sitk.GetImageFromArray(np.stack(comps, axis=-1).astype(np.float64), isVector=True))
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        warped = sitk.Warp(volume, field, sitk.sitkLinear, volume.GetSize(), volume.GetOrigin(), volume.GetSpacing(),
                           volume.GetDirection(), 0.0)
        sitk.GetArrayFromImage(warped).astype(np.float32).tofile(d + "/warped.raw")
        """
        let spec: [String: Any] = ["dims": [grid.dims.x, grid.dims.y, grid.dims.z],
                                   "spacing": [grid.spacing.x, grid.spacing.y, grid.spacing.z],
                                   "origin": [grid.affine.translation.x, grid.affine.translation.y, grid.affine.translation.z],
                                   "direction": direction]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        try Python.run(script, arguments: [directory, json])
        let reference = try readRaw("warped.raw")
        let ours = volume.warped(by: displacement)
        XCTAssertEqual(reference.count, ours.voxels.count)
        var outside = 0
        for (n, (a, b)) in zip(ours.voxels, reference).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-3, "voxel \(n)")
            if b == 0 { outside += 1 }
        }
        XCTAssertGreaterThan(outside, 20, "the displacement must move some points outside, to test the border rule")
    }

    /// Scaling and squaring written with SimpleITK (d ← d + Warp(d, d)) and its Jacobian filter.
    /// SimpleITK pads displacements with 0 outside the grid where we use edge values, so only
    /// voxels far enough from the faces are compared.
    func testExponentialAndJacobianMatchSimpleITK() throws {
        let grid = Grid(dims: SIMD3(26, 24, 22), spacing: SIMD3(1.2, 1, 1.5), origin: SIMD3(-5, 3, 7))
        let v = smoothRandomField(grid, sigma: 5, maxNorm: 2.5, seed: 43)
        try writeRaw(v.x + v.y + v.z, "velocity.raw")
        let script = """
        import sys, numpy as np, SimpleITK as sitk
        d = sys.argv[1]
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        comps = np.fromfile(d + "/velocity.raw", np.float32).reshape(3, 22, 24, 26)
        field = sitk.GetImageFromArray(np.stack(comps, axis=-1).astype(np.float64) / 2 ** 5, isVector=True)
        field.SetSpacing([1.2, 1.0, 1.5]); field.SetOrigin([-5.0, 3.0, 7.0])
        for _ in range(5):
            field = field + sitk.Warp(field, field, sitk.sitkLinear, field.GetSize(), field.GetOrigin(),
                                      field.GetSpacing(), field.GetDirection())
        out = sitk.GetArrayFromImage(field)
        np.stack([out[..., c] for c in range(3)]).astype(np.float32).tofile(d + "/exp.raw")
        jac = sitk.DisplacementFieldJacobianDeterminant(field, True)
        sitk.GetArrayFromImage(jac).astype(np.float32).tofile(d + "/jacobian.raw")
        """
        try Python.run(script, arguments: [directory])
        let reference = try readRaw("exp.raw"), referenceJacobian = try readRaw("jacobian.raw")
        let count = grid.count
        let theirs = VectorField(grid: grid, x: Array(reference[0..<count]), y: Array(reference[count..<(2 * count)]),
                                 z: Array(reference[(2 * count)...]))
        let ours = v.exponentiated(steps: 5)
        let difference = ours - theirs
        XCTAssertGreaterThan(ours.maxNorm, 2)
        XCTAssertLessThan(difference.maxNorm(insetBy: 6), 1e-3, "interior difference of exp(v) in mm")
        // The Jacobian of SimpleITK's own field, by both implementations, away from the faces.
        let jacobian = theirs.jacobianDeterminant()
        var compared = 0
        for k in 1..<(grid.dims.z - 1) {
            for j in 1..<(grid.dims.y - 1) {
                for i in 1..<(grid.dims.x - 1) {
                    let n = grid.index(i, j, k)
                    XCTAssertEqual(jacobian.voxels[n], referenceJacobian[n], accuracy: 1e-4, "voxel \(i),\(j),\(k)")
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 5000)
    }
}
