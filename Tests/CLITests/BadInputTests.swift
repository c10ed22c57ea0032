import Foundation
import XCTest

/// A corpus of bad inputs, each given to the real binary as a user would:
/// damaged or foreign HDF5 and NIfTI files, datasets of the wrong type,
/// shape or content, configurations with wrong types, unknown keys or
/// impossible values, run files resumed the wrong way, a missing template
/// package and bad flags. Each must end in a non-zero exit with exactly one
/// line, `simba: error: …`, naming the problem, and leave the output path
/// exactly as it was (an existing file keeps its bytes and time, even with
/// --overwrite; no new or half-written file appears).
final class BadInputTests: XCTestCase {
    static let folder = TinyDataset.scratch("bad-input")
    static let template = "/usr/share/mricron/templates"

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    /// A file that must survive: "keep me" bytes at `name`.
    func existing(_ name: String) throws -> String {
        let file = path(name)
        try Data("keep me: \(name)".utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func write(_ text: String, _ name: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// A copy of the tiny cohort changed by a Python/h5py script (`f` is the
    /// copy opened read-write; what it prints is returned).
    func editedDataset(_ name: String, _ edit: String) throws -> (path: String, printed: String) {
        let copy = path(name)
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: TinyDataset.path, toPath: copy)
        let result = try SimbaProcess.python("import h5py, numpy as np, sys\nf = h5py.File(sys.argv[1], 'r+')\n" + edit, [copy])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (copy, result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The first `bytes` bytes of `source`, as a new file.
    func truncated(_ source: String, to bytes: Int, _ name: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        try data.prefix(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    func garbage(_ name: String, bytes: Int = 4096) throws -> String {
        var generator = SystemRandomNumberGenerator()
        try Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// A run trained for one epoch on 2 ranks, which the resume cases must leave alone.
    static let trainedRun: String = {
        let run = folder.appendingPathComponent("trained.h5").path
        let result = try? SimbaProcess.run(["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", run,
                                            "--epochs", "1"], ranks: 2, timeout: 300)
        XCTAssertEqual(result?.status, 0, result?.stderr ?? "train did not run")
        return run
    }()

    /// Runs `simba arguments` and checks the refusal: exit `code`, one
    /// stderr line `simba: error: …` containing every `mention`, and
    /// `output` (with its twin, partial file and heartbeat folder) as before.
    @discardableResult
    func assertRefused(_ arguments: [String], ranks: Int? = nil, code: Int32 = 1, environment: [String: String] = [:],
                       output: String?, mentions: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws -> SimbaProcess.Result {
        let watched = output.map { [$0, $0 + ".partial", $0 + ".heartbeats", ($0 as NSString).deletingPathExtension + "-nobias.h5"] } ?? []
        let before = watched.map(FileSnapshot.init)
        let result = try SimbaProcess.run(arguments, ranks: ranks, timeout: 120, environment: environment)
        let context = "simba \(arguments.joined(separator: " ")) on \(ranks.map(String.init) ?? "no mpirun") ranks"
        XCTAssertEqual(result.status, code, "\(context): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderrLines.count, 1, "\(context): \(result.stderr)", file: file, line: line)
        let message = result.stderrLines.first ?? ""
        XCTAssertTrue(message.hasPrefix("simba: error: "), "\(context): \(message)", file: file, line: line)
        for mention in mentions {
            XCTAssertTrue(message.contains(mention), "\(context): '\(message)' lacks '\(mention)'", file: file, line: line)
        }
        XCTAssertEqual(watched.map(FileSnapshot.init), before, "\(context) changed its output", file: file, line: line)
        return result
    }

    /// `simba train` on a bad dataset, asked to overwrite an existing run file.
    func assertTrainingRefuses(dataset: String, ranks: Int? = nil, mentions: [String],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRefused(["train", "--preset", "tiny", "--data", dataset, "-o", try existing("run.h5"), "--overwrite",
                           "--epochs", "1"], ranks: ranks, output: path("run.h5"), mentions: mentions, file: file, line: line)
    }

    /// `simba generate` (with its twin) from a bad configuration, asked to overwrite an existing cohort.
    func assertGenerationRefuses(config yaml: String, ranks: Int? = nil, environment: [String: String] = [:],
                                 mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let config = try write(yaml, "cohort.yaml")
        let output = try existing("cohort.h5")
        _ = try existing("cohort-nobias.h5")
        try assertRefused(["generate", config, "-o", output, "--overwrite", "--twin"], ranks: ranks,
                          environment: environment, output: output, mentions: mentions, file: file, line: line)
    }

    /// A small cohort on a template given by its three files.
    func templateConfig(image: String = "\(template)/ch2bet.nii.gz", labels: String = "\(template)/aal.nii.gz",
                        names: String = "\(template)/aal.nii.txt") -> String {
        "template:\n  voxel_mm: 4\n  image: \(image)\n  labels: \(labels)\n  names: \(names)\ncohort: {size: 16}\n"
    }

    /// `simba train` with a bad training configuration.
    func assertTrainingRefuses(config yaml: String, ranks: Int? = nil, mentions: [String],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let config = try write(yaml, "training.yaml")
        try assertRefused(["train", config, "--data", TinyDataset.path, "-o", try existing("run.h5"), "--overwrite"],
                          ranks: ranks, output: path("run.h5"), mentions: mentions, file: file, line: line)
    }

    /// `simba train --resume` of the trained run in a way it must refuse.
    func assertResumeRefuses(_ extra: [String], run: String = trainedRun, ranks: Int = 2, mentions: [String],
                             file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRefused(["train", "--data", TinyDataset.path, "-o", run, "--resume"] + extra, ranks: ranks,
                          output: run, mentions: mentions, file: file, line: line)
    }

    // MARK: damaged, foreign and wrongly shaped datasets

    func testTruncatedDatasetFileIsRefusedOnEveryRank() throws {
        let file = try truncated(TinyDataset.path, to: 20_000, "truncated.h5")
        try assertTrainingRefuses(dataset: file, ranks: 2, mentions: ["truncated.h5", "truncated"])
    }

    func testGarbageBytesNamedH5AreRefused() throws {
        try assertTrainingRefuses(dataset: try garbage("garbage.h5"), mentions: ["garbage.h5", "not an HDF5 file"])
    }

    func testHDF5FileThatIsNotASimbaDatasetIsRefused() throws {
        let foreign = path("foreign.h5")
        let made = try SimbaProcess.python("import h5py, sys\nh5py.File(sys.argv[1], 'w').create_dataset('x', data=[1, 2, 3])", [foreign])
        XCTAssertEqual(made.status, 0, made.stderr)
        try assertTrainingRefuses(dataset: foreign, mentions: ["foreign.h5 is not a simba dataset"])
    }

    func testImagesOfTheWrongTypeAreRefusedBeforeTraining() throws {
        let (file, _) = try editedDataset("int-images.h5", """
            shape = f['images'].shape
            del f['images']
            f.create_dataset('images', data=np.zeros(shape, dtype='int16'))
            """)
        try assertTrainingRefuses(dataset: file, ranks: 2, mentions: ["/images holds int16 values, expected float32"])
    }

    func testImagesOfTheWrongShapeAreRefused() throws {
        let (file, _) = try editedDataset("flat-images.h5", """
            n, x, y, z = f['images'].shape
            del f['images']
            f.create_dataset('images', data=np.zeros((n, x * y * z), dtype='float32'))
            """)
        try assertTrainingRefuses(dataset: file, mentions: ["/images has shape [64, 92106], expected [64, X, Y, Z]"])
    }

    func testDatasetMissingASampleColumnIsRefused() throws {
        let (file, _) = try editedDataset("no-labels.h5", "del f['samples/label']")
        try assertTrainingRefuses(dataset: file, mentions: ["no-labels.h5", "'/samples/label'"])
    }

    func testUnfinishedDatasetIsRefused() throws {
        let (file, _) = try editedDataset("unfinished.h5", "f.attrs['complete'] = 0")
        try assertTrainingRefuses(dataset: file, mentions: ["unfinished.h5 is incomplete"])
    }

    func testDatasetOfANewerFormatIsRefused() throws {
        let (file, _) = try editedDataset("newer.h5", "f.attrs['format_version'] = 99")
        try assertTrainingRefuses(dataset: file, mentions: ["dataset format version 99"])
    }

    func testMissingDatasetIsRefused() throws {
        try assertTrainingRefuses(dataset: path("nowhere.h5"), ranks: 2, mentions: ["nowhere.h5 does not exist"])
    }

    /// One NaN voxel in one training image: the rank that loads it refuses,
    /// every rank stops with one line naming the image and voxel, and the
    /// run file holds no checkpoint, only the reason it stopped.
    func testNaNInATrainingImageStopsTrainingNamingTheImage() throws {
        let (file, index) = try editedDataset("nan.h5", """
            i = int(np.where(f['samples/split'][()] == 0)[0][0])
            f['images'][i, 2, 3, 4] = np.nan
            print(i)
            """)
        let run = path("nan-run.h5")
        try assertRefused(["train", "--preset", "tiny", "--data", file, "-o", run, "--epochs", "1"], ranks: 2,
                          output: nil, mentions: ["nan.h5: image \(index) holds nan at voxel [2, 3, 4]"])
        XCTAssertNil(try RunFileProbe.latest(run))
        let reason = try SimbaProcess.python("import h5py, sys\nprint(h5py.File(sys.argv[1], 'r').attrs['stop_reason'])", [run])
        XCTAssertTrue(reason.stdout.contains("image \(index) holds nan"), reason.stdout + reason.stderr)
    }

    func testInspectAndExportRefuseDamagedFiles() throws {
        let file = try truncated(TinyDataset.path, to: 20_000, "truncated-inspect.h5")
        try assertRefused(["inspect", file], output: nil, mentions: ["truncated-inspect.h5", "truncated"])
        let exported = path("exported")
        try assertRefused(["export", try garbage("garbage-export.h5"), "--samples", "0", "-o", exported],
                          output: exported, mentions: ["garbage-export.h5", "not an HDF5 file"])
    }

    // MARK: template NIfTI files

    func testTruncatedNIfTITemplateIsRefused() throws {
        let image = try truncated(try uncompressedTemplate(), to: 3000, "truncated.nii")
        try assertGenerationRefuses(config: templateConfig(image: image), mentions: ["truncated.nii: truncated data"])
    }

    func testTruncatedGzippedNIfTITemplateIsRefused() throws {
        let image = try truncated("\(Self.template)/ch2bet.nii.gz", to: 100_000, "truncated.nii.gz")
        try assertGenerationRefuses(config: templateConfig(image: image), mentions: ["truncated.nii.gz", "gzip"])
    }

    func testGarbageNIfTITemplateIsRefused() throws {
        let image = try garbage("garbage.nii")
        try assertGenerationRefuses(config: templateConfig(image: image), mentions: ["garbage.nii: not a NIfTI-1 file"])
    }

    func testNIfTIWithTheWrongMagicIsRefused() throws {
        var header = try Data(contentsOf: URL(fileURLWithPath: try uncompressedTemplate()))
        header.replaceSubrange(344..<348, with: Array("xx1\0".utf8))
        try header.write(to: URL(fileURLWithPath: path("magic.nii")))
        try assertGenerationRefuses(config: templateConfig(image: path("magic.nii")),
                                    mentions: ["magic.nii: not a NIfTI-1 file (bad magic"])
    }

    func testGarbageLabelMapIsRefused() throws {
        let labels = try garbage("labels.nii")
        try assertGenerationRefuses(config: templateConfig(labels: labels), mentions: ["labels.nii: not a NIfTI-1 file"])
    }

    func testGarbageLabelNamesAreRefused() throws {
        let names = try garbage("names.txt")
        try assertGenerationRefuses(config: templateConfig(names: names), mentions: ["names.txt: cannot read label names"])
    }

    func testMissingTemplateFileIsRefused() throws {
        try assertGenerationRefuses(config: templateConfig(image: path("absent.nii")), mentions: ["absent.nii", "doesn’t exist"])
    }

    func testMissingTemplatePackageIsRefused() throws {
        let empty = path("empty-template-dir")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try assertGenerationRefuses(config: "cohort: {size: 16}\ntemplate: {voxel_mm: 4}\n", ranks: 2,
                                    environment: ["SIMBA_TEMPLATE_DIR": empty],
                                    mentions: ["\(empty)/ch2bet.nii.gz", "install Debian's mricron-data"])
        try assertRefused(["regions", "--voxel-mm", "4"], environment: ["SIMBA_TEMPLATE_DIR": empty], output: nil,
                          mentions: ["the default template (Colin27 + AAL) is not installed"])
    }

    /// The Colin27 image unpacked (cached), to damage byte by byte.
    func uncompressedTemplate() throws -> String {
        let file = path("ch2bet.nii")
        if !FileManager.default.fileExists(atPath: file) {
            let result = try SimbaProcess.python("import gzip, shutil, sys\nshutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], 'wb'))",
                                                 ["\(Self.template)/ch2bet.nii.gz", file])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        return file
    }

    // MARK: configurations

    func testConfigWithAWordWhereANumberBelongsIsRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: many}\n", mentions: ["cohort.size: must be a whole number, got 'many'"])
    }

    func testConfigWithAListWhereASectionBelongsIsRefused() throws {
        try assertGenerationRefuses(config: "cohort: [1, 2]\n", mentions: ["cohort: must be a mapping"])
    }

    func testUnknownKeyGetsADidYouMean() throws {
        try assertGenerationRefuses(config: "cohort: {size: 16, sise: 3}\n", ranks: 2,
                                    mentions: ["cohort: unknown key 'sise' (did you mean 'size'?)"])
    }

    func testUnknownSectionGetsADidYouMean() throws {
        try assertGenerationRefuses(config: "templat: {voxel_mm: 4}\n", mentions: ["unknown key 'templat' (did you mean 'template'?)"])
    }

    func testNegativeCohortSizeIsRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: -4}\n", mentions: ["cohort.size: must be at least 1, got -4"])
    }

    func testSplitFractionAboveOneIsRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: 16, splits: {train: 1.5, validation: 0.25, test: 0.25}}\n",
                                    mentions: ["cohort.splits.train: must be between 0 and 1, got 1.5"])
    }

    func testSplitsThatDoNotSumToOneAreRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: 16, splits: {train: 0.5, validation: 0.1, test: 0.1}}\n",
                                    mentions: ["cohort.splits: train, validation and test must sum to 1"])
    }

    func testBiasPrevalenceOutOfRangeIsRefused() throws {
        try assertGenerationRefuses(config: """
            biases:
              - name: b
                type: morphological
                region: Putamen_R
                prevalence: {disease: 1.7, healthy: 0.3}
            """, mentions: ["biases[0].prevalence.disease: must be between 0 and 1, got 1.7"])
    }

    func testDiseasePrevalenceBelowZeroIsRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: 16, disease_prevalence: -0.1}\n",
                                    mentions: ["cohort.disease_prevalence: must be between 0 and 1, got -0.1"])
    }

    func testVoxelSizeOutOfRangeIsRefused() throws {
        try assertGenerationRefuses(config: "template: {voxel_mm: 9}\n", mentions: ["template.voxel_mm: must be between 1 and 4 mm"])
    }

    func testZeroSitesAreRefused() throws {
        try assertGenerationRefuses(config: "sites: {count: 0}\n", mentions: ["sites.count: must be 1 to 10000"])
    }

    func testConfigThatIsNotYAMLIsRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: 16\n  bad yaml: [\n", mentions: ["cohort.yaml: not valid YAML"])
    }

    func testConfigThatIsNotTextIsRefused() throws {
        try Data([0xFF, 0xFE, 0x00, 0x41, 0x80]).write(to: URL(fileURLWithPath: path("binary.yaml")))
        try assertRefused(["generate", path("binary.yaml"), "-o", try existing("binary.h5"), "--overwrite"],
                          output: path("binary.h5"), mentions: ["binary.yaml: the configuration file is not UTF-8 text"])
    }

    func testTrainingEpochsAsAWordAreRefused() throws {
        try assertTrainingRefuses(config: "training:\n  epochs: ten\n", mentions: ["training.epochs: must be a whole number, got 'ten'"])
    }

    func testTrainingKeyTypoGetsADidYouMean() throws {
        try assertTrainingRefuses(config: "training:\n  learning_rat: 0.001\n",
                                  mentions: ["training: unknown key 'learning_rat' (did you mean 'learning_rate'?)"])
    }

    func testDropoutOfOneOrMoreIsRefused() throws {
        try assertTrainingRefuses(config: "training:\n  dropout: 1.5\n", mentions: ["training.dropout: must be in [0, 1), got 1.5"])
    }

    func testNegativeLearningRateIsRefused() throws {
        try assertTrainingRefuses(config: "training:\n  learning_rate: -1\n", mentions: ["training.learning_rate: must be positive"])
    }

    func testNegativeWidthIsRefused() throws {
        try assertTrainingRefuses(config: "training:\n  widths: [4, -8]\n", mentions: ["training.widths: must be whole positive filter counts"])
    }

    func testUnknownStrategyIsRefused() throws {
        try assertTrainingRefuses(config: "training:\n  strategy: fedrated\n",
                                  mentions: ["training.strategy: must be one of central, federated, travelling, local, fedtm, got 'fedrated'"])
    }

    // MARK: run files and resuming

    func testResumeOnAnotherRankCountIsRefusedInOneLine() throws {
        try assertResumeRefuses(["--preset", "tiny", "--epochs", "2"], ranks: 3,
                                mentions: ["trained.h5 was trained on 2 ranks; resume it with 2 ranks"])
    }

    func testResumeWithAnotherConfigurationIsRefused() throws {
        let config = try write("training:\n  widths: [4, 8]\n  batch: 6\n  dropout: 0.3\n", "changed.yaml")
        try assertResumeRefuses([config], mentions: ["trained.h5 was trained with another training configuration"])
    }

    func testResumeOnAnotherDatasetIsRefused() throws {
        let copy = path("copy-of-tiny.h5")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: TinyDataset.path, toPath: copy)
        try assertRefused(["train", "--preset", "tiny", "--data", copy, "-o", Self.trainedRun, "--resume"], ranks: 2,
                          output: Self.trainedRun, mentions: ["was trained on \(TinyDataset.path), not \(copy)"])
    }

    func testResumingGarbageIsRefused() throws {
        let run = try garbage("garbage-run.h5")
        try assertResumeRefuses(["--preset", "tiny"], run: run, mentions: ["garbage-run.h5", "not an HDF5 file"])
    }

    func testResumingATruncatedRunFileIsRefused() throws {
        let run = try truncated(Self.trainedRun, to: 4096, "truncated-run.h5")
        try assertResumeRefuses(["--preset", "tiny"], run: run, mentions: ["truncated-run.h5", "truncated"])
    }

    func testResumingADatasetInsteadOfARunIsRefused() throws {
        let (notARun, _) = try editedDataset("dataset-as-run.h5", "pass")
        try assertResumeRefuses(["--preset", "tiny"], run: notARun, mentions: ["dataset-as-run.h5 is not a simba run file"])
    }

    func testExistingRunFileIsNotReplacedWithoutOverwrite() throws {
        try assertRefused(["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", Self.trainedRun], ranks: 2,
                          output: Self.trainedRun, mentions: ["use --resume to continue it or --overwrite to replace it"])
    }

    func testOutputInAMissingFolderIsRefused() throws {
        let output = path("no/such/folder/run.h5")
        try assertRefused(["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", output], ranks: 2,
                          output: output, mentions: ["the folder \(path("no/such/folder")) does not exist"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("no")), "simba created the missing folder")
    }

    func testOutputThatIsAFolderIsRefused() throws {
        try assertRefused(["generate", "--preset", "tiny", "-o", Self.folder.path, "--overwrite"], output: nil,
                          mentions: ["\(Self.folder.path) is a folder"])
    }

    // MARK: command-line values (refused before MPI starts: exit 64)

    func testBadFlagValuesAreUsageErrorsSaidOnce() throws {
        let run = try existing("flags.h5")
        let cases: [(arguments: [String], mention: String)] = [
            (["--epochs", "0"], "--epochs must be at least 1, got 0"),
            (["--stall-timeout=-1"], "--stall-timeout must be 0 (off) or a number of seconds"),
            (["--strategy", "fedrated"], "--strategy must be one of central, federated, travelling"),
            (["--resume", "--overwrite"], "give --resume or --overwrite, not both"),
            (["--lr", "nan"], "--lr must be positive"),
            (["--batch", "two"], "The value 'two' is invalid for '--batch"),
        ]
        // Under mpirun every rank parses the flags; rank 0 alone speaks.
        for (index, (arguments, mention)) in cases.enumerated() {
            try assertRefused(["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", run] + arguments,
                              ranks: index == 0 ? 2 : nil, code: 64, output: run, mentions: [mention])
        }
        try assertRefused(["generate", "--preset", "tiny", "-o", run, "--compression", "12"], code: 64, output: run,
                          mentions: ["--compression must be 1 to 9, got 12"])
    }
}
