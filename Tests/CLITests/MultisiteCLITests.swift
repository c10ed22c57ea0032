import Foundation
import XCTest

/// A multi-site experiment as `simba run --preset multisite` makes it, at
/// test size: strategy arms on the same cohort of sites, one held out.
final class MultisiteCLITests: XCTestCase {
    static let config = TinyDataset.croppedCohortYAML(seed: 3) + """
        sites:
          - {name: north, scanner: {gamma: 1, bias_field: 0, noise: 0, blur_mm: 0}}
          - {name: south, disease_prevalence: 0.4, scanner: {gamma: 0.85, bias_field: 0.15, noise: 0.01, blur_mm: 0.5}}
          - {name: east, held_out: true, scanner: {gamma: 1.15, bias_field: 0.1, noise: 0.02, blur_mm: 1}}
        training: {widths: [4, 8], epochs: 1, batch: 4, patience: 3, federated_rounds: 1}
        analysis: {arms: [central, federated, travelling, local, fedtm], bootstrap: 200, saliency: 0}
        """

    func testStrategyArmsReportSitesTheHeldOutSiteAndSiteEncoding() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-multisite-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = folder + "/multisite.yaml"
        try Self.config.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try SimbaProcess.run(["run", config, "-o", folder + "/out"], ranks: 2, timeout: 600)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("federated vs central, morph − none: ΔTPR"), run.stdout)
        XCTAssertTrue(run.stdout.contains("travelling: trained 1 rounds (travelling)"), run.stdout)
        XCTAssertTrue(run.stdout.contains("fedtm: trained 1 rounds (fedtm)"), run.stdout)
        let check = try SimbaProcess.tool("/usr/bin/python3", ["-c", """
            import json, sys
            summary = json.load(open(sys.argv[1]))
            arms = {a['name']: a for a in summary['arms']}
            print(sorted(arms))
            central = arms['central']['evaluation']
            print(central['by_site']['keys'])
            print(sorted(set(k.split('|')[0] for k in central['by_site_and_group']['keys'])))
            print(sorted(arms['federated']['encoding']['targets']))
            print(sorted(set(c['arm'] + ' vs ' + c['against'] for c in summary['comparisons'])))
            local = arms['local']
            print(local['cross_site']['sites'], len(local['cross_site']['accuracy']), local['evaluation']['by_site']['keys'])
            """, folder + "/out/summary.json"])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertEqual(check.stdout.split(separator: "\n").map(String.init), [
            "['central', 'federated', 'fedtm', 'local', 'travelling']",
            "['all', 'east (held out)', 'north', 'south']",
            "['all', 'east (held out)', 'north', 'south']",
            "['bias', 'bias_marginal', 'disease', 'site']",
            "['federated vs central', 'fedtm vs central', 'local vs central', 'travelling vs central']",
            "['north', 'south', 'east'] 3 ['all', 'east (held out)', 'north', 'south']",
        ])
    }
}
