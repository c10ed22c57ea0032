import Foundation
import Synthesis

/// The leakage between a cohort's regional effects as text: how the effects
/// share space, then per pair of effects the largest and mean change one
/// made in the other's region, over the samples in which it acts, and the
/// largest as a share of its yardstick. Used by `simba inspect` and the report.
public enum LeakageSummary {
    public static func lines(_ table: LeakageTable, samples: [SampleRecord]) -> [String] {
        var lines: [String] = []
        if table.coupled {
            lines.append("effects coupled (effects.allow_leakage: true): each effect may change the others' regions, as measured below")
        } else {
            lines.append("effects confined: each keeps out of the others' regions and their displacement's reach")
        }
        lines.append(String(format: "leakage per pair (yardstick for volumes: the disease's typical change, %.0f mm³)",
                            table.typicalDiseaseChangeMM3))
        let rows = table.pairs.enumerated().map { index, pair -> [String] in
            let from = table.effects[pair.from], into = table.effects[pair.into]
            let acting = samples.indices.filter { sample in from.biasIndex.map { samples[sample].biasFlags[$0] } ?? true }
            let values = table.column(index)
            let selected = acting.filter { $0 < values.count }.map { values[$0] }
            guard let largest = selected.max(by: { abs($0) < abs($1) }) else {
                return [from.description, into.description, "0", "-", "-", "-"]
            }
            let mean = selected.reduce(0, +) / Double(selected.count)
            let format = pair.unit == .cubicMillimetres ? "%+.2f mm³" : "%+.3f%%"
            let scale = pair.unit == .cubicMillimetres ? 1.0 : 100.0
            return [from.description, into.description, String(selected.count),
                    String(format: format, scale * largest), String(format: format, scale * mean),
                    String(format: "%.2f%%", 100 * table.share(largest, of: pair))]
        }
        lines += ResultText.columns(["from", "into the region of", "samples", "largest change", "mean change", "largest share"], rows)
        return lines
    }
}
