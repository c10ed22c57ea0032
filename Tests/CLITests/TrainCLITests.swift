import Foundation
import XCTest

/// `simba train` under mpirun as a user runs it, with run files checked from
/// outside by h5py.
final class TrainCLITests: XCTestCase {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-train-\(UUID().uuidString)")
    static var dataset: String { folder.appendingPathComponent("tiny.h5").path }

    override class func setUp() {
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let result = try? SimbaProcess.run(["generate", "--preset", "tiny", "-o", dataset], ranks: 2, timeout: 300)
        XCTAssertEqual(result?.status, 0, result?.stderr ?? "generate did not run")
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    @discardableResult
    func train(_ output: String, ranks: Int, _ extra: [String] = [], expectSuccess: Bool = true) throws -> SimbaProcess.Result {
        let result = try SimbaProcess.run(["train", "--preset", "tiny", "--data", Self.dataset, "-o", output] + extra,
                                          ranks: ranks, timeout: 300)
        if expectSuccess { XCTAssertEqual(result.status, 0, result.stderr) }
        return result
    }

    /// Largest difference between the final parameters of two runs relative
    /// to the largest parameter, leaving out the convolution biases: under
    /// train-mode batch norm their gradient is exactly zero in exact
    /// arithmetic (the normalisation removes any constant), so what they
    /// receive is rounding noise, which Adam scales up to steps of size lr.
    /// They have almost no effect on the output (eval mode subtracts the
    /// moving mean, which tracks them). With precise batch norm
    /// (`batchnorm_calibration`) the moving means are batch means under the
    /// current biases and carry their noise one for one: they are compared
    /// less the bias, as eval mode uses them. Every model a run file's
    /// latest checkpoint holds is compared: the global model, local
    /// training's site models and FedBN's site batch norm, whichever are there.
    static let relativeDifference = """
        import h5py, numpy as np, sys
        def load(p):
            f = h5py.File(p, 'r')
            latest = f['checkpoints/latest']
            calibrated = 'batchnorm_calibration: true' in str(f.attrs['config'])
            names = [n.decode() for n in f['model/parameter_names'][()]]
            spans = {n: (o, o + c) for n, o, c in zip(names, f['model/parameter_offsets'][()], f['model/parameter_counts'][()])}
            models = []
            for name in ['parameters', 'site_parameters']:
                if name not in latest: continue
                rows = np.atleast_2d(latest[name][()].astype(np.float64))
                keep = np.ones(rows.shape[1], bool)
                for n, (a, b) in spans.items():
                    if n.endswith('.conv.bias'):
                        keep[a:b] = False
                        mean = spans.get(n[:-len('conv.bias')] + 'bn.moving_mean')
                        if mean and calibrated: rows[:, mean[0]:mean[1]] -= rows[:, a:b]
                models.append(rows[:, keep].ravel())
            if 'site_batch_norm' in latest: models.append(latest['site_batch_norm'][()].ravel())
            return np.concatenate(models)
        a = load(sys.argv[1])
        for other in sys.argv[2:]:
            print('%.3g' % (np.abs(a - load(other)).max() / np.abs(a).max()))
        """

    /// A folder moved with its run file and dataset resumes with the
    /// dataset beside the run file; one whose recorded dataset still exists
    /// elsewhere is refused.
    func testAMovedFolderResumesWithTheDatasetBesideTheRunFile() throws {
        let before = Self.folder.appendingPathComponent("before"), after = Self.folder.appendingPathComponent("after")
        try FileManager.default.createDirectory(at: before, withIntermediateDirectories: true)
        let data = before.appendingPathComponent("tiny.h5").path
        try FileManager.default.copyItem(atPath: Self.dataset, toPath: data)
        func run(_ folder: URL, _ extra: [String]) throws -> SimbaProcess.Result {
            try SimbaProcess.run(["train", "--preset", "tiny", "--data", folder.appendingPathComponent("tiny.h5").path,
                                  "-o", folder.appendingPathComponent("run.h5").path] + extra, ranks: 2, timeout: 300)
        }
        XCTAssertEqual(try run(before, ["--epochs", "1"]).status, 0)
        try FileManager.default.copyItem(at: before, to: after)
        let refused = try run(after, ["--epochs", "2", "--resume"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("was trained on \(data)"), refused.stderr)
        try FileManager.default.removeItem(at: before)
        let resumed = try run(after, ["--epochs", "2", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("trained 2 epochs"), resumed.stdout)
    }

    /// The same global batch on 1, 2 and 3 ranks (3 ranks: uneven shares of
    /// the batch of 4 would be 2, 1, 1; the tiny batch of 6 gives 2 each;
    /// both run) ends at the same parameters up to float reassociation.
    func testOneTwoAndThreeRanksAgreeWithinTolerance() throws {
        for batch in [6, 4] {
            let outputs = (1...3).map { path("equivalence-b\(batch)-\($0).h5") }
            for (index, output) in outputs.enumerated() {
                try train(output, ranks: index + 1, ["--epochs", "2", "--batch", String(batch)])
            }
            let differences = try python(Self.relativeDifference, outputs).split(separator: "\n").map { Double($0)! }
            XCTAssertEqual(differences.count, 2)
            for difference in differences { XCTAssertLessThan(difference, 1e-5, "batch \(batch)") }
        }
        // The comparison can fail: another seed lands far away.
        try train(path("other-seed.h5"), ranks: 1, ["--epochs", "2", "--batch", "4", "--seed", "2"])
        let far = try python(Self.relativeDifference, [path("equivalence-b4-1.h5"), path("other-seed.h5")])
        XCTAssertGreaterThan(Double(far.trimmingCharacters(in: .whitespacesAndNewlines))!, 1e-2)
    }

    /// Spatial parallelism: groups of ranks that each train a sample
    /// together, on slabs, train what one rank trains (the tiny preset's two
    /// blocks both split, the pooled slabs of the second gathered for the
    /// head; SlabTests covers partly split networks); with 4 ranks in
    /// groups of 2 the batch is dealt to the groups as well. A
    /// resumed spatial run is bitwise the uninterrupted one, and a rank
    /// count that is not a multiple of the group is refused in one line.
    func testSpatialGroupsTrainWhatOneRankTrainsAndResumeBitwise() throws {
        let layouts = [(1, 1), (2, 2), (3, 3), (4, 2), (4, 4)]
        let outputs = layouts.map { path("spatial-\($0.0)-\($0.1).h5") }
        for ((ranks, spatial), output) in zip(layouts, outputs) {
            try train(output, ranks: ranks, ["--epochs", "2", "--spatial", String(spatial)])
        }
        let differences = try python(Self.relativeDifference, outputs).split(separator: "\n").map { Double($0)! }
        XCTAssertEqual(differences.count, 4)
        for (difference, layout) in zip(differences, layouts.dropFirst()) {
            XCTAssertLessThan(difference, 1e-5, "\(layout.0) ranks in groups of \(layout.1)")
        }
        // Precise batch norm: each calibration batch's statistics summed over
        // its slabs. Its batches are each rank's (or group's) share of a
        // global batch, so a spatial run matches the data-parallel run with
        // as many groups as it has ranks: 1 rank and 2 in one group; 2 ranks
        // and 4 in two groups.
        let calibrated = path("spatial-calibrated.yaml")
        try "training:\n  widths: [4, 8]\n  batch: 6\n  patience: 3\n  batchnorm_calibration: true\n"
            .write(toFile: calibrated, atomically: true, encoding: .utf8)
        for pair in [[(1, 1), (2, 2)], [(2, 1), (4, 2)]] {
            let outputs = pair.map { path("spatial-calibrated-\($0.0)-\($0.1).h5") }
            for ((ranks, spatial), output) in zip(pair, outputs) {
                let result = try SimbaProcess.run(["train", calibrated, "--data", Self.dataset, "-o", output, "--epochs", "2",
                                                   "--spatial", String(spatial)], ranks: ranks, timeout: 300)
                XCTAssertEqual(result.status, 0, result.stderr)
            }
            let difference = try python(Self.relativeDifference, outputs).trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertLessThan(Double(difference)!, 1e-5, "calibrated, \(pair)")
        }

        let full = path("spatial-full.h5"), resumed = path("spatial-resumed.h5")
        try train(full, ranks: 2, ["--epochs", "3", "--spatial", "2"])
        try train(resumed, ranks: 2, ["--epochs", "2", "--spatial", "2"])
        try train(resumed, ranks: 2, ["--epochs", "3", "--spatial", "2", "--resume"])
        XCTAssertEqual(try python(Self.sameEnding, [full, resumed]), "True True\n")

        let uneven = try train(path("spatial-uneven.h5"), ranks: 3, ["--spatial", "2"], expectSuccess: false)
        XCTAssertNotEqual(uneven.status, 0)
        XCTAssertTrue(uneven.stderr.contains("training.spatial 2 needs a rank count that is a multiple of 2, got 3"), uneven.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("spatial-uneven.h5")))
    }

    /// Same seed and rank count: bitwise the same; a run stopped after one
    /// epoch and resumed ends bitwise where the uninterrupted run ends, with
    /// the same metrics rows.
    func testRunsAreReproducibleAndResumeIsBitwise() throws {
        let full = path("full.h5"), again = path("again.h5"), resumed = path("resumed.h5")
        let finished = try train(full, ranks: 2, ["--epochs", "3"])
        XCTAssertTrue(finished.stdout.contains("trained 3 epochs (central) on 2 ranks"), finished.stdout)
        try train(again, ranks: 2, ["--epochs", "3"])
        try train(resumed, ranks: 2, ["--epochs", "1"])
        try train(resumed, ranks: 2, ["--epochs", "3", "--resume"])
        let script = """
            import h5py, numpy as np, sys
            files = [h5py.File(p, 'r') for p in sys.argv[1:]]
            same = lambda name: all(np.array_equal(files[0][name][()], f[name][()]) for f in files[1:])
            print(same('checkpoints/latest/parameters'), same('checkpoints/latest/adam_second_moment'),
                  same('metrics/validation_loss'), same('metrics/train_loss'))
            f = files[2]
            print(f['checkpoints'].get('latest', getlink=True).path, int(f['checkpoints/latest'].attrs['complete']),
                  int(f['checkpoints/latest'].attrs['epochs_done']), list(f['metrics/epoch'][()]),
                  f['metrics/compute_seconds'].shape, int(f['checkpoints/best'].attrs['complete']))
            """
        let lines = try python(script, [full, again, resumed]).split(separator: "\n")
        XCTAssertEqual(lines.first, "True True True True")
        XCTAssertEqual(lines.last, "/checkpoints/epoch_000003 1 3 [1, 2, 3] (3, 2) 1")
    }

    /// Federated (3 simulated sites: 1 rank hosts all three in turn, 2 ranks
    /// host 2 + 1, 3 ranks one each) and travelling (2 sites: on 3 ranks the
    /// first site spans two ranks) land at the same parameters whatever the
    /// rank count; federated and travelling runs resume bitwise; FedProx's μ and
    /// sample-weighted averaging are applied.
    func testFederatedAndTravellingAgreeAcrossRankCountsAndResume() throws {
        for (strategy, sites) in [("federated", "3"), ("travelling", "2")] {
            let outputs = (1...3).map { path("\(strategy)-\($0).h5") }
            for (index, output) in outputs.enumerated() {
                let result = try train(output, ranks: index + 1, ["--epochs", "2", "--strategy", strategy, "--sites", sites])
                XCTAssertTrue(result.stdout.contains("trained 2 rounds (\(strategy))"), result.stdout)
            }
            for difference in try python(Self.relativeDifference, outputs).split(separator: "\n") {
                XCTAssertLessThan(Double(difference)!, 1e-5, strategy)
            }
        }
        let resumed = path("federated-resumed.h5")
        try train(resumed, ranks: 2, ["--epochs", "1", "--strategy", "federated", "--sites", "3"])
        try train(resumed, ranks: 2, ["--epochs", "2", "--strategy", "federated", "--sites", "3", "--resume"])
        XCTAssertEqual(try python(Self.sameParameters, [path("federated-2.h5"), resumed]), "True\n")
        let travelled = path("travelling-resumed.h5")
        try train(travelled, ranks: 2, ["--epochs", "1", "--strategy", "travelling", "--sites", "2"])
        try train(travelled, ranks: 2, ["--epochs", "2", "--strategy", "travelling", "--sites", "2", "--resume"])
        XCTAssertEqual(try python(Self.sameParameters, [path("travelling-2.h5"), travelled]), "True\n")

        for variant in ["proximal_mu: 0.5", "aggregation: samples"] {
            let config = path("variant.yaml")
            try "training:\n  widths: [4, 8]\n  batch: 6\n  patience: 3\n  strategy: federated\n  sites: 3\n  \(variant)\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            let output = path("variant.h5")
            let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output, "--epochs", "2",
                                               "--overwrite"], ranks: 2, timeout: 300)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(try python(Self.sameParameters, [path("federated-2.h5"), output]), "False\n", variant)
        }
    }

    /// FedTM (one FedAvg round, then travelling; 3 sites): the same
    /// parameters on 1, 2 and 3 ranks; its first round is FedAvg's to the
    /// bit and its second neither FedAvg's nor the travelling model's; a run
    /// stopped at the switch and one stopped after it resume bitwise.
    func testFedTMWarmsUpFederatedThenTravelsAndResumesAcrossTheSwitch() throws {
        let config = path("fedtm.yaml")
        try "training:\n  widths: [4, 8]\n  batch: 6\n  patience: 3\n  strategy: fedtm\n  federated_rounds: 1\n  sites: 3\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        func fedtm(_ output: String, ranks: Int, _ extra: [String]) throws -> SimbaProcess.Result {
            let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output] + extra, ranks: ranks, timeout: 300)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result
        }
        let outputs = (1...3).map { path("fedtm-\($0).h5") }
        for (index, output) in outputs.enumerated() {
            let result = try fedtm(output, ranks: index + 1, ["--epochs", "3"])
            XCTAssertTrue(result.stdout.contains("trained 3 rounds (fedtm)"), result.stdout)
        }
        for difference in try python(Self.relativeDifference, outputs).split(separator: "\n") {
            XCTAssertLessThan(Double(difference)!, 1e-5)
        }
        let warmup = path("fedtm-1round.h5"), federated = path("fedtm-federated-1round.h5")
        _ = try fedtm(warmup, ranks: 2, ["--epochs", "1"])
        try train(federated, ranks: 2, ["--epochs", "1", "--strategy", "federated", "--sites", "3"])
        XCTAssertEqual(try python(Self.sameParameters, [warmup, federated]), "True\n", "FedTM's first round is not FedAvg's")
        let two = path("fedtm-2rounds.h5")
        _ = try fedtm(two, ranks: 2, ["--epochs", "2"])
        try train(path("fedtm-federated-2.h5"), ranks: 2, ["--epochs", "2", "--strategy", "federated", "--sites", "3"])
        try train(path("fedtm-travelling-2.h5"), ranks: 2, ["--epochs", "2", "--strategy", "travelling", "--sites", "3"])
        XCTAssertEqual(try python(Self.sameParameters, [two, path("fedtm-federated-2.h5")]), "False\n")
        XCTAssertEqual(try python(Self.sameParameters, [two, path("fedtm-travelling-2.h5")]), "False\n")
        // Resumed at the switch (after the FedAvg round) and after it (mid-travel).
        for stop in [1, 2] {
            let resumed = path("fedtm-resumed-\(stop).h5")
            _ = try fedtm(resumed, ranks: 2, ["--epochs", "\(stop)"])
            _ = try fedtm(resumed, ranks: 2, ["--epochs", "3", "--resume"])
            XCTAssertEqual(try python(Self.sameParameters, [outputs[1], resumed]), "True\n", "stopped after round \(stop)")
        }
    }

    /// Tiny sites (20 round-robin sites of 0–3 training images, batch 6):
    /// every site with a training image takes part, on batches of all its
    /// images — one step per site and round, counted against the dataset —
    /// with the same parameters on 1, 2 and 3 ranks; the travelling model's
    /// learning-rate decay changes the run and resumes bitwise.
    func testTinySitesAllTakePartAgreeAcrossRanksAndDecayResumes() throws {
        let participating = try python("""
            import h5py, numpy as np, sys
            s = h5py.File(sys.argv[1], 'r')['samples']
            names = [n.decode() for n in s['split_names'][()]]
            train = s['index'][()][s['split'][()] == names.index('train')]
            print(len(set(train % 20)), len(train) < 6 * 20)
            """, [Self.dataset]).split(separator: " ").map { String($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(participating.last, "True")
        for strategy in ["federated", "travelling"] {
            let outputs = (1...3).map { path("tiny-sites-\(strategy)-\($0).h5") }
            for (index, output) in outputs.enumerated() {
                try train(output, ranks: index + 1, ["--epochs", "2", "--strategy", strategy, "--sites", "20"])
            }
            for difference in try python(Self.relativeDifference, outputs).split(separator: "\n") {
                XCTAssertLessThan(Double(difference)!, 1e-5, strategy)
            }
            let steps = try python("import h5py, sys; print(h5py.File(sys.argv[1], 'r')['metrics/step'][0])", [outputs[1]])
            XCTAssertEqual(steps.trimmingCharacters(in: .whitespacesAndNewlines), participating.first, strategy)
        }
        let config = path("decay.yaml")
        try "training:\n  widths: [4, 8]\n  batch: 6\n  patience: 3\n  strategy: travelling\n  sites: 20\n  learning_rate_decay: 0.1\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        func decayed(_ output: String, _ extra: [String]) throws {
            let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output] + extra, ranks: 2, timeout: 300)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let full = path("decay-full.h5"), resumed = path("decay-resumed.h5")
        try decayed(full, ["--epochs", "3"])
        try decayed(resumed, ["--epochs", "2"])
        try decayed(resumed, ["--epochs", "3", "--resume"])
        XCTAssertEqual(try python(Self.sameParameters, [full, resumed]), "True\n")
        try train(path("decay-none.h5"), ranks: 2, ["--epochs", "3", "--strategy", "travelling", "--sites", "20"])
        XCTAssertEqual(try python(Self.sameParameters, [full, path("decay-none.h5")]), "False\n")
    }

    /// `--site-samples N` (the lab's tiny sites): the training split dealt
    /// into sites of N images, each trained on batches of all of them — one
    /// step per site and round — with the same parameters on 1, 2 and 3
    /// ranks (sites of one image: batch norm over one image's voxels), and
    /// a stopped run resumes bitwise.
    func testSiteSamplesTrainEverySiteOfThatSizeAgreeAcrossRanksAndResume() throws {
        let trainingCount = try python("""
            import h5py, sys
            s = h5py.File(sys.argv[1], 'r')['samples']
            names = [n.decode() for n in s['split_names'][()]]
            print(int((s['split'][()] == names.index('train')).sum()))
            """, [Self.dataset])
        let n = try XCTUnwrap(Int(trainingCount.trimmingCharacters(in: .whitespacesAndNewlines)))
        for (strategy, size) in [("federated", 3), ("travelling", 1)] {
            let outputs = (1...3).map { path("site-samples-\(strategy)-\($0).h5") }
            for (index, output) in outputs.enumerated() {
                try train(output, ranks: index + 1, ["--epochs", "2", "--strategy", strategy, "--site-samples", "\(size)"])
            }
            for difference in try python(Self.relativeDifference, outputs).split(separator: "\n") {
                XCTAssertLessThan(Double(difference)!, 1e-5, strategy)
            }
            let steps = try python("import h5py, sys; print(h5py.File(sys.argv[1], 'r')['metrics/step'][0])", [outputs[2]])
            XCTAssertEqual(steps.trimmingCharacters(in: .whitespacesAndNewlines), "\((n + size - 1) / size)", strategy)
        }
        let full = path("site-samples-full.h5"), resumed = path("site-samples-resumed.h5")
        let tiny = ["--strategy", "travelling", "--site-samples", "1"]
        try train(full, ranks: 2, tiny + ["--epochs", "3"])
        try train(resumed, ranks: 2, tiny + ["--epochs", "2"])
        try train(resumed, ranks: 2, tiny + ["--epochs", "3", "--resume"])
        XCTAssertEqual(try python(Self.sameParameters, [full, resumed]), "True\n")
        let refused = try train(path("site-samples-local.h5"), ranks: 2, ["--strategy", "local", "--site-samples", "2"], expectSuccess: false)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("training.site_samples: deals only training samples into sites, but local models"), refused.stderr)
    }

    /// A site of one training image trains alone on one rank, but spread
    /// over two ranks it would leave one without samples: refused on every
    /// rank in one line, before anything is written.
    func testATinySiteSpreadOverMoreRanksThanImagesIsRefused() throws {
        let data = path("one-image-site.h5")
        try FileManager.default.copyItem(atPath: Self.dataset, toPath: data)
        // With `--sites 2` site 1 holds the odd sample indices: keep one of them in training.
        let kept = try python("""
            import h5py, numpy as np, sys
            s = h5py.File(sys.argv[1], 'r+')['samples']
            names = [n.decode() for n in s['split_names'][()]]
            split, index = s['split'][()], s['index'][()]
            odd = np.where((split == names.index('train')) & (index % 2 == 1))[0]
            split[odd[1:]] = names.index('validation')
            s['split'][...] = split
            print(((split == names.index('train')) & (index % 2 == 1)).sum())
            """, [data])
        XCTAssertEqual(kept, "1\n")
        let arguments = ["train", "--preset", "tiny", "--data", data, "--strategy", "travelling", "--sites", "2", "--epochs", "1"]
        let alone = try SimbaProcess.run(arguments + ["-o", path("one-image-site-2.h5")], ranks: 2, timeout: 300)
        XCTAssertEqual(alone.status, 0, alone.stderr)
        let refusedRun = path("one-image-site-4.h5")
        let refused = try SimbaProcess.run(arguments + ["-o", refusedRun], ranks: 4, timeout: 300)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("simba: error: site 1 has 1 training sample for its 2 ranks, which leaves ranks without samples"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refusedRun))
    }

    /// Adversarial unlearning (`training.unlearn: bias`) from a trained
    /// model: the head epochs leave the model bitwise as it started (the
    /// encoder is frozen, only the adversary learns); 1, 2 and 3 ranks agree
    /// on the model and the adversary; a run stopped in the head epochs
    /// resumes bitwise across the switch to unlearning; and the confusion
    /// loss reaches the encoder (β changes the result).
    func testUnlearningFreezesTheEncoderFirstAgreesAcrossRanksAndResumesAcrossTheSwitch() throws {
        let start = path("unlearning-start.h5")
        try train(start, ranks: 2, ["--epochs", "2"])
        func unlearning(_ output: String, ranks: Int, beta: Double = 1, reweigh: String = "none", _ extra: [String]) throws {
            try trainUnlearning(output, from: start, ranks: ranks, settings: ["unlearning_beta: \(beta)", "unlearning_reweigh: \(reweigh)"], extra)
        }
        let headOnly = path("unlearning-head.h5")
        try unlearning(headOnly, ranks: 2, ["--epochs", "2"])
        let frozen = """
            import h5py, numpy as np, sys
            a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
            print(np.array_equal(a['checkpoints/best/parameters'][()], b['checkpoints/latest/parameters'][()]),
                  np.abs(b['checkpoints/latest/adversary/adam_first_moment'][()]).max() > 0,
                  len(b['metrics/validation_adversary_accuracy']))
            """
        XCTAssertEqual(try python(frozen, [start, headOnly]), "True True 2\n")

        let outputs = (1...3).map { path("unlearning-\($0).h5") }
        for (index, output) in outputs.enumerated() { try unlearning(output, ranks: index + 1, ["--epochs", "4"]) }
        for difference in try python(Self.relativeDifference, outputs).split(separator: "\n") {
            XCTAssertLessThan(Double(difference)!, 1e-5)
        }
        let adversaries = """
            import h5py, numpy as np, sys
            a = [h5py.File(p, 'r')['checkpoints/latest/adversary/parameters'][()] for p in sys.argv[1:]]
            print(max(np.abs(a[0] - b).max() / np.abs(a[0]).max() for b in a[1:]) < 1e-5)
            """
        XCTAssertEqual(try python(adversaries, outputs), "True\n")

        try unlearning(headOnly, ranks: 2, ["--epochs", "4", "--resume"])
        let bitwise = Self.sameEnding.replacingOccurrences(of: "'checkpoints/latest/parameters'", with: "'checkpoints/latest/adversary/parameters'")
        XCTAssertEqual(try python(Self.sameEnding, [outputs[1], headOnly]), "True True\n")
        XCTAssertEqual(try python(bitwise, [outputs[1], headOnly]), "True True\n")

        let strongerConfusion = path("unlearning-beta2.h5")
        try unlearning(strongerConfusion, ranks: 2, beta: 2, ["--epochs", "4"])
        XCTAssertEqual(try python(Self.sameEnding, [outputs[1], strongerConfusion]).split(separator: " ").first, "False")

        // Reweighed adversary and confusion losses: the same on 1 and 3 ranks, not the unweighted run.
        let reweighed = [1, 3].map { path("unlearning-reweighed-\($0).h5") }
        for (ranks, output) in zip([1, 3], reweighed) { try unlearning(output, ranks: ranks, reweigh: "adversary", ["--epochs", "4"]) }
        XCTAssertLessThan(Double(try python(Self.relativeDifference, reweighed).trimmingCharacters(in: .whitespacesAndNewlines))!, 1e-5)
        XCTAssertEqual(try python(adversaries, reweighed), "True\n")
        XCTAssertEqual(try python(Self.sameEnding, [outputs[0], reweighed[0]]).split(separator: " ").first, "False")
    }

    /// `unlearning_reweigh: all` weighs the disease loss as `reweighing`
    /// does (bitwise the run with `reweighing: true` and the adversary's
    /// losses weighed), and `unlearning_selection: last` keeps the budget's
    /// last epoch where SimBA's rule stops early.
    func testUnlearningReweighingAllWeighsTheDiseaseLossAndLastKeepsTheFinalEpoch() throws {
        let start = path("unlearning-all-start.h5")
        try train(start, ranks: 2, ["--epochs", "2"])
        let all = path("unlearning-all.h5"), both = path("unlearning-both.h5"), adversaryOnly = path("unlearning-adversary.h5")
        try trainUnlearning(all, from: start, ranks: 2, settings: ["unlearning_reweigh: all"], ["--epochs", "4"])
        try trainUnlearning(both, from: start, ranks: 3, settings: ["unlearning_reweigh: adversary", "reweighing: true"], ["--epochs", "4"])
        try trainUnlearning(adversaryOnly, from: start, ranks: 2, settings: ["unlearning_reweigh: adversary"], ["--epochs", "4"])
        XCTAssertLessThan(Double(try python(Self.relativeDifference, [all, both]).trimmingCharacters(in: .whitespacesAndNewlines))!, 1e-5)
        XCTAssertEqual(try python(Self.sameEnding, [all, adversaryOnly]).split(separator: " ").first, "False")

        // Patience 1: SimBA's rule stops within the budget unless every epoch improves; last runs it all and keeps its end.
        let kept = """
            import h5py, sys
            f = h5py.File(sys.argv[1], 'r')
            best, latest = f['checkpoints/best'], f['checkpoints/latest']
            reason = f.attrs['stop_reason']
            print(len(f['metrics/epoch']), best.attrs['epochs_done'] == latest.attrs['epochs_done'],
                  'budget' in (reason.decode() if isinstance(reason, bytes) else reason))
            """
        let simba = path("unlearning-simba.h5"), last = path("unlearning-last.h5")
        for (output, selection) in [(simba, "simba"), (last, "last")] {
            try trainUnlearning(output, from: start, ranks: 2, settings: ["unlearning_selection: \(selection)", "patience: 1", "unlearning_head_epochs: 1"],
                                ["--epochs", "7"])
        }
        XCTAssertNotEqual(try python(kept, [simba]), "7 True True\n")
        XCTAssertEqual(try python(kept, [last]), "7 True True\n")
    }

    /// An unlearning run from `start` with the tiny model; `settings`
    /// ("key: value" lines of `training:`) replace the defaults' or add to them.
    func trainUnlearning(_ output: String, from start: String, ranks: Int, settings: [String], _ extra: [String]) throws {
        let config = output + ".yaml"
        let key = { (line: String) in line.prefix { $0 != ":" } }
        let defaults = ["widths: [4, 8]", "batch: 6", "patience: 3", "unlearn: bias", "unlearning_head_epochs: 2", "initialize_from: \(start)"]
        let lines = defaults.filter { line in !settings.contains { key($0) == key(line) } } + settings
        try ("training:\n" + lines.map { "  \($0)\n" }.joined()).write(toFile: config, atomically: true, encoding: .utf8)
        let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output] + extra, ranks: ranks, timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// HarmonyTM (`strategy: travelling`, `unlearn: site`): the adversary
    /// predicts the site and travels with the model, so 1, 2 and 3 ranks
    /// (sites hosted on different ranks) agree on the model and the
    /// adversary, and a run resumes bitwise across the switch from the head
    /// cycle to unlearning.
    func testHarmonyTMCarriesTheSiteAdversaryAcrossRanksAndResumes() throws {
        let config = path("harmonytm.yaml")
        try "training:\n  widths: [4, 8]\n  batch: 6\n  patience: 3\n  strategy: travelling\n  sites: 4\n  unlearn: site\n  unlearning_head_epochs: 1\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        func harmony(_ output: String, ranks: Int, _ extra: [String]) throws {
            let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output] + extra, ranks: ranks, timeout: 300)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let outputs = (1...3).map { path("harmonytm-\($0).h5") }
        for (index, output) in outputs.enumerated() { try harmony(output, ranks: index + 1, ["--epochs", "3"]) }
        let agreement = """
            import h5py, numpy as np, sys
            def load(p):
                f = h5py.File(p, 'r')['checkpoints/latest']
                return f['parameters'][()], f['adversary/parameters'][()], f['adversary/confusion_adam_second_moment'][()]
            def dense_kernel(p):
                m = h5py.File(p, 'r')['model']
                names = [n.decode() for n in m['parameter_names'][()]]
                return int(m['parameter_counts'][names.index('dense.kernel')])
            first = load(sys.argv[1])
            print(all(max(np.abs(a - b).max() / np.abs(a).max() for a, b in zip(first, load(p))) < 1e-5 for p in sys.argv[2:]),
                  # one class per site: features × 4 sites + 4 (the disease head is features × 2 classes)
                  h5py.File(sys.argv[1], 'r')['checkpoints/latest/adversary/parameters'].shape[0] == dense_kernel(sys.argv[1]) * 2 + 4)
            """
        XCTAssertEqual(try python(agreement, outputs), "True True\n")
        let resumed = path("harmonytm-resumed.h5")
        try harmony(resumed, ranks: 2, ["--epochs", "1"])
        try harmony(resumed, ranks: 2, ["--epochs", "3", "--resume"])
        XCTAssertEqual(try python(Self.sameEnding, [outputs[1], resumed]), "True True\n")
    }

    /// SIGUSR1 (what Slurm sends before the time limit; mpirun forwards it)
    /// stops every rank at the next step with exit 75; resuming ends bitwise
    /// where an uninterrupted run ends.
    func testStopSignalThenResumeMatchesAnUninterruptedRun() throws {
        let uninterrupted = path("signal-full.h5"), stopped = path("signal-stopped.h5")
        let arguments = ["--epochs", "6", "--batch", "4"]
        try train(uninterrupted, ranks: 2, arguments)
        // Epochs of at least 2 s (waiting changes no result), so the job is
        // still training when the first checkpoint is seen.
        let job = try SimbaJob(["train", "--preset", "tiny", "--data", Self.dataset, "-o", stopped] + arguments, ranks: 2,
                               environment: ["SIMBA_TEST_EPOCH_SECONDS": "2"])
        // Wait for the first complete checkpoint, then ask the job to stop.
        XCTAssertTrue(job.wait(until: { RunFileProbe.hasLatestCheckpoint(stopped) }, timeout: 120))
        try job.signalWhileFrozen(SIGUSR1, ranks: 2)
        let result = job.finish(timeout: 120)
        XCTAssertEqual(result.status, 75, result.stderr)
        try train(stopped, ranks: 2, arguments + ["--resume"])
        XCTAssertEqual(try python(Self.sameEnding, [uninterrupted, stopped]), "True True\n")
    }

    /// Prints whether two run files end with bitwise equal parameters and
    /// equal validation-loss series.
    /// Whether two run files' latest parameters are bitwise equal.
    static let sameParameters = """
        import h5py, numpy as np, sys
        a, b = (h5py.File(p, 'r')['checkpoints/latest/parameters'][()] for p in sys.argv[1:])
        print(np.array_equal(a, b))
        """

    static let sameEnding = """
        import h5py, numpy as np, sys
        a, b = (h5py.File(p, 'r') for p in sys.argv[1:])
        print(np.array_equal(a['checkpoints/latest/parameters'][()], b['checkpoints/latest/parameters'][()]),
              np.array_equal(a['metrics/validation_loss'][()], b['metrics/validation_loss'][()]))
        """

    /// A stop before the first checkpoint (e.g. Slurm's warning while an
    /// experiment's next arm starts) leaves a run file without one; --resume
    /// then trains from the beginning, as the uninterrupted run did.
    func testStopBeforeTheFirstCheckpointResumesFromTheStart() throws {
        let uninterrupted = path("early-full.h5"), stopped = path("early-stopped.h5")
        let arguments = ["--epochs", "2", "--batch", "4"]
        try train(uninterrupted, ranks: 2, arguments)
        let job = try SimbaJob(["train", "--preset", "tiny", "--data", Self.dataset, "-o", stopped] + arguments, ranks: 2)
        // The heartbeats appear (signal handlers in place) just before the
        // run file is made and training starts: the ranks see the signal
        // at their first step.
        XCTAssertTrue(job.wait(until: { FileManager.default.fileExists(atPath: stopped + ".heartbeats/rank-1") }, timeout: 120))
        try job.signalWhileFrozen(SIGUSR1, ranks: 2)
        let result = job.finish(timeout: 120)
        XCTAssertFalse(RunFileProbe.hasLatestCheckpoint(stopped), "a checkpoint was written after the stop signal")
        XCTAssertEqual(result.status, 75, result.stderr)
        try train(stopped, ranks: 2, arguments + ["--resume"])
        XCTAssertEqual(try python(Self.sameEnding, [uninterrupted, stopped]), "True True\n")
    }

    /// The benchmark prints one JSON line with the numbers issue 5 asks for.
    func testScalingBenchmarkPrintsItsJSONLine() throws {
        let result = try SimbaProcess.run(["bench", "scaling", "--input", "16x16x16", "--widths", "4,8", "--steps", "2"],
                                          ranks: 2, timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["ranks"] as? Int, 2)
        for key in ["weak_scaling_efficiency", "samples_per_s_per_rank", "compute_seconds_per_step",
                    "communication_seconds_per_step"] {
            XCTAssertGreaterThan(object?[key] as? Double ?? 0, 0, key)
        }
        // Spatial against data parallelism: 32 planes over 2 ranks split both blocks;
        // each step swaps one halo plane of block 2's input (8×8 × 4 channels,
        // 2 samples) both ways and gathers block 2's pooled slab (4 planes of 4×4 × 8).
        let spatial = try SimbaProcess.run(["bench", "scaling", "--spatial", "--input", "32x16x16", "--widths", "4,8",
                                            "--steps", "2", "--batch-per-rank", "1"], ranks: 2, timeout: 120)
        XCTAssertEqual(spatial.status, 0, spatial.stderr)
        let line = try JSONSerialization.jsonObject(with: Data(spatial.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(line?["split_blocks"] as? Int, 2)
        // Forward: a halo plane each way; backward: its gradient back; the gather: 2 samples × 4 planes.
        XCTAssertEqual(line?["halo_and_gather_bytes_per_step_per_rank"] as? Double, Double(4 * (2 * 2 * 8 * 8 * 4 + 2 * 4 * 4 * 4 * 8)))
        for key in ["spatial_efficiency", "spatial_step_seconds", "data_parallel_step_seconds", "halo_and_gather_seconds_per_step"] {
            XCTAssertGreaterThan(line?[key] as? Double ?? 0, 0, key)
        }
    }

    /// Both algorithms timed where both apply, one marked automatic per
    /// block, and bench train's two FLOP rates (Winograd multiplies less).
    func testConvolutionAndTrainBenchmarksPrintTheirJSON() throws {
        let conv = try SimbaProcess.run(["bench", "conv", "--input", "24x24x24", "--widths", "8,16", "--repeats", "1",
                                         "--threads", "1"], ranks: 1, timeout: 120)
        XCTAssertEqual(conv.status, 0, conv.stderr)
        let lines = try conv.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        // Block 1 (one input channel): im2col only; block 2 (12³, 8 → 16, 432 tiles at batch 2): both.
        XCTAssertEqual(lines.map { $0["block"] as? Int }, [1, 2, 2])
        XCTAssertEqual(lines.map { $0["algorithm"] as? String }, ["im2col", "im2col", "winograd"])
        XCTAssertEqual(lines.map { $0["automatic"] as? Bool }, [true, false, true])
        for line in lines {
            XCTAssertGreaterThan(line["forward_ms"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(line["backward_ms"] as? Double ?? 0, 0)
        }
        let train = try SimbaProcess.run(["bench", "train", "--input", "24x24x24", "--widths", "8,16", "--steps", "1",
                                          "--warmup", "0", "--threads", "1"], ranks: 1, timeout: 120)
        XCTAssertEqual(train.status, 0, train.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any]
        let nominal = object?["train_gflops"] as? Double ?? 0, executed = object?["train_executed_gflops"] as? Double ?? 0
        XCTAssertGreaterThan(executed, 0)
        XCTAssertLessThan(executed, nominal)
    }

    /// A disk too full for the next checkpoint stops every rank with one
    /// line; the previous checkpoint stays complete and linked. Needs root
    /// for a small tmpfs (skipped otherwise).
    func testFullDiskKeepsTheLastCheckpoint() throws {
        let small = path("small-disk")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mount = try SimbaProcess.tool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=1200k", "tmpfs", small])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a small tmpfs here: \(mount.stderr)") }
        defer { _ = try? SimbaProcess.tool("/usr/bin/umount", [small]) }
        let config = path("long.yaml")
        try "training:\n  widths: [4, 8]\n  epochs: 8\n  batch: 6\n  patience: 20\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let run = small + "/run.h5"
        let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", run], ranks: 2, timeout: 120)
        XCTAssertEqual(result.status, 1, result.stderr)
        // Every rank stops alike: one line, naming the checkpoint that stays valid.
        let errors = result.stderrLines.filter { $0.hasPrefix("simba: error") }
        XCTAssertEqual(errors.count, 1, result.stderr)
        for error in errors { XCTAssertTrue(error.contains("disk full") && error.contains("stays valid"), error) }
        let latest = try XCTUnwrap(try RunFileProbe.latest(run))
        XCTAssertTrue(latest.complete && latest.parametersReadable && latest.epochsDone >= 1, "\(latest)")
        XCTAssertTrue(errors.first?.contains("the last complete checkpoint \(latest.name) stays valid") ?? false,
                      "\(errors) \(latest)")
    }

    /// FedBN: each site keeps its own batch norm (stored per site in the
    /// checkpoint, rows differ between sites), the run differs from FedAvg,
    /// and it resumes bitwise.
    func testFedBNKeepsSiteBatchNormAndResumesBitwise() throws {
        let config = path("fedbn.yaml")
        try "training:\n  widths: [4, 8]\n  batch: 6\n  patience: 3\n  strategy: federated\n  sites: 3\n  fedbn: true\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        func fedbn(_ output: String, _ extra: [String]) throws {
            let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output] + extra,
                                              ranks: 2, timeout: 300)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let full = path("fedbn-full.h5"), resumed = path("fedbn-resumed.h5"), plain = path("fedbn-plain.h5")
        try fedbn(full, ["--epochs", "2"])
        try fedbn(resumed, ["--epochs", "1"])
        try fedbn(resumed, ["--epochs", "2", "--resume"])
        try train(plain, ranks: 2, ["--epochs", "2", "--strategy", "federated", "--sites", "3"])
        let script = """
            import h5py, numpy as np, sys
            a, b, c = (h5py.File(p, 'r')['checkpoints/latest'] for p in sys.argv[1:])
            table = a['site_batch_norm'][()]
            print(np.array_equal(a['parameters'][()], b['parameters'][()]), np.array_equal(table, b['site_batch_norm'][()]),
                  table.shape[0], not np.array_equal(table[0], table[1]),
                  not np.array_equal(a['parameters'][()], c['parameters'][()]))
            """
        XCTAssertEqual(try python(script, [full, resumed, plain]), "True True 3 True True\n")

        // FedBN as deployed: row s of the cross-site matrix is the best round's global weights with
        // site s's own batch norm. Reference: each site's model written into a copy of the run file
        // (h5py) and scored by `simba evaluate` like any single model.
        let matrix = """
            import h5py, numpy as np, shutil, sys
            full, resumed, folder = sys.argv[1:]
            f = h5py.File(full, 'r')
            g = f['evaluation/cross_site']
            print(g.attrs['description'].split(':')[0], g['scores'].shape[0],
                  np.array_equal(g['scores'][()], h5py.File(resumed, 'r')['evaluation/cross_site/scores'][()]))
            names = [n.decode() for n in f['model/parameter_names'][()]]
            slices = [(o, c) for n, o, c in zip(names, f['model/parameter_offsets'][()], f['model/parameter_counts'][()]) if '.bn.' in n]
            best = f['checkpoints/best']
            rows = best['site_batch_norm'][()]
            for site in range(rows.shape[0]):
                copy = '%s/fedbn-site%d.h5' % (folder, site)
                shutil.copy(full, copy)
                with h5py.File(copy, 'r+') as c:
                    parameters = c['checkpoints/best/parameters']
                    values = parameters[()]
                    at = 0
                    for offset, count in sorted(slices):
                        values[offset:offset + count] = rows[site, at:at + count]
                        at += count
                    parameters[...] = values
                print(copy)
            """
        let lines = try python(matrix, [full, resumed, Self.folder.path]).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "FedBN 3 True")
        for (site, copy) in lines.dropFirst().enumerated() {
            let evaluated = try SimbaProcess.run(["evaluate", copy], ranks: 2, timeout: 300)
            XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
            let compare = """
                import h5py, numpy as np, sys
                site = int(sys.argv[3])
                g = h5py.File(sys.argv[1], 'r')['evaluation/cross_site']
                row = dict(zip(g['sample_index'][()], g['scores'][site]))
                p = h5py.File(sys.argv[2], 'r')['evaluation/predictions']
                print(len(row) == len(p['score']), max(abs(row[i] - s) for i, s in zip(p['sample_index'][()], p['score'][()])) < 1e-5)
                """
            XCTAssertEqual(try python(compare, [full, copy, String(site)]), "True True\n", "site \(site)")
        }
    }

    /// Local training, 3 simulated sites: 1 rank hosts all three in turn, 2
    /// ranks 2 + 1, 3 ranks one each, so every site trains alone on one rank
    /// and the site models, their bests and the cross-site matrix are
    /// bitwise the same (one BLAS thread each, to keep the arithmetic
    /// alike). With 2 sites on 3 ranks site 0 spans two ranks: equal up to
    /// float reassociation. The matrix's accuracy and AUROC follow from its
    /// scores (recomputed here, AUROC by counting pairs).
    func testLocalSitesAgreeAcrossRankCountsWithTheirCrossSiteMatrix() throws {
        let outputs = (1...3).map { path("local-\($0).h5") }
        for (index, output) in outputs.enumerated() {
            let result = try train(output, ranks: index + 1, ["--epochs", "2", "--strategy", "local", "--sites", "3",
                                                              "--threads", "1"])
            XCTAssertTrue(result.stdout.contains("trained 2 rounds (local)"), result.stdout)
            XCTAssertTrue(result.stdout.contains("cross-site test accuracy/AUROC"), result.stdout)
            XCTAssertEqual(result.stdout.split(separator: "\n").filter { $0.hasPrefix("       site ") }.count, 3, result.stdout)
        }
        let same = """
            import h5py, numpy as np, sys
            files = [h5py.File(p, 'r') for p in sys.argv[1:]]
            names = ['checkpoints/latest/site_parameters', 'checkpoints/latest/site_best_parameters',
                     'checkpoints/latest/site_adam_second_moment', 'evaluation/cross_site/scores',
                     'evaluation/cross_site/accuracy', 'metrics/validation_loss_by_site']
            print(all(np.array_equal(files[0][n][()], f[n][()], equal_nan=True) for n in names for f in files[1:]))
            """
        XCTAssertEqual(try python(same, outputs), "True\n")
        let matrix = """
            import h5py, numpy as np, sys
            f = h5py.File(sys.argv[1], 'r')
            g = f['evaluation/cross_site']
            scores, accuracy, auroc = g['scores'][()], g['accuracy'][()], g['auroc'][()]
            site, label = g['sample_site'][()], g['sample_label'][()]
            ok = accuracy.shape == (3, 3) and scores.shape == (3, len(label)) and g.attrs['rows'].startswith('model')
            for m in range(3):
                for c in range(3):
                    s, y = scores[m][site == c], label[site == c]
                    ok &= np.isclose(accuracy[m, c], np.mean((s > 0.5) == (y == 1)))
                    pos, neg = s[y == 1], s[y != 1]
                    if len(pos) and len(neg):
                        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
                        ok &= np.isclose(auroc[m, c], pairs / (len(pos) * len(neg)))
                    else:
                        ok &= np.isnan(auroc[m, c])
            print(ok, len(label))
            """
        let checked = try python(matrix, [outputs[1]]).split(separator: " ")
        XCTAssertEqual(checked.first, "True")

        let spanning = [path("local-spanning-1.h5"), path("local-spanning-3.h5")]
        for (ranks, output) in zip([1, 3], spanning) {
            try train(output, ranks: ranks, ["--epochs", "2", "--strategy", "local", "--sites", "2"])
        }
        let tolerance = """
            import h5py, numpy as np, sys
            def load(p):
                f = h5py.File(p, 'r')
                names = [n.decode() for n in f['model/parameter_names'][()]]
                table = f['checkpoints/latest/site_parameters'][()]
                keep = np.ones(table.shape[1], bool)
                for n, o, c in zip(names, f['model/parameter_offsets'][()], f['model/parameter_counts'][()]):
                    if n.endswith('.conv.bias'): keep[o:o + c] = False
                return table[:, keep]
            a, b = (load(p) for p in sys.argv[1:])
            print('%.3g' % (np.abs(a - b).max() / np.abs(a).max()))
            """
        XCTAssertLessThan(Double(try python(tolerance, spanning).trimmingCharacters(in: .whitespacesAndNewlines))!, 1e-5)
    }

    /// Local runs stopped after one round resume bitwise where uninterrupted
    /// runs end: with ranks hosting several sites (2 ranks, 3 sites) and
    /// with a site spanning ranks (3 ranks, 2 sites).
    func testLocalRunsResumeBitwise() throws {
        for (ranks, sites) in [(2, "3"), (3, "2")] {
            let full = path("local-full-\(ranks).h5"), resumed = path("local-resumed-\(ranks).h5")
            let arguments = ["--strategy", "local", "--sites", sites]
            try train(full, ranks: ranks, arguments + ["--epochs", "3"])
            try train(resumed, ranks: ranks, arguments + ["--epochs", "1"])
            try train(resumed, ranks: ranks, arguments + ["--epochs", "3", "--resume"])
            let script = """
                import h5py, numpy as np, sys
                a, b = (h5py.File(p, 'r') for p in sys.argv[1:])
                names = ['checkpoints/latest/site_parameters', 'checkpoints/latest/site_best_parameters',
                         'checkpoints/latest/site_adam_first_moment', 'checkpoints/latest/site_adam_step',
                         'checkpoints/latest/site_rounds_without_improvement', 'metrics/validation_loss_by_site',
                         'evaluation/cross_site/scores']
                print(all(np.array_equal(a[n][()], b[n][()], equal_nan=True) for n in names),
                      int(b['checkpoints/latest'].attrs['complete']), b['checkpoints/latest/site_parameters'].shape[0],
                      list(b['metrics/epoch'][()]))
                """
            XCTAssertEqual(try python(script, [full, resumed]), "True 1 \(sites) [1, 2, 3]\n", "\(ranks) ranks")
        }
    }

    /// `training.centre_input`: the run file holds the mean of the scaled
    /// training images (checked against numpy), the same on 1, 2 and 3
    /// ranks; training on 1–3 ranks agrees up to reassociation and differs
    /// from training without it; inference subtracts the stored mean (with
    /// zeros written in its place the scores change), and a run file that
    /// lost it is refused in one line.
    func testCentredInputIsTheTrainingMeanOnEveryRankCountAndInferenceUsesIt() throws {
        let config = path("centred.yaml")
        let tiny = try SimbaProcess.run(["config", "--preset", "tiny"], ranks: 1, timeout: 60)
        XCTAssertEqual(tiny.status, 0, tiny.stderr)
        XCTAssertTrue(tiny.stdout.contains("centre_input: false"), tiny.stdout)
        try tiny.stdout.replacingOccurrences(of: "centre_input: false", with: "centre_input: true")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let runs = (1...3).map { path("centred-\($0).h5") }
        for (index, run) in runs.enumerated() {
            let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", run, "--epochs", "2"],
                                              ranks: index + 1, timeout: 300)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let means = try python("""
            import h5py, numpy as np, sys
            d = h5py.File(sys.argv[1], 'r')
            images = d['images'][()].astype(np.float64)
            train = images[d['samples/split'][()] == 0]
            low = train.min(axis=(1, 2, 3), keepdims=True); high = train.max(axis=(1, 2, 3), keepdims=True)
            expected = ((train - low) / (high - low) - 0.5).mean(axis=0)
            for p in sys.argv[2:]:
                stored = h5py.File(p, 'r')['model/input_mean'][()]
                print(stored.shape == expected.shape, '%.3g' % np.abs(stored - expected).max())
            """, [Self.dataset] + runs).split(separator: "\n")
        XCTAssertEqual(means.count, 3)
        for line in means {
            let fields = line.split(separator: " ")
            XCTAssertEqual(fields.first, "True", String(line))
            XCTAssertLessThan(Double(fields.last ?? "") ?? 1, 1e-6, String(line))
        }
        let differences = try python(Self.relativeDifference, runs).split(separator: "\n").map { Double($0)! }
        for difference in differences { XCTAssertLessThan(difference, 1e-5) }
        let plain = path("uncentred.h5")
        try train(plain, ranks: 1, ["--epochs", "2"])
        let apart = try python(Self.relativeDifference, [runs[0], plain])
        XCTAssertGreaterThan(Double(apart.trimmingCharacters(in: .whitespacesAndNewlines))!, 1e-2)

        // Inference reads the stored mean: replaced by zeros, the scores change.
        let zeroed = path("centred-zeroed.h5"), lost = path("centred-lost.h5")
        for copy in [zeroed, lost] { try FileManager.default.copyItem(atPath: runs[1], toPath: copy) }
        _ = try python("""
            import h5py, sys
            f = h5py.File(sys.argv[1], 'r+'); f['model/input_mean'][...] = 0
            del h5py.File(sys.argv[2], 'r+')['model/input_mean']
            """, [zeroed, lost])
        for run in [runs[1], zeroed] {
            let evaluated = try SimbaProcess.run(["evaluate", run], ranks: 2, timeout: 300)
            XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        }
        let scores = try python("""
            import h5py, numpy as np, sys
            a, b = (h5py.File(p, 'r')['evaluation/predictions/score'][()] for p in sys.argv[1:])
            print(a.shape == b.shape, '%.3g' % np.abs(a - b).max())
            """, [runs[1], zeroed]).split(separator: " ")
        XCTAssertEqual(scores.first, "True")
        XCTAssertGreaterThan(Double(scores.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0, 1e-4)
        let refused = try SimbaProcess.run(["evaluate", lost], ranks: 2, timeout: 120)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        let errors = refused.stderrLines.filter { $0.hasPrefix("simba: error") }
        XCTAssertFalse(errors.isEmpty, refused.stderr)
        for error in errors { XCTAssertTrue(error.contains("has no /model/input_mean"), error) }
    }

    func testBadInputIsRefusedOnEveryRankWithOneLine() throws {
        func refused(_ arguments: [String], ranks: Int = 2, _ expected: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try SimbaProcess.run(["train"] + arguments, ranks: ranks, timeout: 120)
            XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
            let errors = result.stderrLines.filter { $0.hasPrefix("simba: error") }
            XCTAssertFalse(errors.isEmpty, result.stderr, file: file, line: line)
            for error in errors { XCTAssertTrue(error.contains(expected), "\(error) lacks '\(expected)'", file: file, line: line) }
        }
        let run = path("bad.h5")
        try refused(["--preset", "tiny", "--data", path("missing.h5"), "-o", run], "does not exist")
        let corrupt = path("corrupt.h5")
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: corrupt))
        try refused(["--preset", "tiny", "--data", corrupt, "-o", run], "not an HDF5 file")
        try refused(["--preset", "tiny", "--data", Self.dataset, "-o", run, "--batch", "2"], ranks: 3,
                    "leaves ranks without samples")
        let config = path("typo.yaml")
        try "training:\n  batchsize: 4\n".write(toFile: config, atomically: true, encoding: .utf8)
        try refused([config, "--data", Self.dataset, "-o", run], "training: unknown key 'batchsize'")

        try train(run, ranks: 2, ["--epochs", "1"])
        try refused(["--preset", "tiny", "--data", Self.dataset, "-o", run], "use --resume to continue it or --overwrite")
        try refused(["--preset", "tiny", "--data", Self.dataset, "-o", run, "--resume"], ranks: 1,
                    "resume it with 2 ranks")
        try refused(["--preset", "tiny", "--data", Self.dataset, "-o", run, "--resume", "--lr", "0.5"],
                    "another training configuration")

        // A dataset regenerated on another grid no longer fits the run's model.
        let regenerated = path("regenerated.h5"), regeneratedRun = path("regenerated-run.h5")
        for margin in [4, 12] {
            let cohort = path("cohort-\(margin).yaml")
            try "template:\n  voxel_mm: 4\n  margin_mm: \(margin)\ncohort:\n  size: 16\n"
                .write(toFile: cohort, atomically: true, encoding: .utf8)
            let generated = try SimbaProcess.run(["generate", cohort, "-o", regenerated, "--overwrite"], ranks: 2, timeout: 300)
            XCTAssertEqual(generated.status, 0, generated.stderr)
            if margin == 4 {
                let trained = try SimbaProcess.run(["train", "--preset", "tiny", "--data", regenerated, "-o", regeneratedRun,
                                                    "--epochs", "1"], ranks: 2, timeout: 300)
                XCTAssertEqual(trained.status, 0, trained.stderr)
            }
        }
        try refused(["--preset", "tiny", "--data", regenerated, "-o", regeneratedRun, "--resume", "--epochs", "2"],
                    "holds a model for 43×51×42 images")

        // A loss that blows up stops the run naming the step; no checkpoint claims to be good.
        let exploding = path("exploding.yaml")
        try "training:\n  widths: [4, 8]\n  activation: relu\n  batch: 6\n  learning_rate: 1.0e+30\n"
            .write(toFile: exploding, atomically: true, encoding: .utf8)
        let nan = path("nan.h5")
        try refused([exploding, "--data", Self.dataset, "-o", nan], "became non-finite (NaN or infinite) at step ")
        let state = try python("""
            import h5py, sys
            f = h5py.File(sys.argv[1], 'r')
            print('latest' in f['checkpoints'], f.attrs['stop_reason'].startswith('training loss or gradients became non-finite'))
            """, [nan])
        XCTAssertEqual(state, "False True\n")
    }
}
