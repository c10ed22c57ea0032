import Foundation
import XCTest

/// `simba config` as a user runs it: a preset printed whole (cohort,
/// training, analysis), a file checked whole, and the printed preset run as
/// a file repeating the preset exactly.
final class ConfigCLITests: XCTestCase {
    static let folder = TinyDataset.scratch("config")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    /// `simba config --preset NAME > NAME.yaml`; returns the file and its text.
    func printedPreset(_ name: String) throws -> (file: String, text: String) {
        let printed = try SimbaProcess.run(["config", "--preset", name])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        let file = path("\(name).yaml")
        try printed.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        return (file, printed.stdout)
    }

    func testThePrintedPresetIsCheckedWholeAndPrintedBack() throws {
        let (file, text) = try printedPreset("tiny")
        let checked = try SimbaProcess.run(["config", file])
        XCTAssertEqual(checked.status, 0, checked.stderr)
        XCTAssertEqual(checked.stderr, "")
        for line in ["\ntraining:", "\n  widths: [4, 8] ", "\n  epochs: 3 ", "\nanalysis:", "\n  bootstrap: 200 ", "\n  saliency: 2 "] {
            XCTAssertTrue(checked.stdout.contains(line), "no '\(line)' in:\n\(checked.stdout)")
        }
        XCTAssertEqual(checked.stdout.split(separator: "\n").first, "# \(file), checked: defaults filled in")
        XCTAssertEqual(checked.stdout.split(separator: "\n").dropFirst(), text.split(separator: "\n").dropFirst(),
                       "the check prints the file back as it was printed")
    }

    /// The experiment files shipped in configs/ (test-science runs them) pass the whole check.
    func testTheShippedConfigurationsAreValid() throws {
        let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../configs").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertTrue(files.contains("quickstart-unlearning.yaml"), "\(files)")
        for file in files {
            let checked = try SimbaProcess.run(["config", configs.appendingPathComponent(file).path])
            XCTAssertEqual(checked.status, 0, "\(file): \(checked.stderr)")
        }
    }

    func testMistakesInTheTrainingAndAnalysisSectionsAreRefused() throws {
        let (_, text) = try printedPreset("tiny")
        let cases: [(String, String, String)] = [
            ("  batch: 6 ", "  batch: 0 ", "training.batch: must be at least 1, got 0"),
            ("  batch: 6 ", "  batchsize: 6 ", "training: unknown key 'batchsize'"),
            ("  strategy: central ", "  strategy: gossip ", "training.strategy: must be one of central, federated, travelling, local, fedtm, got 'gossip'"),
            ("  saliency: 2 ", "  salency: 2 ", "analysis: unknown key 'salency' (did you mean 'saliency'?)"),
            ("  folds: 5 ", "  folds: 1 ", "analysis.folds: must be at least 2, got 1"),
        ]
        for (index, (old, new, message)) in cases.enumerated() {
            let edited = text.replacingOccurrences(of: old, with: new)
            XCTAssertNotEqual(edited, text, old)
            let file = path("mistake-\(index).yaml")
            try edited.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try SimbaProcess.run(["config", file])
            XCTAssertEqual(result.status, 1, new)
            XCTAssertEqual(result.stdout, "", new)
            XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("simba: error: \(message)"), "\(result.stderr) should start with \(message)")
        }
    }

    /// `simba run FILE` on the printed preset and `simba run --preset` give
    /// the same numbers, bit for bit (and the same experiment.yaml but for its title).
    func testThePrintedPresetRunsAsThePreset() throws {
        let (file, _) = try printedPreset("tiny")
        let options = ["--epochs", "1", "--arms", "biased,twin"]
        var summaries: [String] = [], experiments: [[Substring]] = []
        for (name, source) in [("from-file", [file]), ("from-preset", ["--preset", "tiny"])] {
            let folder = path(name)
            let result = try SimbaProcess.run(["run"] + source + ["-o", folder] + options, ranks: 2, timeout: 600)
            XCTAssertEqual(result.status, 0, result.stderr)
            summaries.append(try numbers(summary: folder + "/summary.json", folder: folder))
            experiments.append(try String(contentsOfFile: folder + "/experiment.yaml", encoding: .utf8)
                .split(separator: "\n").dropFirst().map { $0 })
        }
        XCTAssertEqual(summaries[0], summaries[1])
        XCTAssertEqual(experiments[0], experiments[1])
    }

    /// summary.json without what names the run (its title, time and
    /// folder), keys sorted.
    func numbers(summary path: String, folder: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var summary = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual((summary["arms"] as? [Any])?.count, 2)
        summary["experiment"] = nil
        summary["created"] = nil
        // Peak memory is a measurement of the machine, not a result: it varies between runs.
        summary["generation_memory"] = nil
        summary["arms"] = (summary["arms"] as? [[String: Any]])?.map { arm in arm.filter { $0.key != "memory" } }
        let sorted = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: sorted, as: UTF8.self).replacingOccurrences(of: folder, with: "OUTDIR")
    }
}
