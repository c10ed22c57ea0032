import Foundation
import XCTest

/// Confined effects from the command line: leakage beyond the tolerance
/// is refused unless coupled effects are asked for, and the control that
/// shows the bias does not make the disease: a model that never saw the
/// bias (the twin) scores the biased test images as it scores their twins.
final class ConfinementCLITests: XCTestCase {
    static let folder = TinyDataset.scratch("confinement")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    /// `simba config --preset NAME` with some text replaced, as a file.
    func config(_ preset: String, _ name: String, _ edits: [(String, String)]) throws -> String {
        var text = try SimbaProcess.run(["config", "--preset", preset]).stdout
        for (old, new) in edits {
            XCTAssertTrue(text.contains(old), "no '\(old)' in the \(preset) configuration")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let file = path(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The bias in a region touching the disease region (Temporal_Sup_R
    /// and Insula_R), with a tolerance below what confinement leaves at 4 mm:
    /// refused in one line naming both regions and the amount; accepted with
    /// `allow_leakage: true`, and `simba inspect` then says the effects are coupled.
    func testLeakageBeyondTheToleranceIsRefusedUnlessCouplingIsAskedFor() throws {
        let adjacent = [("region: Putamen_R", "region: Temporal_Sup_R"), ("leakage_tolerance: 0.02", "leakage_tolerance: 0.0001")]
        let strict = try config("tiny", "adjacent.yaml", adjacent)
        let refused = try SimbaProcess.run(["generate", strict, "-o", path("adjacent.h5")], ranks: 2, timeout: 300)
        XCTAssertNotEqual(refused.status, 0)
        let line = try XCTUnwrap(refused.stderrLines.first, refused.stderr)
        XCTAssertEqual(refused.stderrLines.count, 1, refused.stderr)
        for part in ["simba: error:", "Insula_R", "Temporal_Sup_R", "mm³", "allow_leakage"] {
            XCTAssertTrue(line.contains(part), "'\(part)' missing from: \(line)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("adjacent.h5")))

        let coupled = try config("tiny", "coupled.yaml", adjacent + [("allow_leakage: false", "allow_leakage: true")])
        let accepted = try SimbaProcess.run(["generate", coupled, "-o", path("coupled.h5")], ranks: 2, timeout: 300)
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        let inspect = try SimbaProcess.run(["inspect", path("coupled.h5")])
        XCTAssertTrue(inspect.stdout.contains("effects coupled (effects.allow_leakage: true)"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("bias 'morph' (Temporal_Sup_R)"), inspect.stdout)
    }

    /// The quickstart's control, at 70/30 and 50/50 bias prevalence: the
    /// twin model (trained on twin images, a few epochs) scores the same
    /// test subjects with and without the bias; its disparities ΔTPR and
    /// ΔFPR (bias group − none) differ by less than 3 points between the two.
    func testTheTwinModelScoresBiasedImagesAsTheirTwins() throws {
        for (name, prevalence) in [("7030", "{disease: 0.7, healthy: 0.3}"), ("5050", "{disease: 0.5, healthy: 0.5}")] {
            let file = try config("quickstart", "quickstart-\(name).yaml",
                                  [("prevalence: {disease: 0.9, healthy: 0.1}", "prevalence: \(prevalence)")])
            let dataset = path("cohort-\(name).h5"), twin = path("cohort-\(name)-nobias.h5")
            let generated = try SimbaProcess.run(["generate", file, "-o", dataset, "--twin"], ranks: 2, timeout: 600)
            XCTAssertEqual(generated.status, 0, generated.stderr)
            let run = path("twin-\(name).h5")
            let trained = try SimbaProcess.run(["train", file, "--data", twin, "-o", run, "--epochs", "6"], ranks: 2, timeout: 900)
            XCTAssertEqual(trained.status, 0, trained.stderr)
            // Its own cohort's test images go to /evaluation, the biased cohort's to /evaluation_other_cohort.
            for data in [twin, dataset] {
                let evaluated = try SimbaProcess.run(["evaluate", run, "--data", data, "--bootstrap", "100"], ranks: 2, timeout: 600)
                XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
            }
            // From outside simba: the disparities from the stored predictions (threshold 0.5), same subjects.
            let script = """
                import h5py, numpy as np, sys
                def disparities(group):
                    p = h5py.File(sys.argv[1], 'r')[group + '/predictions']
                    order = np.argsort(p['sample_index'][()])
                    label, biased = p['label'][()][order], p['bias_group'][()][order] != b'none'
                    called = p['score'][()][order] >= 0.5
                    rate = lambda b, y: called[(biased == b) & (label == y)].mean()
                    return p['sample_index'][()][order], rate(True, 1) - rate(False, 1), rate(True, 0) - rate(False, 0)
                a, b = disparities('evaluation_other_cohort'), disparities('evaluation')
                assert np.array_equal(a[0], b[0])
                print('%.4f %.4f' % (a[1] - b[1], a[2] - b[2]))
                """
            let result = try SimbaProcess.python(script, [run])
            XCTAssertEqual(result.status, 0, result.stderr)
            let differences = result.stdout.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            XCTAssertEqual(differences.count, 2, result.stdout)
            for (metric, difference) in zip(["ΔTPR", "ΔFPR"], differences) {
                XCTAssertLessThan(abs(difference), 0.03, "\(name): the twin model's \(metric) moves by \(difference) with the bias in its input")
            }
        }
    }
}
