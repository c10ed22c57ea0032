import Foundation
import Reporting

/// report.html and tables.csv of an experiment, made from its summary.
public struct ExperimentReport {
    public let summary: ExperimentSummary
    /// Example slice montages (caption, PNG bytes).
    public var examples: [(caption: String, png: [UInt8])] = []
    /// Saliency montages (caption, PNG bytes).
    public var saliencyImages: [(caption: String, png: [UInt8])] = []

    public init(summary: ExperimentSummary, examples: [(caption: String, png: [UInt8])] = [],
                saliencyImages: [(caption: String, png: [UInt8])] = []) {
        self.summary = summary
        self.examples = examples
        self.saliencyImages = saliencyImages
    }

    static func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "–" }

    /// "0.853 [0.781, 0.912]"
    static func format(_ cell: MetricTable.Cell) -> String {
        guard let estimate = cell.estimate else { return "–" }
        guard let lower = cell.lower, let upper = cell.upper else { return format(estimate) }
        return "\(format(estimate)) [\(format(lower)), \(format(upper))]"
    }

    public var html: String {
        var report = HTMLReport(title: "simba: \(summary.experiment)")
        if let leakage = summary.leakage, leakage.coupled {
            report.paragraph("Coupled effects (effects.allow_leakage: true): the bias and the disease may change each other's regions, so a disparity below mixes a learned shortcut with a change of the disease region itself. The leakage table says by how much.")
        }
        let level = Int((summary.arms.first?.evaluation.confidenceLevel ?? 0.95) * 100)
        let replicated = summary.replicates * summary.cohortReplicates > 1
        report.paragraph("Arms: \(summary.armNames.joined(separator: ", ")). Trained and evaluated on \(summary.ranks) MPI rank\(summary.ranks == 1 ? "" : "s") by simba \(summary.simbaVersion), \(summary.created). "
            + (replicated ? "Each arm was trained \(summary.replicates) time\(summary.replicates == 1 ? "" : "s") (training seeds seed, seed + 1, …)"
                + (summary.cohortReplicates > 1 ? " on each of \(summary.cohortReplicates) cohorts (cohort seeds seed, seed + 1, …)" : "")
                + "; pooled figures are means over replicates with \(level)% intervals from a bootstrap over \(summary.cohortReplicates > 1 ? "cohorts, " : "")replicates and test subjects, and every replicate's own figure is shown beside them. "
                : "One training run per arm: intervals are \(level)% bootstrap percentile intervals over test subjects only, so they do not include the variation between training seeds (analysis.replicates). ")
            + "Per-arm tables below show the first replicate.")
        verdicts(&report)
        decomposition(&report)
        replicateSpread(&report)
        comparisons(&report)
        leakage(&report)
        subgroups(&report)
        sites(&report)
        crossSite(&report)
        encoding(&report)
        saliency(&report)
        curves(&report)
        memory(&report)
        if !examples.isEmpty {
            report.heading("Example test images")
            report.paragraph("Disease region outlined in red; bias regions in blue, green, yellow.")
            for example in examples { report.image(png: example.png, caption: example.caption) }
        }
        return report.html
    }

    /// The first replicate of every arm (the per-arm tables and charts).
    private var primary: [ArmSummary] { summary.arms.filter { $0.replicate == .first } }

    private func verdicts(_ report: inout HTMLReport) {
        guard !summary.verdicts.isEmpty else { return }
        report.heading("What this experiment shows")
        report.paragraph("Each claim judged on its pooled interval, never on a point estimate. \"not shown\": the interval does not exclude the null; \"not judged\": an arm below the floors (test AUROC ≥ \(String(format: "%.2f", summary.floors.auroc)), balanced accuracy ≥ \(String(format: "%.2f", summary.floors.balancedAccuracy)) in every replicate) did not learn the disease, so its disparities mean nothing.")
        report.table(["claim", "outcome", "what was measured"],
                     summary.verdicts.map { [$0.claim.rawValue.replacingOccurrences(of: "_", with: " "), $0.outcome, $0.text] },
                     caption: "Verdicts")
    }

    private func decomposition(_ report: inout HTMLReport) {
        guard !summary.decomposition.isEmpty else { return }
        report.heading("Where does the disparity come from?")
        report.paragraph("Both models scored on both cohorts' test images (the same subjects with and without the bias). Δ = metric(bias group) − metric(no-bias group). total = Δ(biased model, biased images) − Δ(twin model, twin images); from the images = Δ(twin model, biased images) − Δ(twin model, twin images): what the bias in the input does to a model that never learned it; learned = Δ(biased model, biased images) − Δ(biased model, twin images): what the biased model loses when the bias is taken out of its input — the shortcut.")
        let rows = summary.decomposition.map { d in
            ["\(d.group) − \(d.reference)", d.metric] + [d.biasedModelOnBiasedImages, d.biasedModelOnTwinImages,
                                                         d.twinModelOnBiasedImages, d.twinModelOnTwinImages,
                                                         d.total, d.input, d.learned].map { Self.format($0.pooled) }
        }
        report.table(["groups", "metric", "biased model, biased images", "biased model, twin images",
                      "twin model, biased images", "twin model, twin images", "total", "from the images", "learned"],
                     rows, caption: "Decomposition of the biased arm's disparity (pooled over replicates)", numeric: Set(2...8))
    }

    private func replicateSpread(_ report: inout HTMLReport) {
        let comparisons = summary.comparisons
        guard let replicates = comparisons.first?.replicates, replicates.count > 1 else { return }
        report.heading("Replicates")
        report.paragraph("ΔΔ of every comparison in each replicate (its own subject-bootstrap interval) and pooled. A claim rests on the pooled interval; the spread shows how much one training run can move.")
        var rows = comparisons.map { c in
            ["\(c.arm) vs \(c.against)", "\(c.group) − \(c.reference)", "Δ" + c.metric]
                + c.differenceByReplicate.map(Self.format) + [Self.format(c.difference)]
        }
        rows += summary.decomposition.map { d in
            ["biased, learned part", "\(d.group) − \(d.reference)", d.metric] + d.learned.byReplicate.map(Self.format) + [Self.format(d.learned.pooled)]
        }
        report.table(["comparison", "groups", "metric"] + replicates.map { "replicate \($0.cohort > 1 ? "c\($0.cohort) " : "")\($0.training)" } + ["pooled"],
                     rows, caption: "Replicate spread", numeric: Set(3...(3 + replicates.count)))
    }

    /// Every run's peak resident memory per stage, the largest rank's.
    private func memory(_ report: inout HTMLReport) {
        let runs = summary.arms.filter { $0.memory != nil }
        guard !runs.isEmpty || summary.generationMemory != nil else { return }
        let stages = StageMemory.order.filter { stage in runs.contains { $0.memory!.stages.contains { $0.name == stage } } }
        func gib(_ stage: StageMemory.Stage) -> String { String(format: "%.2f", stage.peakMib / 1024) }
        report.heading("Memory")
        let restarted = (runs.flatMap { $0.memory!.stages } + [summary.generationMemory].compactMap { $0 }).allSatisfy(\.sinceStageStart)
        report.paragraph("Peak resident memory of the largest rank in each stage, GiB"
            + (restarted ? " (each stage's own peak)." : " (where the kernel did not let simba restart the peak, a stage's figure is the process's peak so far: an upper bound).")
            + (summary.generationMemory.map { " Generating the biased cohort: \(gib($0)) GiB per rank." } ?? ""))
        guard !runs.isEmpty else { return }
        report.table(["run"] + stages.map { $0.replacingOccurrences(of: "_", with: " ") },
                     runs.map { run in [run.label] + stages.map { name in run.memory!.stages.first { $0.name == name }.map(gib) ?? "–" } },
                     caption: "Peak resident memory per rank (GiB)", numeric: Set(1...max(stages.count, 1)))
    }

    private func leakage(_ report: inout HTMLReport) {
        guard let leakage = summary.leakage else { return }
        report.heading("Did the effects stay in their regions?")
        report.paragraph(leakage.headline + String(format: ". Per pair of effects, measured in every sample of the biased cohort (template space): the change one made in the other's region; volumes against the disease's typical change of %.0f mm³, intensities against the bias's own change.", leakage.typicalDiseaseChange))
        report.table(leakage.table.header, leakage.table.rows, caption: "Leakage between effects", numeric: [2, 3, 4, 5])
    }

    private func comparisons(_ report: inout HTMLReport) {
        report.heading("Did the bias change the model?")
        guard !summary.comparisons.isEmpty else {
            report.paragraph("No comparison: the experiment has no twin or mitigation arm.")
            return
        }
        report.paragraph("Δ = metric(bias group) − metric(no-bias group) on the same test subjects. ΔΔ = Δ(arm) − Δ(reference arm), paired bootstrap: for biased vs twin it is the disparity the bias itself caused; for a mitigation (reweighed, unlearning, group-models) vs biased, what the mitigation changed, and vs twin, what it left of the bias's effect. A ΔΔ whose interval excludes 0 is marked.")
        let rows = summary.comparisons.map { c in
            ["\(c.arm) vs \(c.against)", "\(c.group) − \(c.reference)", c.metric, Self.format(c.armDisparity),
             Self.format(c.againstDisparity), Self.format(c.difference), c.difference.excludesZero ? "yes" : "no",
             summary.verdict(on: c)?.outcome ?? "–"]
        }
        report.table(["comparison", "groups", "metric", "Δ arm", "Δ reference arm", "ΔΔ", "excludes 0", "verdict"], rows,
                     caption: "Counterfactual disparities", numeric: [3, 4, 5])
    }

    private func subgroups(_ report: inout HTMLReport) {
        report.heading("Test metrics per bias group")
        for arm in primary {
            report.html(table(arm.evaluation.byGroup, caption: "\(arm.name) (checkpoint \(arm.evaluation.checkpoint))"))
            if !arm.evaluation.disparities.keys.isEmpty {
                report.html(table(arm.evaluation.disparities, caption: "\(arm.name): disparities"))
            }
            if let other = arm.otherCohortEvaluation {
                report.html(table(other.byGroup, caption: "\(arm.name) on the other cohort's test images (\((other.dataset as NSString).lastPathComponent))"))
            }
        }
        for metric in ["TPR", "FPR"] {
            let groups = primary.first?.evaluation.byGroup.keys ?? []
            let series = primary.enumerated().map { index, arm in
                let offset = (Double(index) - Double(primary.count - 1) / 2) * 0.12
                let cells = groups.map { arm.evaluation.byGroup.cell($0, metric) }
                return SVGChart.Series(
                    name: arm.name,
                    points: cells.enumerated().map { (x: Double($0.offset) + offset, y: $0.element?.estimate ?? .nan) },
                    intervals: cells.map { (low: $0?.lower ?? .nan, high: $0?.upper ?? .nan) })
            }
            report.chart(SVGChart(title: "\(metric) per bias group", xLabel: "bias group", yLabel: metric,
                                  series: series, categories: groups, lines: false))
        }
    }

    private func sites(_ report: inout HTMLReport) {
        let withSites = primary.filter { $0.evaluation.bySite != nil }
        guard !withSites.isEmpty else { return }
        report.heading("Test metrics per site")
        report.paragraph("A held-out site contributes test images only: its scanner was never seen in training.")
        for arm in withSites {
            report.html(table(arm.evaluation.bySite!, caption: arm.name))
            if let detail = arm.evaluation.bySiteAndGroup {
                report.html(table(detail, caption: "\(arm.name): site × bias group"))
            }
        }
    }

    /// Local arms' matrices: each site's (or bias group's) model on every
    /// site's (group's) test images.
    private func crossSite(_ report: inout HTMLReport) {
        let arms = primary.filter { $0.crossSite != nil }
        guard !arms.isEmpty else { return }
        report.heading("One model per site or bias group")
        report.paragraph("Rows: whose model; columns: whose test images. A local arm's tables above score each test image with its own site's (bias group's) model; a held-out site's images get the mean of all models' scores. Bias-group models start from the biased arm's best model and are fine-tuned on one bias group each. A federated arm with FedBN: each site's model is the best round's global weights with that site's own batch norm (FedBN as deployed), while its tables above, probes and maps are of the global model, which carries the sites' mean batch norm calibrated across sites.")
        for arm in arms {
            let matrix = arm.crossSite!
            let unit = matrix.partition == "bias_group" ? "bias group" : "site"
            for (name, values) in [("accuracy", matrix.accuracy), ("AUROC", matrix.auroc)] {
                report.table(["model of ↓ on test images of →"] + matrix.sites,
                             matrix.sites.indices.map { [matrix.sites[$0]] + values[$0].map(Self.format) },
                             caption: "\(arm.name): \(name) of each \(unit)'s model on each \(unit)'s test images",
                             numeric: Set(1...matrix.sites.count))
            }
        }
    }

    /// The probed tables in report order: each arm's own, then its model on
    /// another cohort's images (the twin on the biased images) beside it.
    var encodingEntries: [(name: String, table: EncodingTable)] {
        primary.flatMap { arm -> [(name: String, table: EncodingTable)] in
            (arm.encoding.map { [(arm.name, $0)] } ?? [])
                + (arm.encodingOnBiasedImages.map { [("\(arm.name) on biased images", $0)] } ?? [])
                + (arm.encodingOnTwinImages.map { [("\(arm.name) on twin images", $0)] } ?? [])
        }
    }

    private func encoding(_ report: inout HTMLReport) {
        let entries = encodingEntries
        guard !entries.isEmpty else { return }
        report.heading("Where is the bias encoded?")
        report.paragraph("Each layer's test-set activations → PCA (99% variance) → logistic regression, cross-validated accuracy. bias: within each disease class on balanced subsets (chance 0.5), so the disease cannot stand in for the bias; bias NAME (several biases): that bias alone, balanced within each disease class and each combination of the other biases, so morphology and intensity can be told apart; site: each site against as many images of the others (the 'secret site classifier'). Chance is dashed. Decodable above chance means a Holm-adjusted p < 0.05 (one-sided exact binomial test of the cross-validated count, Holm over the layers of one arm and one target): with several layers tested, an uncorrected p < 0.05 somewhere is expected by chance alone.")
        if entries.contains(where: { $0.name.hasSuffix(" on biased images") }) {
            report.paragraph("“on biased images”: the model trained on the counterfactual twin cohort, probed on the biased cohort's test images — the bias present in the input, the model never trained on it. What its layers decode there is what the images carry through a network that never needed the bias; what the biased arm decodes beyond that is what training on the bias made it learn.")
        }
        let targets = Set(entries.flatMap { $0.table.targets.keys }).filter { $0 != "bias_marginal" }.sorted()
        for target in targets {
            let probed = entries.filter { $0.table.targets[target] != nil }
            let layers = probed[0].table.layers, pooling = probed[0].table.pooling
            var series = probed.map { entry -> SVGChart.Series in
                let probes = entry.table.targets[target]!
                // Little power where a layer is not above chance: points only, since a fall to chance there means nothing.
                let weak = probes.contains { $0.lowPower == true && !$0.aboveChance }
                return SVGChart.Series(name: entry.name + (weak ? " (little power: points only)" : ""),
                                       points: probes.enumerated().map { (x: Double($0.offset), y: $0.element.accuracy ?? .nan) },
                                       joined: !weak)
            }
            let first = probed[0].table.targets[target]!
            series.append(SVGChart.Series(name: "chance", points: first.enumerated().map { (x: Double($0.offset), y: $0.element.chance) },
                                          dashed: true))
            // The accuracy a probe needs for p < 0.05, when every arm's probe has the same samples.
            let needed = probed.map { $0.table.targets[target]!.map(\.significantAccuracy) }
            if let shared = needed.first, needed.allSatisfy({ $0 == shared }), shared.allSatisfy({ $0 != nil }),
               let samples = first.first?.samples {
                series.append(SVGChart.Series(name: "needed for p < 0.05 (n = \(samples))",
                                              points: shared.enumerated().map { (x: Double($0.offset), y: $0.element!) }, dashed: true))
            }
            report.chart(SVGChart(title: "\(Self.targetTitle(target)) decoded from each layer", xLabel: "layer", yLabel: "accuracy",
                                  series: series, categories: layers))
            report.paragraph(probed.map { entry in
                let probes = entry.table.targets[target]!
                let above = zip(entry.table.layers, probes).filter { $0.1.aboveChance }.map(\.0)
                let verdict = above.isEmpty ? "above chance in no layer" : "decodable above chance in " + above.joined(separator: ", ")
                return "\(entry.name): \(verdict) (\(EncodingTable.power(of: probes, images: entry.table.samples)))."
            }.joined(separator: " "))
            let rows = layers.indices.map { layer in
                [layers[layer] + (layer < pooling.count && pooling[layer] > 1 ? " (pooled \(pooling[layer])³)" : "")]
                    + probed.flatMap { entry -> [String] in
                        guard layer < entry.table.targets[target]!.count else { return ["–", "–", "–"] }
                        let probe = entry.table.targets[target]![layer]
                        return [probe.samples.map(String.init) ?? "–", Self.format(probe.accuracy) + (probe.aboveChance ? " *" : ""),
                                ResultText.pValue(probe.pValue) + " / " + ResultText.pValue(probe.pValueHolm)]
                    }
            }
            report.table(["layer"] + probed.flatMap { ["\($0.name): n", "accuracy", "p / Holm p"] }, rows,
                         caption: "\(Self.targetTitle(target)): cross-validated accuracy on n samples (* above chance: Holm-adjusted p < 0.05 over the \(layers.count) layers)",
                         numeric: Set(1...(3 * probed.count)))
        }
    }

    static func targetTitle(_ target: String) -> String {
        target.hasPrefix("bias:") ? "bias \(target.dropFirst(5)) (alone)" : target
    }

    private func saliency(_ report: inout HTMLReport) {
        let arms = primary.filter { $0.saliency != nil }
        guard !arms.isEmpty else { return }
        report.heading("Where does the model look?")
        report.paragraph("SmoothGrad (20 noisy copies, σ 0.2) of correctly classified test images: TP maps of the disease score, TN maps of the healthy score, averaged per bias group. Regions ranked by weighted score (normalised mean saliency × % of the region above the threshold).")
        var rows: [[String]] = []
        for arm in arms {
            let saliency = arm.saliency!
            for (cell, regions) in zip(saliency.cells.indices, saliency.topRegions) {
                rows.append([arm.name, saliency.cells[cell], String(saliency.images[cell]),
                             regions.isEmpty ? "no correctly classified test image"
                                : regions.map { "\($0.name) \(String(format: "%.1f", $0.weightedScore))" }.joined(separator: ", ")])
            }
        }
        report.table(["arm", "cell", "images", "top regions (weighted score)"], rows, numeric: [2])
        for image in saliencyImages { report.image(png: image.png, caption: image.caption) }
    }

    private func curves(_ report: inout HTMLReport) {
        report.heading("Training")
        report.table(["arm", "epochs", "best epoch", "stopped because"],
                     summary.arms.map { [$0.label, String($0.epochsRun), String($0.bestEpoch), $0.stopReason] })
        for (title, path) in [("validation loss", \TrainingHistory.validationLoss),
                              ("validation accuracy", \TrainingHistory.validationAccuracy)] {
            let series = primary.map { arm in
                SVGChart.Series(name: arm.name, points: zip(arm.history.epochs, arm.history[keyPath: path]).map {
                    (x: Double($0.0), y: $0.1)
                })
            }
            report.chart(SVGChart(title: title, xLabel: "epoch", yLabel: title, series: series))
        }
    }

    private func table(_ table: MetricTable, caption: String) -> String {
        var fragment = HTMLReport(title: "")
        let rows = table.keys.indices.map { row in
            [table.keys[row], String(table.samples[row]), String(table.positives[row])]
                + table.cells[row].map(Self.format)
        }
        fragment.table(["group", "n", "positives"] + table.metrics, rows, caption: caption,
                       numeric: Set(1..<(3 + table.metrics.count)))
        return fragment.bodyHTML
    }

    /// Every table of every arm, one CSV for pandas and R.
    public var csv: String {
        var lines = ["arm," + MetricTable.csvHeader]
        for run in summary.arms {
            // Replicates after the first: the arm's name with the run file's suffix (biased-r2, twin-c2-r3).
            var arm = run
            arm.name = run.name + run.replicate.suffix
            let tables = [("by_group", arm.evaluation.byGroup), ("disparities", arm.evaluation.disparities)]
                + (arm.evaluation.bySite.map { [("by_site", $0)] } ?? [])
                + (arm.evaluation.bySiteAndGroup.map { [("by_site_group", $0)] } ?? [])
                + (arm.otherCohortEvaluation.map { [("other_cohort_by_group", $0.byGroup), ("other_cohort_disparities", $0.disparities)] } ?? [])
            for (name, table) in tables { lines += table.csvLines(table: name).map { "\(arm.name),\($0)" } }
            for (prefix, table) in [("encoding", arm.encoding), ("encoding_biased_images", arm.encodingOnBiasedImages),
                                    ("encoding_twin_images", arm.encodingOnTwinImages)] {
                guard let table else { continue }
                for (target, probes) in table.targets.sorted(by: { $0.key < $1.key }) {
                    for (layer, probe) in zip(table.layers, probes) {
                        // samples: what the probe was tested on (a balanced target's subsets).
                        let samples = probe.samples ?? table.samples
                        for (metric, value) in [("accuracy", probe.accuracy), ("p_value", probe.pValue), ("p_value_holm", probe.pValueHolm),
                                                ("significant_accuracy", probe.significantAccuracy), ("power", probe.power)] {
                            guard metric == "accuracy" || value != nil else { continue }
                            lines.append("\(arm.name),\(prefix)_\(target),\(layer),\(samples),,\(metric),\(value.map { String($0) } ?? ""),,")
                        }
                    }
                }
            }
            if let matrix = arm.crossSite {
                // key: "model of → test images of"
                for (metric, values) in [("accuracy", matrix.accuracy), ("AUROC", matrix.auroc)] {
                    for (model, row) in values.enumerated() {
                        for (test, value) in row.enumerated() {
                            lines.append("\(arm.name),cross_\(matrix.partition),\(matrix.sites[model]) → \(matrix.sites[test]),,,\(metric),\(value.map { String($0) } ?? ""),,")
                        }
                    }
                }
            }
        }
        func values(_ cell: MetricTable.Cell) -> String {
            [cell.estimate, cell.lower, cell.upper].map { $0.map { String($0) } ?? "" }.joined(separator: ",")
        }
        for c in summary.comparisons {
            lines.append("\(c.arm),vs_\(c.against),\(c.group) − \(c.reference),,,Δ\(c.metric),\(values(c.difference))")
            if c.replicates.count > 1 {
                for (replicate, cell) in zip(c.replicates, c.differenceByReplicate) {
                    lines.append("\(c.arm)\(replicate.suffix),vs_\(c.against)_replicate,\(c.group) − \(c.reference),,,Δ\(c.metric),\(values(cell))")
                }
            }
        }
        for d in summary.decomposition {
            for (part, cell) in [("total", d.total), ("from_images", d.input), ("learned", d.learned)] {
                lines.append("biased,decomposition_\(part),\(d.group) − \(d.reference),,,\(d.metric),\(values(cell.pooled))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes report.html, summary.json and tables.csv into `folder`.
    public func write(folder: String, reportName: String = "report.html") throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let paths = [reportName, "summary.json", "tables.csv"].map { (folder as NSString).appendingPathComponent($0) }
        try html.write(toFile: paths[0], atomically: true, encoding: .utf8)
        try summary.json.write(to: URL(fileURLWithPath: paths[1]), options: .atomic)
        try csv.write(toFile: paths[2], atomically: true, encoding: .utf8)
        return paths
    }
}
