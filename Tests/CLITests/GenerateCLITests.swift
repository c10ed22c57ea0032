import Foundation
import XCTest

/// `simba generate`, `inspect`, `export` and `regions` as a user runs them.
final class GenerateCLITests: XCTestCase {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-generate-\(UUID().uuidString)")

    override class func setUp() {
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    /// h5py digest of a dataset's bytes, from outside simba.
    func digest(_ file: String, _ dataset: String) throws -> String {
        let script = "import h5py, hashlib, sys; print(hashlib.sha256(h5py.File(sys.argv[1], 'r')[sys.argv[2]][()].tobytes()).hexdigest())"
        let result = try SimbaProcess.tool("/usr/bin/python3", ["-c", script, file, dataset])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    /// Every sample is a pure function of (config, seed, index): one, two or
    /// three ranks write byte-identical images, twins and sample tables.
    func testCohortIsIdenticalWhateverTheRankCount() throws {
        var digests: [[String]] = []
        for ranks in 1...3 {
            let output = path("tiny-\(ranks).h5")
            let result = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output, "--twin"], ranks: ranks,
                                              timeout: 300)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("64 images"), result.stdout)
            let twin = path("tiny-\(ranks)-nobias.h5")
            digests.append([try digest(output, "images"), try digest(twin, "images"),
                            try digest(output, "samples/disease_coefficient"), try digest(output, "samples/min_jacobian")])
        }
        XCTAssertEqual(digests[0], digests[1])
        XCTAssertEqual(digests[0], digests[2])
        XCTAssertNotEqual(digests[0][0], digests[0][1], "the twin must differ from the biased cohort")

        // From outside: the twin differs exactly in the bias group, and the
        // proportions follow the preset (bias in 70% of disease, 30% of healthy).
        let script = """
            import h5py, numpy as np, sys
            a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
            flag, label = a['samples/bias_morph'][()], a['samples/label'][()]
            same = np.array([np.array_equal(a['images'][i], b['images'][i]) for i in range(len(flag))])
            print(bool(np.all(same == (flag == 0))), int(flag[label == 1].sum()), int(flag[label == 0].sum()),
                  a.attrs['variant'], b.attrs['variant'], int(a.attrs['complete']), float(a['samples/min_jacobian'][()].min()) > 0)
            """
        let check = try SimbaProcess.tool("/usr/bin/python3", ["-c", script, path("tiny-2.h5"), path("tiny-2-nobias.h5")])
        XCTAssertEqual(check.stdout, "True 22 10 biased twin 1 True\n", check.stderr)
    }

    func testInspectExportAndRegions() throws {
        let output = path("inspect.h5")
        XCTAssertEqual(try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output], ranks: 2, timeout: 300).status, 0)
        let inspect = try SimbaProcess.run(["inspect", output])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("64 images"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("bias morph"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("minimum Jacobian determinant"), inspect.stdout)

        let exported = path("exported")
        let export = try SimbaProcess.run(["export", output, "--samples", "0,3-4", "-o", exported])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stdout.split(separator: "\n").count, 6)
        let png = try Data(contentsOf: URL(fileURLWithPath: exported + "/sample-00003.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // nibabel sees the template's affine and the stored voxels.
        let script = """
            import h5py, nibabel, numpy as np, sys
            image = nibabel.load(sys.argv[1] + '/sample-00003.nii.gz')
            f = h5py.File(sys.argv[2], 'r')
            affine = np.array(f['template'].attrs['affine']).reshape(4, 4)
            print(np.allclose(image.affine, affine, atol=1e-4), image.shape == f['images'].shape[1:],
                  np.allclose(image.get_fdata(), f['images'][3], atol=1e-6))
            """
        let check = try SimbaProcess.tool("/usr/bin/python3", ["-c", script, exported, output])
        XCTAssertEqual(check.stdout, "True True True\n", check.stderr)

        let regions = try SimbaProcess.run(["regions", "--voxel-mm", "4", "--distance", "Insula_R", "Putamen_R"])
        XCTAssertEqual(regions.status, 0, regions.stderr)
        XCTAssertTrue(regions.stdout.hasPrefix("Insula_R ↔ Putamen_R: centroids"), regions.stdout)
    }

    /// Bad input: one line, non-zero exit on every rank, nothing written
    /// that looks complete, nothing overwritten.
    func testBadInputIsRefusedCleanly() throws {
        let existing = path("existing.h5")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existing))
        let badRegion = path("bad-region.yaml")
        try "disease: {region: Insula_X}\ncohort: {size: 16}\n".write(toFile: badRegion, atomically: true, encoding: .utf8)
        let small = path("small.yaml")
        try "cohort: {size: 2, splits: {train: 1, validation: 0, test: 0}}\ntemplate: {voxel_mm: 4}\n"
            .write(toFile: small, atomically: true, encoding: .utf8)
        let folding = path("folding.yaml")
        try "template: {voxel_mm: 4}\ncohort: {size: 16}\ndisease: {strength_mm: 25, edge_mm: 2, coefficient: {disease: [3, 0], healthy: [-3, 0]}}\n"
            .write(toFile: folding, atomically: true, encoding: .utf8)
        let cases: [(arguments: [String], ranks: Int, environment: [String: String], message: String)] = [
            (["generate", folding, "-o", path("folding.h5")], 2, [:], "would fold space"),
            (["generate", "--preset", "tiny", "-o", existing], 2, [:], "already exists (use --overwrite"),
            (["generate", badRegion, "-o", path("region.h5")], 2, [:], "unknown region 'Insula_X'"),
            (["generate", small, "-o", path("small.h5")], 3, [:], "3 ranks for 2 samples"),
            (["generate", "--preset", "tiny", "-o", path("missing/dir/x.h5")], 2, [:], "does not exist"),
            (["generate", "--preset", "tiny", "-o", path("template.h5")], 2, ["SIMBA_TEMPLATE_DIR": "/nonexistent"],
             "install Debian's mricron-data"),
            (["generate", "--preset", "tinyy", "-o", path("preset.h5")], 2, [:], "no preset is named 'tinyy'"),
        ]
        for (arguments, ranks, environment, message) in cases {
            let result = try SimbaProcess.run(arguments, ranks: ranks, timeout: 120, environment: environment)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertEqual(result.stderrLines.count, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("simba: error: "), result.stderr)
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "keep me")
        let left = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
        XCTAssertFalse(left.contains { $0.hasSuffix(".h5") && $0 != "existing.h5" }, "\(left)")
        XCTAssertFalse(left.contains { $0.hasSuffix(".partial") }, "\(left)")
    }
}
