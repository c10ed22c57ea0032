import Analysis
import Foundation

/// Plain-text tables for the terminal.
public enum ResultText {
    public static func table(_ table: MetricTable) -> String {
        let header = ["group", "n"] + table.metrics
        let rows = table.keys.indices.map { row in
            [table.keys[row], String(table.samples[row])] + table.cells[row].map { cell in
                guard let estimate = cell.estimate else { return "–" }
                guard let lower = cell.lower, let upper = cell.upper else { return String(format: "%.3f", estimate) }
                return String(format: "%.3f [%.2f,%.2f]", estimate, lower, upper)
            }
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension ResultText {
    public static func saliency(_ table: SaliencyTable) -> String {
        (["saliency: top regions per bias group and outcome (weighted score)"] + table.cells.indices.map { cell in
            table.counts[cell] == 0 ? "\(table.cells[cell]): no correctly classified test image" :
            "\(table.cells[cell]) (\(table.counts[cell]) images): "
                + table.topRegions(cell, count: 3).map { "\($0.name) \(String(format: "%.1f", $0.score))" }.joined(separator: ", ")
        }).joined(separator: "\n")
    }

    /// One block per target: what it probes, on how many samples and with
    /// what power, then per layer the accuracy, raw and Holm-adjusted p.
    public static func encoding(_ table: EncodingTable) -> String {
        var lines: [String] = []
        for target in table.targets.keys.sorted() {
            let probes = table.targets[target]!
            lines.append(EncodingTable.describe(target) + ": " + EncodingTable.power(of: probes, images: table.samples))
            let rows = table.layers.indices.map { index -> [String] in
                let probe = probes[index]
                let pooled = table.pooling[index] > 1 ? " (pooled \(table.pooling[index])³)" : ""
                return ["  " + table.layers[index], String(table.features[index]) + pooled, probe.samples.map(String.init) ?? "–",
                        (probe.accuracy.map { String(format: "%.3f", $0) } ?? "–") + (probe.aboveChance ? " *" : ""),
                        String(format: "%.2f", probe.chance), pValue(probe.pValue), pValue(probe.pValueHolm)]
            }
            lines += columns(["  layer", "features", "n", "accuracy", "chance", "p", "p (Holm)"], rows)
        }
        return lines.joined(separator: "\n")
            + "\n(* decodable above chance: Holm-adjusted p < 0.05 over the \(table.layers.count) layers of a target, one-sided exact binomial test; \(table.folds)-fold cross-validated on \(table.samples) test images)"
    }

    static func pValue(_ value: Double?) -> String {
        guard let value else { return "–" }
        return value < 0.001 ? String(format: "%.1e", value) : String(format: "%.3f", value)
    }
}

extension ResultText {
    /// The counterfactual comparison in a few lines.
    public static func headline(_ summary: ExperimentSummary) -> String {
        guard !summary.comparisons.isEmpty else { return "no comparison (one arm only)" }
        func text(_ cell: MetricTable.Cell) -> String { cell.signedText }
        let pooled = summary.replicates * summary.cohortReplicates > 1
            ? " (pooled over \(summary.replicates * summary.cohortReplicates) replicates)" : ""
        let comparisons = summary.comparisons.map { c in
            "\(c.arm) vs \(c.against), \(c.group) − \(c.reference): \(c.metric) \(text(c.armDisparity)) vs \(text(c.againstDisparity)); difference \(text(c.difference))"
                + (summary.verdict(on: c)?.holds == nil ? " (not judged: an arm did not learn)"
                    : c.difference.excludesZero ? " (beyond the interval)" : "") + pooled
        }
        let verdicts = summary.verdicts.filter { $0.claim != .learned || $0.holds != true }
            .map { "[\($0.outcome)] \($0.text)" }
        return (comparisons + (verdicts.isEmpty ? [] : ["verdicts:"] + verdicts)).joined(separator: "\n")
    }
}

extension ResultText {
    /// Left-aligned text table, one line per row.
    public static func columns(_ header: [String], _ rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
