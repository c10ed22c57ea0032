import Cluster
import Foundation
import Network
import Storage
import Synthesis
@testable import Training
import XCTest

/// Local training in this process (a world of one rank) on `MiniCohort`:
/// a site's model is central training on that site's data alone, sites do
/// not influence each other, and the cross-site matrix matches an
/// evaluation done here sample by sample.
final class LocalStrategyTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-local-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func config(_ strategy: TrainingStrategy) -> TrainingConfig {
        var config = TrainingConfig()
        config.strategy = strategy
        config.widths = [4, 8]
        config.epochs = 3
        config.batch = 4
        config.patience = 2
        config.learningRate = 1e-2
        return config
    }

    @discardableResult
    func train(_ config: TrainingConfig, data: String, output: String) throws -> TrainingOutcome {
        let world = try Cluster.start()
        let trainer = try Trainer(run: TrainingRun(config: config, datasetPath: data, runPath: output), world: world)
        return try trainer.train()
    }

    func read<T: H5Element>(_ file: String, _ dataset: String, as type: T.Type = T.self) throws -> [T] {
        let handle = try H5File.open(file)
        defer { try? handle.close() }
        return try handle.root.dataset(dataset).read()
    }

    func parameterCount(_ file: String) throws -> Int {
        try read(file, "model/parameter_counts", as: Int.self).reduce(0, +)
    }

    /// Row `site` of a [sites × P] checkpoint table.
    func row(_ file: String, _ table: String, site: Int) throws -> [Float] {
        let values: [Float] = try read(file, "checkpoints/latest/\(table)")
        let width = try parameterCount(file)
        return Array(values[(site * width)..<((site + 1) * width)])
    }

    /// Site 0 trained locally ends bitwise where central training on a
    /// dataset of site 0's samples alone ends, best model included.
    func testASiteTrainsAsCentralTrainingOnItsDataAlone() throws {
        let all = path("all.h5"), siteZero = path("site0.h5")
        try MiniCohort.write(all)
        try MiniCohort.write(siteZero, keep: { MiniCohort.site($0) == 0 })
        let local = path("local.h5"), central = path("central.h5")
        try train(config(.local), data: all, output: local)
        try train(config(.central), data: siteZero, output: central)
        XCTAssertEqual(try row(local, "site_parameters", site: 0), try read(central, "checkpoints/latest/parameters"))
        XCTAssertEqual(try row(local, "site_adam_second_moment", site: 0),
                       try read(central, "checkpoints/latest/adam_second_moment"))
        XCTAssertEqual(try row(local, "site_best_parameters", site: 0), try read(central, "checkpoints/best/parameters"))
        let centralLoss: [Double] = try read(central, "metrics/validation_loss")
        let localLoss: [Double] = try read(local, "metrics/validation_loss_by_site")
        XCTAssertEqual(stride(from: 0, to: localLoss.count, by: 3).map { localLoss[$0] }, centralLoss)
        // The comparison can fail: site 1's model is another one.
        XCTAssertNotEqual(try row(local, "site_parameters", site: 1), try row(local, "site_parameters", site: 0))
    }

    /// Other noise in site 2's images changes site 2's model and leaves
    /// sites 0 and 1 bitwise as they were.
    func testSitesDoNotInfluenceEachOther() throws {
        let data = path("data.h5"), changed = path("changed.h5")
        try MiniCohort.write(data)
        try MiniCohort.write(changed, variant: { MiniCohort.site($0) == 2 ? 7 : 0 })
        let a = path("a.h5"), b = path("b.h5")
        try train(config(.local), data: data, output: a)
        try train(config(.local), data: changed, output: b)
        for site in 0..<2 {
            XCTAssertEqual(try row(a, "site_parameters", site: site), try row(b, "site_parameters", site: site))
            XCTAssertEqual(try row(a, "site_best_parameters", site: site), try row(b, "site_best_parameters", site: site))
        }
        XCTAssertNotEqual(try row(a, "site_parameters", site: 2), try row(b, "site_parameters", site: 2))
    }

    /// The stored matrix against an evaluation here: each site's best
    /// parameters loaded into a fresh network, every test sample read and
    /// scaled on its own and run through it alone; accuracy from the
    /// argmax, AUROC by counting pairs.
    func testCrossSiteMatrixMatchesAnEvaluationSampleBySample() throws {
        let data = path("data.h5"), run = path("run.h5")
        try MiniCohort.write(data)
        let outcome = try train(config(.local), data: data, output: run)
        let matrix = try XCTUnwrap(outcome.crossSite)
        XCTAssertEqual(matrix.sites, 3)
        let stored: [Double] = try read(run, "evaluation/cross_site/accuracy")
        XCTAssertEqual(stored.count, 9)
        XCTAssertEqual(stored, matrix.accuracy)
        let storedIndices: [Int] = try read(run, "evaluation/cross_site/sample_index")
        let testIndices = (0..<MiniCohort.count).filter { MiniCohort.split($0) == 2 }
        XCTAssertEqual(storedIndices, testIndices)
        let storedScores: [Double] = try read(run, "evaluation/cross_site/scores")
        XCTAssertEqual(storedScores.count, 3 * testIndices.count)

        let reader = try DatasetReader(path: data)
        let network = try SimbaCNN(configuration: config(.local).model(input: Grid3(reader.shape)), maxBatch: 1, seed: 5)
        for model in 0..<3 {
            try network.load(parameters: try row(run, "site_best_parameters", site: model))
            var probabilities: [Int: Double] = [:], predictions: [Int: Int] = [:]
            for (column, index) in testIndices.enumerated() {
                var image = ArraySlice(try reader.readImages(index..<(index + 1)))
                normalizeImage(&image)
                network.forward(Array(image), batch: 1, mode: .eval)
                let logits = (0..<2).map { Double(network.logits[$0]) }
                predictions[index] = logits[1] > logits[0] ? 1 : 0
                probabilities[index] = 1 / (1 + exp(logits[0] - logits[1]))
                XCTAssertEqual(storedScores[model * testIndices.count + column], probabilities[index]!, accuracy: 1e-5)
            }
            for site in 0..<3 {
                let samples = testIndices.filter { MiniCohort.site($0) == site }
                let right = samples.filter { predictions[$0] == MiniCohort.label($0) }.count
                XCTAssertEqual(matrix.accuracy[model * 3 + site], Double(right) / Double(samples.count), "model \(model), site \(site)")
                let positives = samples.filter { MiniCohort.label($0) == 1 }, negatives = samples.filter { MiniCohort.label($0) == 0 }
                var pairs = 0.0
                for p in positives { for n in negatives {
                    pairs += probabilities[p]! > probabilities[n]! ? 1 : probabilities[p]! == probabilities[n]! ? 0.5 : 0
                } }
                XCTAssertEqual(matrix.auroc[model * 3 + site], pairs / Double(positives.count * negatives.count),
                               accuracy: 1e-12, "model \(model), site \(site)")
            }
        }
        XCTAssertTrue(matrix.table.contains("site 2"), matrix.table)
    }

    func testRankAUROCCountsPairsWithTiesAsHalves() {
        var state: UInt64 = 3
        for trial in 0..<50 {
            let n = 2 + trial % 17
            var scores = [Double](), labels = [Int]()
            for i in 0..<n {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                scores.append(Double((state >> 33) % 5) / 4)   // few distinct values: many ties
                labels.append(i % 3 == 0 ? 1 : Int((state >> 20) % 2))
            }
            let positives = labels.indices.filter { labels[$0] == 1 }, negatives = labels.indices.filter { labels[$0] != 1 }
            guard !positives.isEmpty, !negatives.isEmpty else { continue }
            var pairs = 0.0
            for p in positives { for q in negatives { pairs += scores[p] > scores[q] ? 1 : scores[p] == scores[q] ? 0.5 : 0 } }
            XCTAssertEqual(rankAUROC(scores: scores, labels: labels), pairs / Double(positives.count * negatives.count),
                           accuracy: 1e-12)
        }
        XCTAssertEqual(rankAUROC(scores: [0.1, 0.9], labels: [0, 1]), 1)
        XCTAssertEqual(rankAUROC(scores: [0.9, 0.1], labels: [0, 1]), 0)
        XCTAssertTrue(rankAUROC(scores: [0.1, 0.9], labels: [1, 1]).isNaN)
    }

    func testMatrixLeavesUntrainedRowsAndEmptyColumnsOut() {
        // Site 0 trained, site 1 did not, site 2 has no test samples.
        let matrix = CrossSiteMatrix(sites: 3, sampleIndices: [4, 5, 6, 7], sampleSites: [0, 0, 1, 1],
                                     sampleLabels: [1, 0, 1, 1],
                                     scores: [0.8, 0.3, 0.4, 0.6] + [Double](repeating: .nan, count: 8),
                                     trained: [true, false, true], bestRounds: [2, 0, 1])
        XCTAssertEqual(matrix.accuracy[0], 1)
        XCTAssertEqual(matrix.auroc[0], 1)
        XCTAssertEqual(matrix.accuracy[1], 0.5)
        XCTAssertTrue(matrix.auroc[1].isNaN, "one class only")
        XCTAssertTrue(matrix.accuracy[2].isNaN, "no test samples")
        XCTAssertTrue((3..<6).allSatisfy { matrix.accuracy[$0].isNaN }, "untrained row")
    }

    func testASiteStopsWhenItsPatienceRunsOut() {
        var site = SiteStopping()
        XCTAssertTrue(site.record(loss: 0.7, round: 1, patience: 2))
        XCTAssertFalse(site.record(loss: .nan, round: 2, patience: 2))
        XCTAssertTrue(site.record(loss: 0.6, round: 3, patience: 2))
        XCTAssertFalse(site.record(loss: 0.6, round: 4, patience: 2))
        XCTAssertFalse(site.stopped(patience: 2))
        XCTAssertFalse(site.record(loss: 0.65, round: 5, patience: 2))
        XCTAssertTrue(site.stopped(patience: 2))
        XCTAssertFalse(site.record(loss: 0.1, round: 6, patience: 2), "a stopped site stays stopped")
        XCTAssertEqual(site.bestRound, 3)
        XCTAssertEqual(site.bestValidationLoss, 0.6)
    }

    /// Every training site's row is written by exactly one rank and read by
    /// each rank that hosts it, whether ranks host several sites or sites span ranks.
    func testSiteRowsAreWrittenOnceAndReadByTheirHosts() {
        for (sites, ranks) in [(5, 2), (3, 3), (2, 3), (4, 1)] {
            let layout = SiteLayout(count: sites, worldSize: ranks)
            let participants = Array(0..<sites).filter { $0 != 1 }
            let rows = (0..<ranks).map { SiteRows(layout: layout, participants: participants, rank: $0) }
            XCTAssertEqual(rows.flatMap { $0.written(by: $0.rank) }.sorted(), participants)
            for site in participants {
                XCTAssertEqual(rows.filter { $0.read(by: $0.rank).contains(site) }.map(\.rank), Array(layout.hosts(of: site)))
            }
        }
    }
}

extension LocalStrategyTests {
    /// A site that would train without validation samples (its own early
    /// stopping needs them) is refused in one line naming it.
    func testASiteWithoutValidationSamplesIsRefused() throws {
        let data = path("unvalidated.h5")
        try MiniCohort.write(data, keep: { !(MiniCohort.site($0) == 1 && MiniCohort.split($0) == 1) })
        XCTAssertThrowsError(try train(config(.local), data: data, output: path("refused.h5"))) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("site 1 of") && message.contains("has no validation samples"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }
}
