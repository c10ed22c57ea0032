import Foundation
import XCTest

/// Encoding probes as `simba run` and `simba probe` make them, on a tiny
/// cohort with two biases (a morphological and an intensity one, as in the
/// multibias preset): one target per bias, the twin's model also probed on
/// the biased images in its own group, sample counts and Holm p-values in
/// the run files and summary.json.
final class EncodingCLITests: XCTestCase {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-encoding-\(UUID().uuidString)")
    static var experiment: String { folder.appendingPathComponent("two-biases").path }
    nonisolated(unsafe) static var firstRun: SimbaProcess.Result?

    static let config = TinyDataset.croppedCohortYAML(seed: 5) + """
          - name: contrast
            type: intensity
            scope: global
            factor: 1.2
            prevalence: {disease: 0.7, healthy: 0.3}
        training: {widths: [4, 8], epochs: 1, batch: 4}
        analysis: {arms: [biased, twin], bootstrap: 200, saliency: 0}
        """

    static var command: [String] { ["run", folder.appendingPathComponent("two-biases.yaml").path, "-o", experiment] }

    override class func setUp() {
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try? config.write(to: folder.appendingPathComponent("two-biases.yaml"), atomically: true, encoding: .utf8)
        firstRun = try? SimbaProcess.run(command, ranks: 2, timeout: 600)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { (Self.experiment as NSString).appendingPathComponent(name) }

    func testEachBiasIsProbedAndTheTwinAlsoOnTheBiasedImages() throws {
        let run = try XCTUnwrap(Self.firstRun)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("twin: encoding on the biased images (bias in the input, model never trained on it)"), run.stdout)
        XCTAssertTrue(run.stdout.contains("bias contrast alone, balanced within each disease class and combination of the other biases: "),
                      run.stdout)
        let output = try python("""
            import h5py, json, math, sys
            twin = h5py.File(sys.argv[1], 'r')
            own, other = twin['encoding'], twin['encoding_biased_images']
            print(own.attrs['dataset'].endswith('dataset-nobias.h5'), other.attrs['dataset'].endswith('/dataset.h5'),
                  other.attrs['stamp'].split(' on ')[1].startswith(other.attrs['dataset']))
            targets = sorted(k for k in other.keys() if k not in ('layer', 'features', 'pooling'))
            print(targets == sorted(k for k in own.keys() if k not in ('layer', 'features', 'pooling')), targets)
            for group in (own, other):
                for target in targets:
                    t = group[target]
                    p, holm, n = t['p_value'][()], t['p_value_holm'][()], t['samples'][()]
                    for raw, adjusted in zip(p, holm):
                        assert math.isnan(raw) == math.isnan(adjusted) and (math.isnan(raw) or raw <= adjusted <= 1), (target, p, holm)
                    assert len(set(n)) == 1 and n[0] <= group.attrs['samples'], (target, n)
                    assert ((t['low_power'][()] == 1) == (t['power'][()] < 0.8)).all()
            # The per-bias subsets are smaller than the test split; the disease probe uses all of it.
            images = int(own.attrs['samples'])
            print(int(own['disease/samples'][0]) == images, 0 < int(own['bias:morph/samples'][0]) < images,
                  0 < int(own['bias:contrast/samples'][0]) < images)
            summary = json.load(open(sys.argv[2]))
            arms = {a['name']: a for a in summary['arms']}
            stored = arms['twin']['encoding_on_biased_images']['targets']['bias:morph']
            print(all(abs(s['p_value_holm'] - h) < 1e-12 for s, h in zip(stored, other['bias:morph/p_value_holm'][()]) if 'p_value_holm' in s),
                  [s['samples'] for s in stored] == list(other['bias:morph/samples'][()]),
                  'encoding_on_biased_images' in arms['biased'], sorted(arms['biased']['encoding']['targets']) == targets)
            """, [path("run-twin.h5"), path("summary.json")])
        XCTAssertEqual(output.split(separator: "\n").map(String.init), [
            "True True True",
            "True ['bias', 'bias:contrast', 'bias:morph', 'bias_marginal', 'disease']",
            "True True True",
            "True True False True",
        ])
        let report = try String(contentsOfFile: path("report.html"), encoding: .utf8)
        for text in ["twin on biased images", "bias contrast (alone) decoded from each layer", "bias morph (alone) decoded from each layer",
                     "Holm-adjusted p &lt; 0.05"] {
            XCTAssertTrue(report.contains(text), "the report does not show \(text)")
        }
        let tables = try String(contentsOfFile: path("tables.csv"), encoding: .utf8)
        XCTAssertTrue(tables.contains("twin,encoding_biased_images_bias:morph,block1,"), "tables.csv lacks the twin on the biased images")
    }

    /// `simba probe RUN --data OTHER` stores the probes of another cohort's
    /// images in their own group and leaves /encoding as it was; the run's
    /// own dataset (by any path) still goes to /encoding.
    func testProbeOnAnotherCohortNeverReplacesTheRunsEncoding() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        let copy = Self.folder.appendingPathComponent("biased-copy.h5").path
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: path("run-biased.h5"), toPath: copy)
        let probed = try SimbaProcess.run(["probe", copy, "--data", path("dataset-nobias.h5")], ranks: 2, timeout: 300)
        XCTAssertEqual(probed.status, 0, probed.stderr)
        XCTAssertTrue(probed.stdout.contains("stored in \(copy): /encoding_twin_images"), probed.stdout)
        let link = Self.folder.appendingPathComponent("same-dataset.h5").path
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path("dataset.h5"))
        let own = try SimbaProcess.run(["probe", copy, "--data", link], ranks: 1, timeout: 300)
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertTrue(own.stdout.contains("stored in \(copy): /encoding\n"), own.stdout)
        let check = try python("""
            import h5py, numpy as np, sys
            original, copy = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
            a, b = original['encoding'], copy['encoding']
            same = all(np.array_equal(a[t + '/accuracy'][()], b[t + '/accuracy'][()], equal_nan=True)
                       and np.array_equal(a[t + '/p_value_holm'][()], b[t + '/p_value_holm'][()], equal_nan=True) for t in ('bias', 'bias:morph', 'disease'))
            print(same, copy['encoding_twin_images'].attrs['dataset'].endswith('dataset-nobias.h5'), 'encoding_biased_images' in copy)
            """, [path("run-biased.h5"), copy])
        XCTAssertEqual(check, "True True False\n")
    }

    /// --resume keeps the twin's probes on the biased images when their
    /// stamp is current and redoes them when the group is gone.
    func testResumeKeepsOrRedoesTheProbesOnTheBiasedImages() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        _ = try python("import h5py, sys\nf = h5py.File(sys.argv[1], 'a'); del f['encoding_biased_images']", [path("run-twin.h5")])
        let redone = try SimbaProcess.run(Self.command + ["--resume"], ranks: 2, timeout: 600)
        XCTAssertEqual(redone.status, 0, redone.stderr)
        XCTAssertTrue(redone.stdout.contains("twin: keeping its evaluation, its encoding, not its encoding on the biased images, not its saliency maps"),
                      redone.stdout)
        XCTAssertTrue(redone.stdout.contains("twin: encoding on the biased images"), redone.stdout)
        XCTAssertFalse(redone.stdout.contains("twin: encoding\n"), "the twin's own probes were redone")
        let kept = try SimbaProcess.run(Self.command + ["--resume"], ranks: 2, timeout: 600)
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertTrue(kept.stdout.contains("twin: keeping its evaluation, its encoding, its encoding on the biased images, not its saliency maps"),
                      kept.stdout)
        XCTAssertFalse(kept.stdout.contains("twin: encoding on the biased images"), kept.stdout)
        XCTAssertTrue(kept.stdout.contains("biased: keeping its evaluation, its encoding, not its saliency maps"), kept.stdout)
    }
}
