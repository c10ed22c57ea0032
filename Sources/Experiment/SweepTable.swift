import Foundation
import Reporting
import Storage

/// One row per experiment of a sweep: the factor's value and the headline
/// figures of its summary.json.
public struct SweepTable: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var cells: [MetricTable.Cell]
    }

    public var factor: String
    public var experiments: [String]
    public var values: [String]
    public var columns: [Column]
    /// Cross-validated bias accuracy per layer of the biased arm [experiment][layer].
    public var layers: [String]
    public var biasEncoding: [[Double?]]
    /// Proximity sweeps: how far each experiment's bias region is from the
    /// disease region, between their closest voxels and their centroids (mm).
    public var distances: [(closestMM: Double, centroidMM: Double)]?

    public static func == (a: SweepTable, b: SweepTable) -> Bool {
        a.factor == b.factor && a.experiments == b.experiments && a.values == b.values && a.columns == b.columns
            && a.layers == b.layers && a.biasEncoding == b.biasEncoding
            && a.distances?.map(\.closestMM) == b.distances?.map(\.closestMM)
            && a.distances?.map(\.centroidMM) == b.distances?.map(\.centroidMM)
    }

    public init(factor: String, experiments: [(name: String, value: String, summary: ExperimentSummary)],
                distances: [(closestMM: Double, centroidMM: Double)]? = nil) {
        self.factor = factor
        self.distances = distances
        self.experiments = experiments.map(\.name)
        values = experiments.map(\.value)
        var columns: [Column] = []
        func add(_ name: String, _ cell: (ExperimentSummary) -> MetricTable.Cell?) {
            let cells = experiments.map { cell($0.summary) ?? MetricTable.Cell(estimate: nil, lower: nil, upper: nil) }
            if cells.contains(where: { $0.estimate != nil }) { columns.append(Column(name: name, cells: cells)) }
        }
        for (arm, against) in Self.comparisons {
            for metric in ["ΔTPR", "ΔFPR"] {
                add("\(arm) vs \(against) Δ\(metric)") { summary in
                    summary.comparisons.first { $0.arm == arm && $0.against == against && $0.metric == metric }?.difference
                }
            }
        }
        for arm in ArmName.all {
            for metric in ["ΔTPR", "ΔFPR"] {
                add("\(arm) \(metric)") { summary in
                    summary.arm(arm)?.evaluation.disparities.cells.first.flatMap { row in
                        summary.arm(arm)?.evaluation.disparities.metrics.firstIndex(of: metric).map { row[$0] }
                    }
                }
            }
            add("\(arm) AUROC") { $0.arm(arm)?.evaluation.byGroup.cell("all", "AUROC") }
            add("\(arm) ACC") { $0.arm(arm)?.evaluation.byGroup.cell("all", "ACC") }
        }
        self.columns = columns
        layers = experiments.first?.summary.arm(ArmName.biased)?.encoding?.layers ?? []
        biasEncoding = experiments.map { item in
            let probes = item.summary.arm(ArmName.biased)?.encoding?.targets["bias"] ?? []
            return probes.map(\.accuracy)
        }
    }

    /// The pairs of arms whose disparities a sweep compares (ΔΔ pooled
    /// over replicates): the shortcut, what reweighing removed, and each
    /// site strategy against pooled training.
    static let comparisons = [(ArmName.biased, ArmName.twin), (ArmName.reweighed, ArmName.biased)]
        + ArmName.strategies.filter { $0 != ArmName.central }.map { ($0, ArmName.central) }

    // MARK: files

    public var csv: String {
        var lines = ["experiment,\(factor),column,estimate,lower,upper"]
        func number(_ value: Double?) -> String { value.map { String($0) } ?? "" }
        for (row, experiment) in experiments.enumerated() {
            for column in columns {
                let cell = column.cells[row]
                lines.append("\(experiment),\(values[row]),\(column.name),\(number(cell.estimate)),\(number(cell.lower)),\(number(cell.upper))")
            }
            if let distance = distances?[row] {
                lines.append("\(experiment),\(values[row]),distance closest mm,\(distance.closestMM),,")
                lines.append("\(experiment),\(values[row]),distance centroid mm,\(distance.centroidMM),,")
            }
            for (layer, accuracy) in zip(layers, biasEncoding[row]) {
                lines.append("\(experiment),\(values[row]),biased bias encoding \(layer),\(number(accuracy)),,")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// sweep.h5: value and experiment per row; per column estimate, lower,
    /// upper; bias_encoding [experiments × layers].
    public func writeHDF5(_ path: String) throws {
        let file = try H5File.create(path, existing: .overwrite)
        let root = try file.root
        try root.setAttribute("format", "simba-sweep")
        try root.setAttribute("factor", factor)
        try root.setAttribute("units", "differences of rates (fractions) between bias groups; NaN: undefined")
        try root.writeStrings("experiment", experiments)
        try root.writeStrings("value", values)
        try root.writeStrings("column", columns.map(\.name))
        let shape = [experiments.count, columns.count]
        for (name, part) in [("estimate", \MetricTable.Cell.estimate), ("lower", \MetricTable.Cell.lower), ("upper", \MetricTable.Cell.upper)] {
            let values = experiments.indices.flatMap { row in columns.map { $0.cells[row][keyPath: part] ?? .nan } }
            try root.writeDataset(name, values, shape: shape)
        }
        if let distances {
            try root.writeDataset("distance_closest_mm", distances.map(\.closestMM))
            try root.writeDataset("distance_centroid_mm", distances.map(\.centroidMM))
        }
        if !layers.isEmpty {
            try root.writeStrings("layer", layers)
            try root.writeDataset("bias_encoding", biasEncoding.flatMap { $0.map { $0 ?? .nan } },
                                  shape: [experiments.count, layers.count])
        }
        try file.close()
    }

    public var html: String {
        var report = HTMLReport(title: "simba sweep over \(factor)")
        report.paragraph("Each \(factor) value is a whole counterfactual experiment (its own folder, report and summary.json). Intervals: paired bootstrap over the test subjects.")
        let numeric = values.allSatisfy { Double($0) != nil }
        let xs = values.enumerated().map { numeric ? Double($0.element)! : Double($0.offset) }
        let categories = numeric ? nil : values
        func series(_ column: Column) -> SVGChart.Series {
            SVGChart.Series(name: column.name, points: zip(xs, column.cells).map { (x: $0, y: $1.estimate ?? .nan) },
                            intervals: column.cells.map { (low: $0.lower ?? .nan, high: $0.upper ?? .nan) })
        }
        for prefix in Self.comparisons.map({ "\($0.0) vs \($0.1)" }) {
            let chosen = columns.filter { $0.name.hasPrefix(prefix) }
            guard !chosen.isEmpty else { continue }
            let series = chosen.map { series($0) }
            report.chart(SVGChart(title: "\(prefix): ΔΔ per \(factor)", xLabel: factor, yLabel: "ΔΔ", series: series,
                                  categories: categories))
        }
        let aurocs = columns.filter { $0.name.hasSuffix(" AUROC") }
        if aurocs.count > 1 {
            let series = aurocs.map { series($0) }
            report.chart(SVGChart(title: "test AUROC per arm (first replicate)", xLabel: factor, yLabel: "AUROC",
                                  series: series, categories: categories))
        }
        if !layers.isEmpty {
            let series = layers.indices.map { layer in
                SVGChart.Series(name: layers[layer], points: zip(xs, biasEncoding).map { (x: $0, y: $1[layer] ?? .nan) })
            }
            report.chart(SVGChart(title: "bias decoded from the biased model's layers", xLabel: factor,
                                  yLabel: "balanced accuracy", series: series, categories: categories))
        }
        let distanceColumns = distances == nil ? [] : ["closest mm", "centroids mm"]
        let rows = experiments.indices.map { row in
            [experiments[row], values[row]]
                + (distances.map { [String(format: "%.1f", $0[row].closestMM), String(format: "%.1f", $0[row].centroidMM)] } ?? [])
                + columns.map { ExperimentReport.format($0.cells[row]) }
        }
        report.table(["experiment", factor] + distanceColumns + columns.map(\.name), rows, caption: "Sweep table",
                     numeric: Set(2..<(2 + distanceColumns.count + columns.count)))
        return report.html
    }

    /// Writes sweep.h5, sweep.csv and sweep.html into `folder`.
    public func write(folder: String) throws -> [String] {
        let paths = ["sweep.h5", "sweep.csv", "sweep.html"].map { (folder as NSString).appendingPathComponent($0) }
        try writeHDF5(paths[0])
        try csv.write(toFile: paths[1], atomically: true, encoding: .utf8)
        try html.write(toFile: paths[2], atomically: true, encoding: .utf8)
        return paths
    }
}
