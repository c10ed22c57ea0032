import Foundation
import XCTest

/// `analysis.replicates` and the counterfactual cross-scores as a user runs
/// them: the tiny experiment with two training replicates of the biased and
/// twin arms, one after another on 2 ranks and side by side on 4.
final class ReplicateCLITests: XCTestCase {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-replicates-\(UUID().uuidString)")
    static var config: String { folder.appendingPathComponent("tiny-replicates.yaml").path }
    nonisolated(unsafe) static var sequential: SimbaProcess.Result?

    static func command(_ output: String) -> [String] {
        ["run", config, "-o", folder.appendingPathComponent(output).path, "--epochs", "2", "--arms", "biased,twin"]
    }

    override class func setUp() {
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard let printed = try? SimbaProcess.run(["config", "--preset", "tiny"]), printed.status == 0 else { return }
        let yaml = printed.stdout.replacingOccurrences(of: "\n  replicates: 1 ", with: "\n  replicates: 2 ")
        try? yaml.write(toFile: config, atomically: true, encoding: .utf8)
        sequential = try? SimbaProcess.run(command("two-ranks"), ranks: 2, timeout: 900)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ experiment: String, _ name: String) -> String { Self.folder.appendingPathComponent(experiment).appendingPathComponent(name).path }

    func testEveryReplicateIsTrainedCrossScoredAndPooled() throws {
        let run = try XCTUnwrap(Self.sequential)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(try String(contentsOfFile: Self.config, encoding: .utf8).contains("\n  replicates: 2 "))
        for name in ["run-biased.h5", "run-twin.h5", "run-biased-r2.h5", "run-twin-r2.h5"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("two-ranks", name)), name)
        }
        XCTAssertTrue(run.stdout.contains("twin (cohort 1, training 2): on the other cohort's test images (dataset.h5)"), run.stdout)
        XCTAssertTrue(run.stdout.contains("(pooled over 2 replicates)"), run.stdout)
        // From outside: each run file keeps its own evaluation and gains the
        // other cohort's beside it (same subjects); the replicates' training
        // seeds are the experiment's seed and seed + 1; the summary pools them.
        let output = try python("""
            import h5py, json, sys, re
            folder = sys.argv[1]
            summary = json.load(open(folder + '/summary.json'))
            print(summary['replicates'], summary['cohort_replicates'], len(summary['arms']))
            for arm in summary['arms']:
                f = h5py.File(arm['run_file'], 'r')
                own, other = f['evaluation'], f['evaluation_other_cohort']
                same = (own['predictions/sample_index'][()] == other['predictions/sample_index'][()]).all()
                seed = re.search(r'\\n  seed: (\\d+)', f.attrs['config']).group(1)
                print(arm['name'], arm['replicate']['training'], own.attrs['dataset'].split('/')[-1],
                      other.attrs['dataset'].split('/')[-1], same, seed)
            c = next(c for c in summary['comparisons'] if c['metric'] == 'ΔTPR')
            per = [r['estimate'] for r in c['difference_by_replicate']]
            print(len(per), abs(sum(per) / 2 - c['difference']['estimate']) < 1e-12)
            print(len(summary['decomposition']) > 0, len([v for v in summary['verdicts'] if v['claim'] == 'learned']))
            """, [Self.folder.appendingPathComponent("two-ranks").path])
        XCTAssertEqual(output.split(separator: "\n"), [
            "2 1 4",
            "biased 1 dataset.h5 dataset-nobias.h5 True 1", "twin 1 dataset-nobias.h5 dataset.h5 True 1",
            "biased 2 dataset.h5 dataset-nobias.h5 True 2", "twin 2 dataset-nobias.h5 dataset.h5 True 2",
            "2 True", "True 2",
        ])
    }

    /// The report opens with the verdicts, the decomposition and the
    /// replicate spread, with summary.json's numbers (rendered by headless Chromium).
    func testReportOpensWithDecompositionAndReplicateSpread() throws {
        XCTAssertEqual(Self.sequential?.status, 0)
        let page = try renderedDOM(path("two-ranks", "report.html"))
        let headings = ["What this experiment shows", "Where does the disparity come from?", "Replicates", "Did the bias change the model?"]
        let positions = headings.map { page.range(of: $0)?.lowerBound }
        XCTAssertFalse(positions.contains(nil), "missing sections: \(zip(headings, positions).filter { $1 == nil }.map(\.0))")
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted(), "sections out of order")
        // The pooled learned part and each replicate's ΔΔ, formatted from summary.json by Python.
        let expected = try python("""
            import json, sys
            s = json.load(open(sys.argv[1]))
            f = lambda c: '%.3f [%.3f, %.3f]' % (c['estimate'], c['lower'], c['upper'])
            d = s['decomposition'][0]
            print(f(d['learned']['pooled']))
            for c in s['comparisons'][0]['difference_by_replicate']: print(f(c))
            """, [path("two-ranks", "summary.json")])
        for line in expected.split(separator: "\n") where !line.isEmpty {
            XCTAssertTrue(page.contains(String(line)), "the rendered report does not show \(line)")
        }
    }

    /// Four ranks run the arms and replicates side by side on two groups of
    /// two, each run exactly as two ranks run it alone: the pooled figures
    /// are the same to the bit.
    func testReplicatesSideBySideEqualOneAfterAnother() throws {
        let sequential = try XCTUnwrap(Self.sequential)
        XCTAssertEqual(sequential.status, 0)
        XCTAssertTrue(sequential.stdout.contains("layout 1x2: the 4 runs (arms × replicates) one after another on all 2 ranks"),
                      sequential.stdout)
        let parallel = try SimbaProcess.run(Self.command("four-ranks"), ranks: 4, timeout: 900)
        XCTAssertEqual(parallel.status, 0, parallel.stderr)
        XCTAssertTrue(parallel.stdout.contains("layout 2x2: 2 groups of ranks train and analyse the 4 runs (arms × replicates) side by side"),
                      parallel.stdout)
        let output = try python("""
            import json, sys
            a, b = (json.load(open(p)) for p in sys.argv[1:3])
            print(a['ranks'], b['ranks'])
            for key in ('comparisons', 'disparities', 'decomposition', 'verdicts'):
                print(key, a[key] == b[key])
            print('scores', [x['evaluation']['predictions'] for x in a['arms']] == [x['evaluation']['predictions'] for x in b['arms']])
            """, [path("two-ranks", "summary.json"), path("four-ranks", "summary.json")])
        XCTAssertEqual(output.split(separator: "\n"), ["2 4", "comparisons True", "disparities True", "decomposition True",
                                                       "verdicts True", "scores True"])
    }

    /// A layout the job cannot have is refused on every rank in one line, before any folder is made.
    func testAnImpossibleLayoutIsRefusedBeforeAnythingIsWritten() throws {
        let output = Self.folder.appendingPathComponent("bad-layout").path
        let refused = try SimbaProcess.run(["run", Self.config, "-o", output, "--layout", "3x1"], ranks: 2)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.stderrLines, ["simba: error: --layout 3x1 asks for 3 × 1 ranks, but the job has 2"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    /// `simba evaluate --data OTHER` adds the cross-score and leaves the run's own evaluation alone.
    func testEvaluateOnTheOtherCohortKeepsTheOwnEvaluation() throws {
        XCTAssertEqual(Self.sequential?.status, 0)
        let copy = Self.folder.appendingPathComponent("copy.h5").path
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: path("two-ranks", "run-biased-r2.h5"), toPath: copy)
        let script = """
            import h5py, sys
            f = h5py.File(sys.argv[1], 'r')
            for g in ('evaluation', 'evaluation_other_cohort'):
                print(g, f[g].attrs['dataset'].split('/')[-1], list(f[g + '/predictions/score'][()][:3]) if g in f else None)
            """
        let before = try python(script, [copy])
        let result = try SimbaProcess.run(["evaluate", copy, "--data", path("two-ranks", "dataset-nobias.h5"), "--bootstrap", "200"],
                                          ranks: 2)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("/evaluation_other_cohort"), result.stdout)
        let after = try python(script, [copy])
        XCTAssertEqual(before.split(separator: "\n").first, after.split(separator: "\n").first, "the run's own evaluation changed")
        XCTAssertTrue(after.contains("evaluation_other_cohort dataset-nobias.h5"), after)
    }
}
