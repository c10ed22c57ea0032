import Foundation
import XCTest

/// Spatial groups inside the site strategies and with adversarial
/// unlearning, under `mpirun`: a run whose ranks form groups of P trains
/// what the run with one rank per group trains, up to float reassociation.
extension TrainCLITests {
    /// The tiny network with `settings` (YAML lines under `training:`).
    func spatialConfig(_ name: String, _ settings: String) throws -> String {
        let config = path("\(name).yaml")
        try "training:\n  widths: [4, 8]\n  batch: 6\n\(settings)".write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    func trainConfig(_ config: String, _ output: String, ranks: Int, spatial: Int, _ extra: [String] = []) throws {
        let result = try SimbaProcess.run(["train", config, "--data", Self.dataset, "-o", output, "--spatial", String(spatial)] + extra,
                                          ranks: ranks, timeout: 300)
        XCTAssertEqual(result.status, 0, "\(output): \(result.stderr)")
    }

    /// Each case against its data-parallel twin (1e-5 relative over every
    /// model the run file holds: TrainCLITests.relativeDifference): groups
    /// hosting several sites each (FedBN with FedProx, three sites on two
    /// groups), one site spanning two groups, the travelling model on one
    /// group of 3 with precise batch norm, FedTM across its switch, tiny
    /// sites, local models (and their cross-site scores), bias unlearning
    /// and HarmonyTM. A spatial FedTM run stopped at the switch resumes
    /// bitwise.
    func testSiteStrategiesAndUnlearningTrainOnSpatialGroupsAsOnRanks() throws {
        let start = path("spatial-sites-start.h5")
        try train(start, ranks: 2, ["--epochs", "2"])
        let unlearning = "  epochs: 3\n  unlearning_head_epochs: 1\n  initialize_from: \(start)\n"
        let cases: [(name: String, settings: String, ranks: Int, spatial: Int)] = [
            ("fedbn", "  epochs: 2\n  strategy: federated\n  sites: 3\n  fedbn: true\n  proximal_mu: 0.1\n  batchnorm_calibration: true\n", 2, 2),
            ("one-site", "  epochs: 2\n  strategy: federated\n  sites: 1\n", 2, 2),
            ("travelling", "  epochs: 2\n  strategy: travelling\n  sites: 3\n  batchnorm_calibration: true\n", 1, 3),
            ("fedtm", "  epochs: 3\n  strategy: fedtm\n  federated_rounds: 1\n  sites: 2\n  batchnorm_calibration: true\n", 2, 2),
            ("tiny-sites", "  epochs: 2\n  strategy: travelling\n  site_samples: 2\n", 2, 2),
            ("local", "  epochs: 2\n  strategy: local\n  sites: 2\n", 2, 2),
            ("unlearn-bias", unlearning + "  unlearn: bias\n", 2, 2),
            ("harmony", unlearning + "  strategy: travelling\n  sites: 2\n  unlearn: site\n", 2, 2),
        ]
        for item in cases {
            let config = try spatialConfig("spatial-\(item.name)", item.settings)
            let ranks = path("spatial-\(item.name)-ranks.h5"), groups = path("spatial-\(item.name)-groups.h5")
            try trainConfig(config, ranks, ranks: item.ranks, spatial: 1)
            try trainConfig(config, groups, ranks: item.ranks * item.spatial, spatial: item.spatial)
            let difference = try python(Self.relativeDifference, [ranks, groups]).trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertLessThan(Double(difference) ?? .infinity, 1e-5,
                              "\(item.name): \(item.ranks) ranks against \(item.ranks * item.spatial) in groups of \(item.spatial)")
        }
        // Local models also score every site's test images: each once, not once per rank of a group.
        let scores = """
            import h5py, numpy as np, sys
            a, b = (h5py.File(p, 'r')['evaluation/cross_site/scores'][()] for p in sys.argv[1:])
            print('%.3g' % np.nanmax(np.abs(a - b)))
            """
        let scoreDifference = try python(scores, [path("spatial-local-ranks.h5"), path("spatial-local-groups.h5")])
        XCTAssertLessThan(Double(scoreDifference.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .infinity, 1e-5)

        let fedtm = path("spatial-fedtm.yaml"), resumed = path("spatial-fedtm-resumed.h5")
        try trainConfig(fedtm, resumed, ranks: 4, spatial: 2, ["--epochs", "1"])
        try trainConfig(fedtm, resumed, ranks: 4, spatial: 2, ["--resume"])
        XCTAssertEqual(try python(Self.sameEnding, [path("spatial-fedtm-groups.h5"), resumed]), "True True\n")
    }
}
