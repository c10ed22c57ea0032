import Foundation
import Network
import Storage
import Synthesis
import Training
import XCTest

/// Precise batch norm for the site strategies, run under mpirun as a user
/// runs it and checked against a naive reference computed here in one
/// process: the checkpoint's weights, calibrate-mode forwards over the
/// pooled training images (each batch from one site, as the sites cut
/// them), one sum. Only the sums cross sites in the run; the reference sees
/// every image at once.
final class SiteCalibrationCLITests: XCTestCase {
    static let folder = TinyDataset.scratch("sitecal")
    /// The shared tiny cohort (only read here).
    static var dataset: String { TinyDataset.path }
    static let sites = 3

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    /// Trains the tiny preset's network with `training` (YAML lines) on
    /// `ranks` ranks; `extra` adds command-line flags.
    func train(_ output: String, ranks: Int, _ training: String, _ extra: [String] = []) throws {
        let config = output + ".yaml"
        try ("training:\n  widths: [4, 8]\n  batch: 6\n  patience: 3\n  sites: \(Self.sites)\n  batchnorm_calibration: true\n"
             + training).write(toFile: config, atomically: true, encoding: .utf8)
        let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output] + extra,
                                          ranks: ranks, timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// Each simulated site's training images (sites dealt round-robin by
    /// sample index), scaled as training scales them, in index order.
    func trainingImages(site: Int) throws -> (images: [Float], count: Int) {
        let reader = try DatasetReader(path: Self.dataset)
        let indices = reader.samples.filter { $0.split == .train && $0.index % Self.sites == site }.map(\.index).sorted()
        return (try ImageLoader(reader: reader).load(indices), indices.count)
    }

    /// The naive reference: `parameters` (with `batchNorm` written over the
    /// batch-norm slices when given) calibrated over the training images of
    /// `sites`, pooled in this one process, in batches of `batch` cut from
    /// each site's images in index order; returns the parameters.
    func pooledCalibration(_ stored: StoredModel, parameters: [Float], batchNorm: [Float]? = nil,
                           sites: [Int]) throws -> [Float] {
        let batch = stored.config.batch
        let model = try SimbaCNN(configuration: stored.config.model(input: stored.input), maxBatch: batch, seed: 1)
        try model.load(parameters: parameters)
        if let batchNorm { overwriteBatchNorm(model, batchNorm) }
        let voxels = stored.input.voxels
        model.beginBatchNormCalibration()
        for site in sites {
            let (images, count) = try trainingImages(site: site)
            guard count > 0 else { continue }  // a site without training images sits out
            for start in stride(from: 0, to: count, by: batch) {
                let n = min(batch, count - start)
                model.forward(Array(images[(start * voxels)..<((start + n) * voxels)]), batch: n, mode: .calibrate)
            }
        }
        model.finishBatchNormCalibration(sums: model.batchNormCalibrationSums)
        return model.parameters.array
    }

    func overwriteBatchNorm(_ model: SimbaCNN, _ values: [Float]) {
        var offset = 0
        for range in model.layout.batchNormRanges {
            for i in range { model.parameters[i] = values[offset + i - range.lowerBound] }
            offset += range.count
        }
    }

    /// Moving means and variances of `a` and `b` (full parameter vectors of
    /// `layout`) agree within float tolerance; everything else is identical.
    func assertCalibratedAlike(_ a: [Float], _ b: [Float], layout: ParameterLayout, _ message: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        for slice in layout.slices {
            let moving = slice.name.contains("moving")
            for i in slice.range {
                if moving {
                    XCTAssertEqual(a[i], b[i], accuracy: 1e-5 * max(1, abs(b[i])), "\(message): \(slice.name)",
                                   file: file, line: line)
                } else if a[i] != b[i] {
                    XCTFail("\(message): \(slice.name) differs (\(a[i]) vs \(b[i])): calibration must change only the moving statistics",
                            file: file, line: line)
                    return
                }
            }
        }
    }

    func layout(of stored: StoredModel) throws -> ParameterLayout {
        try SimbaCNN(configuration: stored.config.model(input: stored.input), maxBatch: 1, seed: 1).layout
    }

    /// FedAvg's global model and the travelling model, on 1, 2 and 3 ranks
    /// (3 sites: one rank hosting all three, 2 + 1, one each): the moving
    /// statistics in the checkpoint are the calibration over the pooled
    /// training images of every site; the sites' own EMA statistics (a run
    /// without calibration) are not.
    func testCrossSiteCalibrationEqualsThePooledReferenceOnOneTwoAndThreeRanks() throws {
        for strategy in ["federated", "travelling"] {
            for ranks in 1...3 {
                let output = path("\(strategy)-\(ranks).h5")
                try train(output, ranks: ranks, "  strategy: \(strategy)\n", ["--epochs", "1"])
                let stored = try StoredModel.read(path: output, link: "latest")
                let reference = try pooledCalibration(stored, parameters: stored.parameters, sites: Array(0..<Self.sites))
                assertCalibratedAlike(stored.parameters, reference, layout: try layout(of: stored), "\(strategy), \(ranks) ranks")
            }
        }
        // Without calibration the statistics are FedAvg's mean of the sites' moving averages: far from these.
        let plain = path("federated-plain.h5")
        let result = try SimbaProcess.run(["train", "--preset", "tiny", "--data", Self.dataset, "-o", plain, "--epochs", "1",
                                           "--strategy", "federated", "--sites", "3", "--batch", "6"], ranks: 2, timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
        let stored = try StoredModel.read(path: plain, link: "latest")
        let reference = try pooledCalibration(stored, parameters: stored.parameters, sites: Array(0..<Self.sites))
        let mean = try layout(of: stored)["block2.bn.moving_variance"].range
        XCTAssertGreaterThan(mean.map { abs(stored.parameters[$0] - reference[$0]) }.max() ?? 0, 1e-3)
    }

    /// FedBN on 2 and 3 ranks: each site's own batch norm (its checkpoint
    /// row) carries the statistics of the global weights with the site's own
    /// γ and β over that site's training images alone; the global model's
    /// are over every site's.
    func testFedBNCalibratesEachSiteOnItsOwnImages() throws {
        for ranks in 2...3 {
            let output = path("fedbn-\(ranks).h5")
            try train(output, ranks: ranks, "  strategy: federated\n  fedbn: true\n", ["--epochs", "2"])
            let stored = try StoredModel.read(path: output, link: "latest")
            let layout = try layout(of: stored)
            let global = try pooledCalibration(stored, parameters: stored.parameters, sites: Array(0..<Self.sites))
            assertCalibratedAlike(stored.parameters, global, layout: layout, "FedBN global model, \(ranks) ranks")

            let file = try H5File.open(output)
            defer { try? file.close() }
            let table: [Float] = try file.root.group("checkpoints/latest").dataset("site_batch_norm").read()
            let width = layout.batchNormRanges.reduce(0) { $0 + $1.count }
            XCTAssertEqual(table.count, Self.sites * width)
            var rows: [[Float]] = []
            for site in 0..<Self.sites {
                let row = Array(table[(site * width)..<((site + 1) * width)])
                rows.append(row)
                let own = try pooledCalibration(stored, parameters: stored.parameters, batchNorm: row, sites: [site])
                let model = try SimbaCNN(configuration: stored.config.model(input: stored.input), maxBatch: 1, seed: 1)
                try model.load(parameters: stored.parameters)
                overwriteBatchNorm(model, row)
                assertCalibratedAlike(model.parameters.array, own, layout: layout, "FedBN site \(site), \(ranks) ranks")
                // Not the statistics the pooled images would give these weights.
                let pooled = try pooledCalibration(stored, parameters: stored.parameters, batchNorm: row,
                                                   sites: Array(0..<Self.sites))
                let variance = layout["block1.bn.moving_variance"].range
                XCTAssertGreaterThan(variance.map { abs(own[$0] - pooled[$0]) }.max() ?? 0, 1e-6, "site \(site)")
            }
            XCTAssertNotEqual(rows[0], rows[1])
        }
    }

    /// Runs with calibration stopped after one round and resumed end bitwise
    /// where uninterrupted runs end: FedAvg, FedProx, FedBN (its site rows
    /// too) and the travelling model.
    func testSiteStrategiesWithCalibrationResumeBitwise() throws {
        let strategies = [("fedavg", "  strategy: federated\n"), ("fedprox", "  strategy: federated\n  proximal_mu: 0.01\n"),
                          ("fedbn", "  strategy: federated\n  fedbn: true\n"), ("travelling", "  strategy: travelling\n")]
        for (name, training) in strategies {
            let full = path("\(name)-full.h5"), resumed = path("\(name)-resumed.h5")
            try train(full, ranks: 2, training, ["--epochs", "3"])
            try train(resumed, ranks: 2, training, ["--epochs", "1"])
            try train(resumed, ranks: 2, training, ["--epochs", "3", "--resume"])
            let script = """
                import h5py, numpy as np, sys
                a, b = (h5py.File(p, 'r') for p in sys.argv[1:])
                same = all(np.array_equal(a['checkpoints/' + link + '/' + key][()], b['checkpoints/' + link + '/' + key][()])
                           for link in ['latest', 'best'] for key in a['checkpoints/latest']
                           if isinstance(a['checkpoints/latest/' + key], h5py.Dataset))
                print(same, np.array_equal(a['metrics/validation_loss'][()], b['metrics/validation_loss'][()]),
                      len(a['metrics/validation_loss']))
                """
            let result = try SimbaProcess.python(script, [full, resumed])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout, "True True 3\n", name)
        }
    }
}
