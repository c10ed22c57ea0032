import Foundation
import XCTest

/// The unlearning arms of `simba run`: `unlearning` starts from the biased
/// arm's model and is judged like the other mitigations; `harmonytm`
/// starts from the travelling arm's model and is compared like every
/// strategy arm.
final class UnlearningCLITests: XCTestCase {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-unlearning-\(UUID().uuidString)")

    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    /// Python: open_arm(name) gives the experiment's summary (argv[1]), the
    /// arm's entry, its run file and the training YAML it was trained with.
    static let openArm = """
        import h5py, json, sys
        def open_arm(name):
            summary = json.load(open(sys.argv[1] + '/summary.json'))
            arm = next(a for a in summary['arms'] if a['name'] == name)
            f = h5py.File(arm['run_file'], 'r')
            config = f.attrs['config']
            return summary, arm, f, config.decode() if isinstance(config, bytes) else config

        """

    func testUnlearningArmRunsAfterTheBiasedArmAndIsJudgedAsAMitigation() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let printed = try SimbaProcess.run(["config", "--preset", "tiny"], ranks: 1, timeout: 60)
        XCTAssertEqual(printed.status, 0, printed.stderr)
        let config = folder.appendingPathComponent("unlearning.yaml").path
        try printed.stdout.replacingOccurrences(of: "unlearning_head_epochs: 3", with: "unlearning_head_epochs: 1")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let experiment = folder.appendingPathComponent("experiment").path
        let run = try SimbaProcess.run(["run", config, "-o", experiment, "--epochs", "3", "--arms", "biased,twin,unlearning"],
                                       ranks: 2, timeout: 600)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("unlearning vs biased, morph − none: ΔTPR"), run.stdout)
        let script = Self.openArm + """
            summary, arm, f, config = open_arm('unlearning')
            assert 'unlearn: bias' in config and 'run-biased.h5' in config, config
            print(len(f['metrics/validation_adversary_accuracy']), 'adversary' in f['checkpoints/latest'],
                  len(f['encoding/layer']) > 0,
                  any(v['claim'] == 'mitigation' and v['arm'] == 'unlearning' for v in summary['verdicts']))
            """
        XCTAssertEqual(try python(script, [experiment]), "3 True True True\n")
    }

    /// The `harmonytm` arm of a multi-site experiment: the travelling arm's
    /// best model, then travelling with the site unlearned; compared with
    /// central like every strategy arm, and probed for the site.
    func testHarmonyTMArmRunsAfterTheTravellingArmAndIsProbedForTheSite() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("harmonytm.yaml").path
        try (TinyDataset.croppedCohortYAML(seed: 3) + """
            sites:
              - {name: north, scanner: {gamma: 1, bias_field: 0, noise: 0, blur_mm: 0}}
              - {name: south, disease_prevalence: 0.4, scanner: {gamma: 0.85, bias_field: 0.15, noise: 0.01, blur_mm: 0.5}}
              - {name: west, scanner: {gamma: 1.15, bias_field: 0.1, noise: 0.02, blur_mm: 1}}
            training: {widths: [4, 8], epochs: 3, batch: 4, patience: 3, unlearning_head_epochs: 1}
            analysis: {arms: [central, travelling, harmonytm], bootstrap: 200, saliency: 0}
            """).write(toFile: config, atomically: true, encoding: .utf8)
        let experiment = folder.appendingPathComponent("multisite").path
        let run = try SimbaProcess.run(["run", config, "-o", experiment], ranks: 2, timeout: 600)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("harmonytm: trained 3 rounds (travelling)"), run.stdout)
        let script = Self.openArm + """
            summary, arm, f, config = open_arm('harmonytm')
            assert 'unlearn: site' in config and 'run-travelling.h5' in config, config
            print(len(f['metrics/validation_adversary_accuracy']), 'site' in arm['encoding']['targets'],
                  any(c['arm'] == 'harmonytm' and c['against'] == 'central' for c in summary['comparisons']))
            """
        XCTAssertEqual(try python(script, [experiment]), "3 True True\n")
    }
}
