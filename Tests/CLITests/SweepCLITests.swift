import Foundation
import XCTest

/// `simba sweep`: experiment-parallel groups, job-array tasks and the merge.
final class SweepCLITests: XCTestCase {
    func testArrayTaskThenMergeRefusedThenTheWholeSweepOnTwoGroups() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-sweep-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sweep = ["sweep", "--preset", "tiny", "--factor", "prevalence", "--values", "0.5,0.9", "-o", folder, "--epochs", "1"]
        // One job-array task: experiment 1 alone.
        let task = try SimbaProcess.run(sweep + ["--only", "1"], ranks: 1, timeout: 600)
        XCTAssertEqual(task.status, 0, task.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/02-prevalence-0.9/summary.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/01-prevalence-0.5"))
        // The merge needs every experiment.
        let early = try SimbaProcess.run(sweep + ["--merge"], ranks: 1)
        XCTAssertNotEqual(early.status, 0)
        XCTAssertEqual(early.stderrLines.count, 1, early.stderr)
        XCTAssertTrue(early.stderr.contains("experiment 01-prevalence-0.5 has not finished"), early.stderr)
        // --resume keeps the finished experiment, starts the other, and merges.
        let whole = try SimbaProcess.run(sweep + ["--resume"], ranks: 2, timeout: 600)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertTrue(whole.stdout.contains("[02-prevalence-0.9] keeping"), whole.stdout)
        XCTAssertTrue(whole.stdout.contains("wrote \(folder)/sweep.h5"), whole.stdout)
        let table = try SimbaProcess.tool("/usr/bin/python3", ["-c", """
            import h5py, sys
            f = h5py.File(sys.argv[1], 'r')
            print(f.attrs['factor'], [v.decode() for v in f['value'][()]], f['estimate'].shape[0], f['bias_encoding'].shape)
            """, folder + "/sweep.h5"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertEqual(table.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "prevalence ['0.5', '0.9'] 2 (2, 3)")
        let csv = try String(contentsOfFile: folder + "/sweep.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains("02-prevalence-0.9,0.9,biased vs twin ΔΔTPR,"), csv)
    }

    func testTwoGroupsRunTheirShareSideBySide() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-sweep-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try SimbaProcess.run(["sweep", "--preset", "tiny", "--factor", "salience", "--values", "1,3",
                                           "-o", folder, "--epochs", "1"], ranks: 2, timeout: 600)
        XCTAssertEqual(result.status, 0, result.stderr)
        // Each group reports under its experiment's name, on 1 rank.
        XCTAssertTrue(result.stdout.contains("[01-salience-1] biased: trained 1 epochs (central) on 1 rank"), result.stdout)
        XCTAssertTrue(result.stdout.contains("[02-salience-3] biased: trained 1 epochs (central) on 1 rank"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/sweep.html"))
    }

    /// A sweep over the sites' size (the tiny-sites design on the tiny
    /// cohort): every experiment trains its site strategies on sites of that
    /// many training images — one step per site and round — and the table
    /// compares each with central. An arm the sites' size does not suit is
    /// refused before anything is made.
    func testASiteSamplesSweepTrainsEachExperimentInSitesOfThatSize() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-sweep-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let printed = try SimbaProcess.run(["config", "--preset", "tiny"], ranks: 1)
        XCTAssertEqual(printed.status, 0, printed.stderr)
        func config(arms: String) throws -> String {
            let path = folder + "/sites-\(arms.filter(\.isLetter)).yaml"
            let text = printed.stdout
                .replacingOccurrences(of: "arms: [biased, twin]", with: "arms: [\(arms)]")
                .replacingOccurrences(of: "probes: true", with: "probes: false")
                .replacingOccurrences(of: "saliency: 2 ", with: "saliency: 0 ")
                + "\nsweep:\n  factor: site_samples\n  values: [2, 5]\n"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let refusedFolder = folder + "/refused"
        let refused = try SimbaProcess.run(["sweep", try config(arms: "central, local"), "-o", refusedFolder, "--epochs", "1"], ranks: 2)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("arm local: training.site_samples: deals only training samples into sites, but local models"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refusedFolder + "/01-site_samples-2"))

        let output = folder + "/sweep"
        let result = try SimbaProcess.run(["sweep", try config(arms: "central, federated, travelling"), "-o", output, "--epochs", "1"],
                                          ranks: 2, timeout: 600)
        XCTAssertEqual(result.status, 0, result.stderr)
        let steps = try SimbaProcess.tool("/usr/bin/python3", ["-c", """
            import h5py, sys
            for experiment in ['01-site_samples-2', '02-site_samples-5']:
                s = h5py.File(sys.argv[1] + '/' + experiment + '/dataset.h5', 'r')['samples']
                names = [n.decode() for n in s['split_names'][()]]
                n = int((s['split'][()] == names.index('train')).sum())
                size = int(experiment.split('-')[-1])
                for arm in ['federated', 'travelling']:
                    run = h5py.File(sys.argv[1] + '/' + experiment + '/run-' + arm + '.h5', 'r')
                    print(experiment, arm, run['metrics/step'][0] == -(-n // size))
            """, output])
        XCTAssertEqual(steps.status, 0, steps.stderr)
        XCTAssertFalse(steps.stdout.contains("False"), steps.stdout)
        XCTAssertEqual(steps.stdout.split(separator: "\n").count, 4, steps.stdout)
        let csv = try String(contentsOfFile: output + "/sweep.csv", encoding: .utf8)
        for column in ["federated vs central ΔΔTPR", "travelling vs central ΔΔFPR", "central ACC", "travelling AUROC"] {
            XCTAssertTrue(csv.contains("02-site_samples-5,5,\(column),"), column + "\n" + csv)
        }

        // The experiments one after another, each one's runs dealt to two
        // single ranks: the same single-rank runs, so bitwise the same models.
        let dealt = folder + "/dealt"
        let byRuns = try SimbaProcess.run(["sweep", try config(arms: "central, federated, travelling"), "-o", dealt, "--epochs", "1",
                                           "--groups", "1", "--layout", "2x1"], ranks: 2, timeout: 600)
        XCTAssertEqual(byRuns.status, 0, byRuns.stderr)
        XCTAssertTrue(byRuns.stdout.contains("[01-site_samples-2] layout 2x1: 2 groups of ranks train and analyse the 3 runs"), byRuns.stdout)
        let same = try SimbaProcess.tool("/usr/bin/python3", ["-c", """
            import h5py, numpy as np, sys
            for experiment in ['01-site_samples-2', '02-site_samples-5']:
                for arm in ['central', 'federated', 'travelling']:
                    a, b = (h5py.File(root + '/' + experiment + '/run-' + arm + '.h5', 'r')['checkpoints/latest/parameters'][()]
                            for root in sys.argv[1:])
                    print(np.array_equal(a, b))
            """, output, dealt])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertEqual(same.stdout, String(repeating: "True\n", count: 6))
    }
}
