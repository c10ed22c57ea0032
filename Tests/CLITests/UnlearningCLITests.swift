import Foundation
import XCTest

/// The `unlearning` arm of `simba run`: it starts from the biased arm's
/// model, is chained after it, and is evaluated, probed and judged like the
/// other mitigations.
final class UnlearningCLITests: XCTestCase {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-unlearning-\(UUID().uuidString)")

    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

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
        let script = """
            import h5py, json, sys
            summary = json.load(open(sys.argv[1] + '/summary.json'))
            arm = next(a for a in summary['arms'] if a['name'] == 'unlearning')
            f = h5py.File(arm['run_file'], 'r')
            config = f.attrs['config']
            config = config.decode() if isinstance(config, bytes) else config
            assert 'unlearn: bias' in config and 'run-biased.h5' in config, config
            print(len(f['metrics/validation_adversary_accuracy']), 'adversary' in f['checkpoints/latest'],
                  len(f['encoding/layer']) > 0,
                  any(v['claim'] == 'mitigation' and v['arm'] == 'unlearning' for v in summary['verdicts']))
            """
        XCTAssertEqual(try python(script, [experiment]), "3 True True True\n")
    }
}
