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

    public static func encoding(_ table: EncodingTable) -> String {
        let targets = table.targets.keys.sorted()
        let column = 33
        var lines = ["layer      features            " + targets.map { "\($0) accuracy (chance)".padding(toLength: column, withPad: " ", startingAt: 0) }.joined()]
        for (index, layer) in table.layers.enumerated() {
            let pooled = table.pooling[index] > 1 ? " (pooled \(table.pooling[index])³)" : ""
            var line = layer.padding(toLength: 11, withPad: " ", startingAt: 0)
                + (String(table.features[index]) + pooled).padding(toLength: 20, withPad: " ", startingAt: 0)
            for target in targets {
                let probe = table.targets[target]![index]
                let mark = (probe.pValue ?? 1) < 0.05 ? " *" : ""
                line += (probe.accuracy.map { String(format: "%.3f", $0) } ?? "–").appending(String(format: " (%.2f)", probe.chance) + mark)
                    .padding(toLength: column, withPad: " ", startingAt: 0)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n(* above chance, one-sided binomial p < 0.05; \(table.folds)-fold cross-validated on \(table.samples) test images)"
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
