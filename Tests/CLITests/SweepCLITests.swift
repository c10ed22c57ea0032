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
}
