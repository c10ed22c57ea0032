import Foundation
import Synthesis

/// A cohort's leakage between regional effects, summarised: how the effects
/// share space and, per pair, the largest and mean change one made in the
/// other's region over the samples in which it acts, with the largest as a
/// share of its yardstick. In `simba inspect`, summary.json and the report.
public struct LeakageSummary: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        public var from: String
        public var into: String
        /// "mm3" or "relative intensity".
        public var unit: String
        public var samples: Int
        public var largest: Double?
        public var mean: Double?
        public var largestShare: Double?
    }

    /// The effects were coupled (`effects.allow_leakage: true`), not confined.
    public var coupled: Bool
    /// The disease's typical volume change (mm³), the yardstick of volume leakage.
    public var typicalDiseaseChange: Double
    public var rows: [Row]

    public init(_ table: LeakageTable, samples: [SampleRecord]) {
        coupled = table.coupled
        typicalDiseaseChange = table.typicalDiseaseChangeMM3
        rows = table.pairs.enumerated().map { index, pair in
            let from = table.effects[pair.from]
            let values = table.column(index)
            let acting = samples.indices.filter { sample in
                sample < values.count && (from.biasIndex.map { samples[sample].biasFlags[$0] } ?? true)
            }.map { values[$0] }
            let largest = acting.max { abs($0) < abs($1) }
            return Row(from: from.description, into: table.effects[pair.into].description, unit: pair.unit.rawValue,
                       samples: acting.count, largest: largest,
                       mean: acting.isEmpty ? nil : acting.reduce(0, +) / Double(acting.count),
                       largestShare: largest.map { table.share($0, of: pair) })
        }
    }

    /// The summary of a dataset; nil when it records no leakage (one
    /// regional effect, or written before leakage was measured).
    public static func read(dataset: String) throws -> LeakageSummary? {
        let reader = try DatasetReader(path: dataset)
        defer { try? reader.close() }
        return try LeakageTable.read(try reader.file.root.group("samples"), config: reader.config)
            .map { LeakageSummary($0, samples: reader.samples) }
    }

    /// The first line: how the effects shared space.
    public var headline: String {
        coupled ? "effects coupled (effects.allow_leakage: true): each effect may change the others' regions, as measured below"
            : "effects confined: each keeps out of the others' regions and their displacement's reach"
    }

    public var table: (header: [String], rows: [[String]]) {
        let header = ["from", "into the region of", "samples", "largest change", "mean change", "largest share"]
        return (header, rows.map { row in
            let volume = row.unit == LeakagePair.Unit.cubicMillimetres.rawValue
            func value(_ number: Double?) -> String {
                guard let number else { return "-" }
                return volume ? String(format: "%+.2f mm³", number) : String(format: "%+.3f%%", 100 * number)
            }
            return [row.from, row.into, String(row.samples), value(row.largest), value(row.mean),
                    row.largestShare.map { String(format: "%.2f%%", 100 * $0) } ?? "-"]
        })
    }

    public var lines: [String] {
        [headline, String(format: "leakage per pair (yardstick for volumes: the disease's typical change, %.0f mm³)",
                          typicalDiseaseChange)] + ResultText.columns(table.header, table.rows)
    }
}
