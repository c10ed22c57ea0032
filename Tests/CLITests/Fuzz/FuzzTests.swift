import Foundation
import XCTest

/// Seeded mutations of valid inputs of four kinds (YAML configurations,
/// NIfTI headers and data, gzip streams, HDF5 datasets: shapes, types,
/// values and attributes). In process, each case must return or throw one
/// error of one line; on a sample of the mutated files the binary must exit
/// 0, or 1 with one `simba: error:` line, within a memory limit and a time
/// limit, leaving its inputs as they were. A trap ends the test process:
/// the case's input is then in $TMPDIR/simba-fuzz-case.* for replay.
///
/// `make test` runs 2,400 cases; `make fuzz` (SIMBA_FUZZ_CASES,
/// SIMBA_FUZZ_BINARY_CASES, SIMBA_FUZZ_SEED) runs as many as asked.
final class FuzzTests: XCTestCase {
    static let environment = ProcessInfo.processInfo.environment
    static let seed = UInt64(environment["SIMBA_FUZZ_SEED"] ?? "") ?? 17
    static let cases = Int(environment["SIMBA_FUZZ_CASES"] ?? "") ?? 2400
    static let binaryCases = Int(environment["SIMBA_FUZZ_BINARY_CASES"] ?? "") ?? 24
    /// Memory (KiB, `ulimit -v`) and seconds the binary gets per case.
    static let binaryMemoryKiB = 8 << 20
    static let binarySeconds = 120.0

    var folder: URL!

    override func setUpWithError() throws { folder = TinyDataset.scratch("fuzz") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The input of case `index`, as a file in `folder`: its path.
    func mutatedFile(_ index: Int, _ kind: FuzzKind, seeds: FuzzSeeds, stream: UInt64) throws -> String {
        var mutator = FuzzMutator(seed: Self.seed, stream: stream)
        let path = folder.appendingPathComponent("case-\(index).\(kind.rawValue)").path
        if kind == .hdf5 {
            var recipe = DatasetRecipe.valid()
            recipe.mutate(with: &mutator)
            try recipe.write(to: path)
        } else {
            try Data(seeds.mutated(kind, &mutator)).write(to: URL(fileURLWithPath: path))
        }
        // Kept outside the scratch folder, which a trap would leave unexplained.
        let replay = FileManager.default.temporaryDirectory.appendingPathComponent("simba-fuzz-case.\(kind.rawValue)")
        try? FileManager.default.removeItem(at: replay)
        try? FileManager.default.copyItem(at: URL(fileURLWithPath: path), to: replay)
        return path
    }

    func testMutatedInputsEndInAResultOrOneLineError() throws {
        let seeds = try FuzzSeeds(folder: folder)
        var accepted: [FuzzKind: Int] = [:], refused: [FuzzKind: Int] = [:]
        let started = Date()
        for index in 0..<Self.cases {
            let kind = FuzzKind.allCases[index % FuzzKind.allCases.count]
            let path = try mutatedFile(index, kind, seeds: seeds, stream: UInt64(index))
            let before = FileSnapshot(path)
            do {
                switch kind {
                case .yaml: try FuzzCase.yaml(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                case .nifti: try FuzzCase.nifti(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                case .gzip: try FuzzCase.gzip(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                case .hdf5: try FuzzCase.hdf5(path)
                }
                accepted[kind, default: 0] += 1
            } catch {
                refused[kind, default: 0] += 1
                let message = "\(error)"
                XCTAssertFalse(message.isEmpty || message.contains("\n"), "case \(index) (\(kind)): '\(message)'")
            }
            XCTAssertEqual(FileSnapshot(path), before, "case \(index) (\(kind)) changed its input")
            try FileManager.default.removeItem(atPath: path)
        }
        let tally = FuzzKind.allCases.map { "\($0.rawValue) \(accepted[$0] ?? 0) read, \(refused[$0] ?? 0) refused" }
        print("fuzz: \(Self.cases) cases (seed \(Self.seed)) in \(String(format: "%.0f", Date().timeIntervalSince(started))) s: "
            + tally.joined(separator: "; "))
        XCTAssertEqual(FuzzKind.allCases.map { (accepted[$0] ?? 0) + (refused[$0] ?? 0) }.reduce(0, +), Self.cases)
    }

    func testTheBinaryOnMutatedFilesExitsCleanlyWithinItsBounds() throws {
        let seeds = try FuzzSeeds(folder: folder)
        let names = folder.appendingPathComponent("names.txt").path
        try "1 one\n2 two\n".write(toFile: names, atomically: true, encoding: .utf8)
        for index in 0..<Self.binaryCases {
            let kind = FuzzKind.allCases[index % FuzzKind.allCases.count]
            let path = try mutatedFile(index, kind, seeds: seeds, stream: 1 << 32 + UInt64(index))
            let arguments: [String]
            switch kind {
            case .yaml: arguments = ["config", path]
            case .hdf5: arguments = ["inspect", path]
            case .nifti, .gzip:
                let config = folder.appendingPathComponent("template-\(index).yaml").path
                try "template: {voxel_mm: 4, image: \(path), labels: \(path), names: \(names)}\n"
                    .write(toFile: config, atomically: true, encoding: .utf8)
                arguments = ["regions", config]
            }
            let before = FileSnapshot(folder.path), input = FileSnapshot(path)
            let result = try SimbaProcess.launch(
                URL(fileURLWithPath: "/bin/sh"),
                ["-c", "ulimit -v \(Self.binaryMemoryKiB); exec \"$0\" \"$@\"", SimbaProcess.binary] + arguments,
                environment: SimbaProcess.childEnvironment(["OMPI_MCA_ess_singleton_isolated": "1"]),
                timeout: Self.binarySeconds)
            let context = "case \(index) (\(kind)): simba \(arguments.joined(separator: " "))"
            if result.status != 0 {
                XCTAssertEqual(result.status, 1, "\(context): \(result.stderr)")
                XCTAssertEqual(result.stderrLines.count, 1, "\(context): \(result.stderr)")
                XCTAssertTrue(result.stderr.hasPrefix("simba: error: "), "\(context): \(result.stderr)")
            }
            XCTAssertEqual(FileSnapshot(folder.path), before, "\(context) left or removed files")
            XCTAssertEqual(FileSnapshot(path), input, "\(context) changed its input")
        }
    }
}
