import Analysis
import Foundation
import Network
import Storage
import Synthesis
import Training
import XCTest
@testable import Experiment

/// The encoding table without a network: targets per bias, sample counts,
/// power, Holm over the layers, the run file's sections, and what the
/// report, the text and summary.json make of them.
final class EncodingTableTests: XCTestCase {
    /// Two biases, both more common in the disease class and in each other's
    /// presence: the per-bias subsets must hold the disease and the other
    /// bias fixed and be balanced on their own bias.
    func testEachBiasIsProbedBalancedWithinClassAndTheOtherBiases() {
        var samples: [SampleRecord] = []
        for index in 0..<400 {
            let label = index % 2
            let first = (index / 2) % 10 < (label == 1 ? 7 : 3)
            let second = (index / 20) % 10 < (first ? 8 : 4)
            samples.append(SampleRecord(index: index, split: .test, label: label, site: 0, biasFlags: [first, second],
                                        biasCoefficients: [0, 0], subjectCoefficients: [], diseaseCoefficient: 0))
        }
        let plans = EncodingTable.plans(samples: samples, biasNames: ["morph", "contrast"], seed: 3)
        XCTAssertEqual(plans.map(\.name), ["bias", "bias:morph", "bias:contrast", "bias_marginal", "disease"])
        for (b, name) in ["morph", "contrast"].enumerated() {
            guard case .pooled(let parts) = plans.first(where: { $0.name == "bias:" + name })!.plan else {
                return XCTFail("bias:\(name) is not pooled over balanced subsets")
            }
            XCTAssertEqual(parts.count, 4, "one subset per disease class × other bias")
            for part in parts {
                XCTAssertEqual(part.labels, part.rows.map { samples[$0].biasFlags[b] ? 1 : 0 })
                XCTAssertEqual(part.labels.filter { $0 == 1 }.count * 2, part.labels.count, "not balanced")
                XCTAssertEqual(Set(part.rows.map { samples[$0].label }).count, 1, "mixes the disease classes")
                XCTAssertEqual(Set(part.rows.map { samples[$0].biasFlags[1 - b] }).count, 1, "mixes the other bias")
            }
            XCTAssertEqual(Set(parts.flatMap(\.rows)).count, parts.reduce(0) { $0 + $1.rows.count }, "a sample in two subsets")
        }
        // "bias" is the any-bias target as before: balanced within each disease class.
        guard case .pooled(let any) = plans[0].plan else { return XCTFail() }
        let bias = samples.map { $0.group == 0 ? 0 : 1 }
        XCTAssertEqual(any.map(\.rows), EncodingTable.balancedWithinClass(bias: bias, disease: samples.map(\.label), seed: 3))
        // One bias: "bias" already is that bias; no per-bias target.
        let single = samples.map { sample -> SampleRecord in
            var sample = sample
            sample.biasFlags = [sample.biasFlags[0]]
            return sample
        }
        XCTAssertEqual(EncodingTable.plans(samples: single, biasNames: ["morph"], seed: 3).map(\.name),
                       ["bias", "bias_marginal", "disease"])
    }

    static func probe(_ accuracy: Double, p: Double?, samples: Int?, chance: Double = 0.5) -> EncodingTable.Probe {
        EncodingTable.Probe(accuracy: accuracy, fitSetAccuracy: 1, chance: chance, pValue: p, components: 3, samples: samples)
    }

    /// A table whose raw p-values pass 0.05 in two layers but only one survives Holm.
    static func table(samples: Int = 80, dataset: String = "dataset.h5") -> EncodingTable {
        var table = EncodingTable(layers: ["block1", "block2", "features"], features: [64, 32, 8], pooling: [2, 1, 1],
                                  targets: ["bias": [probe(0.66, p: 0.002, samples: samples), probe(0.6, p: 0.04, samples: samples),
                                                     probe(0.52, p: 0.4, samples: samples)],
                                            "disease": [probe(0.9, p: 1e-30, samples: 400), probe(0.95, p: 1e-40, samples: 400),
                                                        probe(0.97, p: 1e-50, samples: 400)]],
                                  samples: 400, folds: 5, dataset: dataset)
        table.adjustForLayers()
        return table
    }

    func testProbesCarryTheirPowerAndHolmAdjustedPValues() {
        let table = Self.table()
        let bias = table.targets["bias"]!
        for (holm, expected) in zip(bias.map(\.pValueHolm), [0.006, 0.08, 0.4]) { XCTAssertEqual(holm!, expected, accuracy: 1e-15) }
        XCTAssertEqual(bias.map(\.aboveChance), [true, false, false], "above chance must mean Holm p < 0.05")
        // 80 samples at chance ½: 48 correct needed; power 0.720 against 0.625 (scipy) — little power.
        XCTAssertEqual(bias[0].significantAccuracy, 0.6)
        XCTAssertEqual(bias[0].power!, 0.7201890344746384, accuracy: 1e-9)
        XCTAssertEqual(bias[0].lowPower, true)
        XCTAssertEqual(table.targets["disease"]![0].lowPower, false)
        // Too few samples for any accuracy to reach p < 0.05.
        let four = Self.probe(1, p: 0.0625, samples: 4)
        XCTAssertNil(four.significantAccuracy)
        XCTAssertEqual(four.power, 0)
        XCTAssertEqual(four.lowPower, true)
        // Not recorded (an old run file): no power figures, no verdict on power.
        XCTAssertNil(Self.probe(0.6, p: 0.1, samples: nil).power)
        XCTAssertTrue(EncodingTable.power(of: bias, images: 400).contains("80 of 400 test images"))
        XCTAssertTrue(EncodingTable.power(of: bias, images: 400).contains("little power"))
    }

    func testSectionsRoundTripAndNeverReplaceTheRunsOwnEncoding() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("simba-encoding-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try H5File.create(path).close()
        let own = Self.table(dataset: "dataset-nobias.h5"), other = Self.table(samples: 60, dataset: "dataset.h5")
        try own.write(to: path)
        try other.write(to: path, section: .biasedImages)
        XCTAssertEqual(try EncodingTable.read(from: path), own)
        XCTAssertEqual(try EncodingTable.read(from: path, section: .biasedImages), other)
        XCTAssertNil(try EncodingTable.read(from: path, section: .twinImages))
        // A run file from before the counts and Holm values: Holm is computed on reading, counts stay unknown.
        let file = try H5File.open(path, writable: true)
        for target in ["bias", "disease"] {
            let group = try file.root.group("encoding").group(target)
            for name in ["p_value_holm", "samples", "significant_accuracy", "power", "low_power"] { try group.removeLink(name) }
        }
        try file.close()
        let old = try XCTUnwrap(try EncodingTable.read(from: path))
        XCTAssertEqual(old.targets["bias"]!.map(\.pValueHolm), Self.table().targets["bias"]!.map(\.pValueHolm))
        XCTAssertEqual(old.targets["bias"]!.map(\.samples), [nil, nil, nil])
        XCTAssertEqual(old.targets["bias"]!.map(\.lowPower), [nil, nil, nil])
    }

    /// summary.json, the report and the text: counts and power visible, the
    /// twin on the biased images beside the arms, "above chance" on Holm.
    func testReportTextAndSummaryShowCountsPowerHolmAndTheTwinOnBiasedImages() throws {
        let run = TrainedRun(path: "r.h5", config: TrainingConfig(), datasetPath: "d.h5", input: Grid3(2, 2, 2),
                             checkpoint: "/checkpoints/epoch_000001", epoch: 1, parameters: [])
        func arm(_ name: String, _ encoding: EncodingTable, onBiased: EncodingTable? = nil) throws -> ArmSummary {
            ArmSummary(name: name, runFile: "r.h5", dataset: "d.h5", epochsRun: 1, bestEpoch: 1, stopReason: "budget",
                       evaluation: StoredEvaluation(try Fixture.evaluation(), run: run, dataset: "d.h5", settings: Fixture.settings),
                       encoding: encoding, saliency: nil, crossSite: nil,
                       history: TrainingHistory(epochs: [1], trainLoss: [0.7], validationLoss: [0.6], trainAccuracy: [0.5],
                                                validationAccuracy: [0.6], stopReason: "budget", bestEpoch: 1,
                                                strategy: "central", worldSize: 1),
                       encodingOnBiasedImages: onBiased)
        }
        var strong = Self.table(samples: 400)
        strong.targets["bias"] = [Self.probe(0.8, p: 1e-9, samples: 400), Self.probe(0.7, p: 1e-5, samples: 400),
                                  Self.probe(0.55, p: 0.3, samples: 400)]
        strong.adjustForLayers()
        let summary = try ExperimentSummary(experiment: "fixture", ranks: 1, simbaVersion: "test",
                                            arms: [try arm("biased", strong), try arm("twin", Self.table(), onBiased: Self.table(samples: 60))],
                                            settings: Fixture.settings)
        let json = try JSONSerialization.jsonObject(with: try summary.json) as! [String: Any]
        let twin = (json["arms"] as! [[String: Any]])[1]
        let onBiased = try XCTUnwrap(twin["encoding_on_biased_images"] as? [String: Any])
        let bias = ((onBiased["targets"] as! [String: Any])["bias"] as! [[String: Any]])[0]
        XCTAssertEqual(bias["samples"] as? Int, 60)
        XCTAssertEqual(try XCTUnwrap(bias["p_value_holm"] as? Double), 0.006, accuracy: 1e-15)
        XCTAssertEqual(bias["low_power"] as? Bool, true)
        XCTAssertNotNil(bias["significant_accuracy"] as? Double)
        XCTAssertNotNil(bias["power"] as? Double)
        let saved = FileManager.default.temporaryDirectory.appendingPathComponent("simba-summary-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: saved) }
        try summary.json.write(to: saved)
        XCTAssertEqual(try ExperimentSummary.read(from: saved.path).arm("twin")?.encodingOnBiasedImages, Self.table(samples: 60))

        let html = ExperimentReport(summary: summary).html
        XCTAssertTrue(html.contains("twin on biased images"), "the twin on the biased images is not in the report")
        XCTAssertTrue(html.contains("the bias present in the input, the model never trained on it"))
        XCTAssertTrue(html.contains("twin on biased images (little power: points only)"))
        XCTAssertTrue(html.contains("twin: decodable above chance in block1 (80 of 400 test images"), html)
        XCTAssertTrue(html.contains("biased: decodable above chance in block1, block2 (400 of 400 test images"))
        XCTAssertTrue(html.contains("0.040 / 0.080"), "raw and Holm p-values side by side")
        // The disease probes share their samples: one line for the accuracy they need; the bias probes do not.
        XCTAssertTrue(html.contains("needed for p &lt; 0.05 (n = 400)"))
        XCTAssertFalse(html.contains("needed for p &lt; 0.05 (n = 80)"), "arms with different n share no 'needed' line")
        // biased (400 samples, strong) is drawn joined; the twin's points are not.
        XCTAssertFalse(html.contains("biased (little power"))
        // Little power but above chance in every layer: nothing to warn about, the curve is drawn.
        var significant = Self.table()
        significant.targets["bias"] = (0..<3).map { _ in Self.probe(0.7, p: 0.001, samples: 80) }
        significant.adjustForLayers()
        XCTAssertEqual(significant.targets["bias"]![0].lowPower, true)
        XCTAssertFalse(EncodingTable.power(of: significant.targets["bias"]!, images: 400).contains("little power"))

        let text = ResultText.encoding(Self.table())
        XCTAssertTrue(text.contains("bias (any), within each disease class on balanced subsets: 80 of 400 test images"), text)
        XCTAssertTrue(text.contains("little power"), text)
        let block2 = text.split(separator: "\n").first { $0.contains("block2") && $0.contains("0.600") }!
        XCTAssertFalse(block2.contains("*"), "raw p 0.04 is not above chance after Holm: \(block2)")
        XCTAssertTrue(block2.contains("0.040") && block2.contains("0.080"), String(block2))

        let csv = ExperimentReport(summary: summary).csv
        XCTAssertTrue(csv.contains("twin,encoding_biased_images_bias,block1,60,,p_value_holm,0.006,,"), csv)
        XCTAssertTrue(csv.contains("twin,encoding_bias,block1,80,,accuracy,0.66,,"), csv)
    }
}
