import Foundation
import XCTest

/// `simba run`, `evaluate`, `probe` and `report` as a user runs them, with
/// the files checked from outside (h5py, headless Chromium).
final class ExperimentCLITests: XCTestCase {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-experiment-\(UUID().uuidString)")
    static var experiment: String { folder.appendingPathComponent("tiny").path }
    nonisolated(unsafe) static var firstRun: SimbaProcess.Result?

    /// The tiny experiment's command line: three arms, two epochs each.
    static var command: [String] { ["run", "--preset", "tiny", "-o", experiment, "--epochs", "2", "--arms", "biased,twin,group-models"] }

    /// One tiny experiment on 2 ranks, shared by the tests.
    override class func setUp() {
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        firstRun = try? SimbaProcess.run(command, ranks: 2, timeout: 600)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { (Self.experiment as NSString).appendingPathComponent(name) }

    func testRunWritesEveryFileAndTheSummaryMatchesTheRunFiles() throws {
        let run = try XCTUnwrap(Self.firstRun)
        XCTAssertEqual(run.status, 0, run.stderr)
        for name in ["experiment.yaml", "dataset.h5", "dataset-nobias.h5", "run-biased.h5", "run-twin.h5",
                     "run-group-models.h5", "report.html", "summary.json", "tables.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path(name)), name)
        }
        XCTAssertTrue(run.stdout.contains("biased vs twin, morph − none: ΔTPR"), run.stdout)
        XCTAssertTrue(run.stdout.contains("group-models vs biased, morph − none: ΔFPR"), run.stdout)
        // summary.json's TPR per group equals /evaluation/by_group in each run file.
        let script = """
            import h5py, json, sys, math
            summary = json.load(open(sys.argv[1]))
            for arm in summary['arms']:
                f = h5py.File(arm['run_file'], 'r')
                g = f['evaluation/by_group']
                keys = [k.decode() for k in g['key'][()]]
                metrics = [m.decode() for m in g['metric'][()]]
                table = arm['evaluation']['by_group']
                assert table['keys'] == keys, (table['keys'], keys)
                for r, key in enumerate(keys):
                    for c, metric in enumerate(metrics):
                        stored = g['estimate'][r, c]
                        cell = table['cells'][r][c].get('estimate')
                        assert (cell is None and math.isnan(stored)) or abs(cell - stored) < 1e-12, (key, metric, cell, stored)
                n = len(f['evaluation/predictions/score'])
                assert n == g['samples'][0], (n, g['samples'][0])
                print(arm['name'], n, len(f['encoding/layer']) if 'encoding' in f else 0)
            """
        let output = try python(script, [path("summary.json")])
        XCTAssertTrue(output.contains("biased 16 3") && output.contains("twin 16 3") && output.contains("group-models 16 0"), output)
    }

    /// Every stage records each rank's peak resident memory in the file it
    /// wrote (`/memory/STAGE`), and summary.json and the report carry them.
    /// `simba run --spatial 2`: the layout says so, and each arm trains the
    /// model its 2-rank data-parallel run trains (< 1e-5; the shared
    /// experiment above), the group-models arm (local models, one per bias
    /// group, both on the one group of 2) too; a rank count the groups do
    /// not divide is refused before anything is written.
    func testSpatialRunTrainsTheArmsItsDataParallelRunTrains() throws {
        _ = try XCTUnwrap(Self.firstRun)
        let output = Self.folder.appendingPathComponent("spatial").path
        let run = try SimbaProcess.run(["run", "--preset", "tiny", "-o", output, "--epochs", "2", "--arms", "biased,twin,group-models",
                                        "--spatial", "2"], ranks: 2, timeout: 600)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("each training sample on 2 ranks (spatial)"), run.stdout)
        for arm in ["biased", "twin", "group-models"] {
            let difference = try python(TrainCLITests.relativeDifference,
                                        [path("run-\(arm).h5"), (output as NSString).appendingPathComponent("run-\(arm).h5")])
            XCTAssertLessThan(Double(difference.trimmingCharacters(in: .whitespacesAndNewlines))!, 1e-5, arm)
        }
        let refused = try SimbaProcess.run(["run", "--preset", "tiny", "-o", output + "-refused", "--arms", "biased,group-models",
                                            "--spatial", "3"], ranks: 2, timeout: 120)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("training.spatial 3 needs a rank count that is a multiple of 3, got 2"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + "-refused"))
    }

    /// More ranks than the batch can share: `simba run` shares each sample
    /// over spatial groups by itself (before, central training refused),
    /// and trains what the ranks the batch can share train (< 1e-5).
    func testSimbaChoosesSpatialGroupsWhenTheBatchCannotShareTheRanks() throws {
        _ = try XCTUnwrap(Self.firstRun)
        let printed = try SimbaProcess.run(["config", "--preset", "tiny"])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        let config = Self.folder.appendingPathComponent("batch-2.yaml").path
        try printed.stdout.replacingOccurrences(of: "  batch: 6 ", with: "  batch: 2 ")
            .replacingOccurrences(of: "  epochs: 3 ", with: "  epochs: 2 ")
            .replacingOccurrences(of: "  arms: [biased, twin]", with: "  arms: [biased]")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let outputs = [2, 4].map { Self.folder.appendingPathComponent("batch-2-on-\($0)").path }
        for (ranks, output) in zip([2, 4], outputs) {
            let run = try SimbaProcess.run(["run", config, "-o", output], ranks: ranks, timeout: 600)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(run.stdout.contains("each training sample on 2 ranks (spatial)"), ranks == 4, run.stdout)
        }
        let difference = try python(TrainCLITests.relativeDifference, outputs.map { ($0 as NSString).appendingPathComponent("run-biased.h5") })
        XCTAssertLessThan(Double(difference.trimmingCharacters(in: .whitespacesAndNewlines))!, 1e-5)
    }

    func testEveryStageRecordsItsPeakMemoryPerRank() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        let script = """
            import h5py, json, sys
            summary = json.load(open(sys.argv[1]))
            def rows(path):
                with h5py.File(path, 'r') as f:
                    g = f['memory']
                    return {k: ([float(v) for v in g[k][()]], int(g[k].attrs['since_stage_start'])) for k in g}
            generation = rows(sys.argv[2])
            assert list(generation) == ['generation'], generation
            assert summary['generation_memory']['peak_mib_by_rank'] == generation['generation'][0]
            for arm in summary['arms']:
                stored = rows(arm['run_file'])
                for name, (peaks, since) in stored.items():
                    assert len(peaks) == 2 and since == 1, (arm['name'], name, peaks, since)
                    assert all(20 < p < 8192 for p in peaks), (arm['name'], name, peaks)
                recorded = {s['name']: s['peak_mib_by_rank'] for s in arm['memory']['stages']}
                assert recorded == {k: v[0] for k, v in stored.items()}, (recorded, stored)
                print(arm['name'], ','.join(s['name'] for s in arm['memory']['stages']))
            """
        let output = try python(script, [path("summary.json"), path("dataset.h5")])
        XCTAssertEqual(output.split(separator: "\n"), [
            "biased training,evaluation,evaluation_other_cohort,encoding,saliency",
            "twin training,evaluation,evaluation_other_cohort,encoding,encoding_biased_images,saliency",
            "group-models training,evaluation"])
        let report = try String(contentsOfFile: path("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("Peak resident memory per rank (GiB)"), "the report has no memory table")
    }

    /// The group-models arm scores each test image with its own bias
    /// group's model (read from the cross-group matrix by h5py, groups from
    /// the dataset), and those models started from the biased arm's best.
    func testGroupModelsScoreEachImageWithItsOwnGroupsModel() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        let output = try python("""
            import h5py, sys
            run, dataset = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
            cross = run['evaluation/cross_site']
            assert cross.attrs['partition'].startswith('bias_group'), cross.attrs['partition']
            names = [n.decode() for n in dataset['samples/bias_names'][()]]
            flags = dataset['samples/bias_' + names[0]][()]
            predictions = run['evaluation/predictions']
            for j, (index, score) in enumerate(zip(predictions['sample_index'][()], predictions['score'][()])):
                group = int(flags[index] != 0)
                assert cross['sample_index'][j] == index and cross['sample_site'][j] == group
                assert abs(cross['scores'][group, j] - score) < 1e-12, (j, score)
            print(cross['scores'].shape[0], len(predictions['score']), run.attrs['config'].count('initialize_from'))
            """, [path("run-group-models.h5"), path("dataset.h5")])
        XCTAssertEqual(output, "2 16 1\n")
        let report = try String(contentsOfFile: path("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("group-models: accuracy of each bias group&#39;s model"), "no cross-group matrix in the report")
        let tables = try String(contentsOfFile: path("tables.csv"), encoding: .utf8)
        XCTAssertTrue(tables.contains("group-models,cross_bias_group,morph → none,,,AUROC,"), "no cross-group matrix in tables.csv")
    }

    func testReportRendersInHeadlessChromiumWithTheNumbersOfTheRunFile() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        let dom = try renderedDOM(path("report.html"))
        XCTAssertTrue(dom.contains("Did the bias change the model?"), String(dom.prefix(500)))
        // Every arm's overall TPR with its interval, formatted from the run file by h5py.
        let expected = try python("""
            import h5py, sys
            for p in sys.argv[1:]:
                g = h5py.File(p, 'r')['evaluation/by_group']
                c = [m.decode() for m in g['metric'][()]].index('TPR')
                print('%.3f [%.3f, %.3f]' % (g['estimate'][0, c], g['lower'][0, c], g['upper'][0, c]))
            """, [path("run-biased.h5"), path("run-twin.h5")])
        for line in expected.split(separator: "\n") where !line.isEmpty {
            XCTAssertTrue(dom.contains(String(line)), "the rendered report does not show \(line)")
        }
        XCTAssertTrue(dom.contains("<svg"), "no charts")
        XCTAssertTrue(dom.contains("data:image/png;base64,"), "no example slices")
    }

    func testEvaluateGivesTheSameScoresOnOneAndThreeRanks() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        let copies = [1, 3].map { ranks -> String in
            let copy = Self.folder.appendingPathComponent("eval-\(ranks).h5").path
            try? FileManager.default.removeItem(atPath: copy)
            try? FileManager.default.copyItem(atPath: path("run-biased.h5"), toPath: copy)
            return copy
        }
        for (ranks, copy) in zip([1, 3], copies) {
            let result = try SimbaProcess.run(["evaluate", copy, "--bootstrap", "200"], ranks: ranks)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("on 16 test images"), result.stdout)
        }
        let same = try python("""
            import h5py, numpy as np, sys
            a, b = (h5py.File(p, 'r')['evaluation/predictions'] for p in sys.argv[1:])
            print(np.array_equal(a['score'][()], b['score'][()]), np.array_equal(a['sample_index'][()], b['sample_index'][()]))
            """, copies)
        XCTAssertEqual(same.trimmingCharacters(in: .whitespacesAndNewlines), "True True")
    }

    func testSaliencyIsTheSameOnOneAndTwoRanksAndExportsAsNIfTI() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        let copies = [1, 2].map { ranks -> String in
            let copy = Self.folder.appendingPathComponent("saliency-\(ranks).h5").path
            try? FileManager.default.removeItem(atPath: copy)
            try? FileManager.default.copyItem(atPath: path("run-biased.h5"), toPath: copy)
            return copy
        }
        for (ranks, copy) in zip([1, 2], copies) {
            let result = try SimbaProcess.run(["probe", copy, "--saliency", "2", "--nifti", copy + "-maps"], ranks: ranks)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("saliency: top regions"), result.stdout)
        }
        let check = try python("""
            import h5py, numpy as np, nibabel, sys, glob
            a, b = (h5py.File(p, 'r')['saliency'] for p in sys.argv[1:3])
            assert [c.decode() for c in a['cell'][()]] == ['morph TP', 'morph TN', 'none TP', 'none TN'], a['cell'][()]
            print(np.abs(a['mean_map'][()] - b['mean_map'][()]).max() < 1e-6, a['mean_map'].shape[1:] == h5py.File(sys.argv[3], 'r')['images'].shape[1:])
            maps = sorted(glob.glob(sys.argv[1] + '-maps/*.nii.gz'))
            image = nibabel.load(maps[0])
            print(len(maps), image.shape == a['mean_map'].shape[1:])
            """, copies + [path("dataset.h5")])
        XCTAssertEqual(check.split(separator: "\n"), ["True True", "4 True"])
    }

    func testResumeKeepsFinishedWorkAndAPlainRerunIsRefused() throws {
        XCTAssertEqual(Self.firstRun?.status, 0)
        let before = try FileManager.default.attributesOfItem(atPath: path("dataset.h5"))[.modificationDate] as? Date
        let refused = try SimbaProcess.run(Self.command, ranks: 2)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.stderrLines, ["simba: error: \(Self.experiment) holds an experiment already: use --resume to continue it or --overwrite to replace it"])
        let yaml = try String(contentsOfFile: path("experiment.yaml"), encoding: .utf8)
        let otherCohort = try SimbaProcess.run(Self.command + ["--resume", "--seed", "77"], ranks: 2)
        XCTAssertNotEqual(otherCohort.status, 0)
        XCTAssertEqual(otherCohort.stderrLines, ["simba: error: --resume: the cohort settings differ from those of the experiment in \(Self.experiment) (experiment.yaml), whose cohorts would be kept: resume with the same settings, or use --overwrite to start again"])
        XCTAssertEqual(try String(contentsOfFile: path("experiment.yaml"), encoding: .utf8), yaml)
        let trainingMemory = "import h5py, sys; print(list(h5py.File(sys.argv[1], 'r')['memory/training'][()]))"
        let memoryBefore = try python(trainingMemory, [path("run-biased.h5")])
        let resumed = try SimbaProcess.run(Self.command + ["--resume"], ranks: 2, timeout: 600)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("keeping"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("biased: trained 2 epochs"), resumed.stdout)
        // Finished analysis stages are kept, not computed again.
        XCTAssertTrue(resumed.stdout.contains("biased: keeping its evaluation, its encoding, its saliency maps"), resumed.stdout)
        XCTAssertFalse(resumed.stdout.contains("biased: encoding"), resumed.stdout)
        XCTAssertFalse(resumed.stdout.contains("biased: on the other cohort's test images"), resumed.stdout)
        let after = try FileManager.default.attributesOfItem(atPath: path("dataset.h5"))[.modificationDate] as? Date
        XCTAssertEqual(before, after, "the cohort was regenerated")
        // A kept run trained nothing: its training stage's memory stays the one measured.
        XCTAssertEqual(try python(trainingMemory, [path("run-biased.h5")]), memoryBefore)
    }

    func testStagesReportBadRunFilesInOneLine() throws {
        let missing = try SimbaProcess.run(["evaluate", "/nonexistent/run.h5"], ranks: 2)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderrLines, ["simba: error: run file /nonexistent/run.h5 does not exist (train one with 'simba train')"])
        let dataset = try SimbaProcess.run(["probe", path("dataset.h5")], ranks: 1)
        XCTAssertNotEqual(dataset.status, 0)
        XCTAssertEqual(dataset.stderrLines, ["simba: error: \(path("dataset.h5")) is not a simba run file (no format attribute 'simba-run')"])
        let bare = Self.folder.appendingPathComponent("bare.h5").path
        try? FileManager.default.copyItem(atPath: path("run-twin.h5"), toPath: bare)
        _ = try python("import h5py, sys\nf = h5py.File(sys.argv[1], 'a'); del f['evaluation']", [bare])
        let report = try SimbaProcess.run(["report", bare, "-o", Self.folder.appendingPathComponent("r/report.html").path])
        XCTAssertNotEqual(report.status, 0)
        XCTAssertEqual(report.stderrLines, ["simba: error: \(bare) has no evaluation yet: run 'simba evaluate \(bare)' first"])
    }
}
