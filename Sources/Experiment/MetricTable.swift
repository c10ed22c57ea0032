import Analysis
import Storage

/// A table of metrics with intervals, in the plain form that run files,
/// summary.json, CSV files and the report share: one row per key (overall,
/// a bias group, a site, a disparity), one column per metric.
public struct MetricTable: Codable, Sendable, Equatable {
    public struct Cell: Codable, Sendable, Equatable {
        /// nil where undefined (e.g. TPR of a group without positives).
        public var estimate: Double?
        public var lower: Double?
        public var upper: Double?

        public init(estimate: Double?, lower: Double?, upper: Double?) {
            self.estimate = estimate
            self.lower = lower
            self.upper = upper
        }

        init(_ interval: ConfidenceInterval) {
            self.init(estimate: interval.estimate, lower: interval.lower, upper: interval.upper)
        }

        /// "+0.139 [+0.062, +0.266]": signed, for differences.
        public var signedText: String {
            guard let estimate else { return "–" }
            guard let lower, let upper else { return String(format: "%+.3f", estimate) }
            return String(format: "%+.3f [%+.3f, %+.3f]", estimate, lower, upper)
        }

        /// Whether the interval lies entirely above or below zero.
        public var excludesZero: Bool {
            guard let lower, let upper else { return false }
            return lower > 0 || upper < 0
        }
    }

    public var keys: [String]
    /// Metric column names (TPR, FPR, …).
    public var metrics: [String]
    public var samples: [Int]
    public var positives: [Int]
    /// cells[row][column]
    public var cells: [[Cell]]

    public init(keys: [String], metrics: [String], samples: [Int], positives: [Int], cells: [[Cell]]) {
        self.keys = keys
        self.metrics = metrics
        self.samples = samples
        self.positives = positives
        self.cells = cells
    }

    public init(_ table: SubgroupTable) {
        keys = table.rows.map(\.key)
        metrics = table.metrics.map(\.abbreviation)
        samples = table.rows.map(\.sampleCount)
        positives = table.rows.map(\.positiveCount)
        cells = table.rows.map { row in table.metrics.map { Cell(row.metrics[$0]!) } }
    }

    public func cell(_ key: String, _ metric: String) -> Cell? {
        guard let row = keys.firstIndex(of: key), let column = metrics.firstIndex(of: metric) else { return nil }
        return cells[row][column]
    }

    // MARK: HDF5

    /// Writes the table into a new group `name` of `parent`: key, metric
    /// (strings), samples, positives and estimate, lower, upper [rows × metrics]
    /// with NaN where undefined.
    func write(into parent: H5Group, name: String, description: String) throws {
        let group = try parent.createGroup(name)
        try group.setAttribute("description", description)
        try group.writeStrings("key", keys)
        try group.writeStrings("metric", metrics)
        try group.writeDataset("samples", samples)
        try group.writeDataset("positives", positives)
        let shape = [keys.count, metrics.count]
        for (column, part) in [("estimate", \Cell.estimate), ("lower", \Cell.lower), ("upper", \Cell.upper)] {
            try group.writeDataset(column, cells.flatMap { $0.map { $0[keyPath: part] ?? .nan } }, shape: shape)
        }
    }

    static func read(from parent: H5Group, name: String) throws -> MetricTable {
        let group = try parent.group(name)
        let keys = try group.readStrings("key"), metrics = try group.readStrings("metric")
        func column(_ name: String) throws -> [Double?] {
            try group.dataset(name).read(Double.self).map { $0.isNaN ? nil : $0 }
        }
        let estimate = try column("estimate"), lower = try column("lower"), upper = try column("upper")
        guard estimate.count == keys.count * metrics.count else {
            throw ExperimentError("\(group.path): \(estimate.count) cells for \(keys.count) rows × \(metrics.count) metrics")
        }
        let cells = keys.indices.map { row in
            metrics.indices.map { column in
                let i = row * metrics.count + column
                return Cell(estimate: estimate[i], lower: lower[i], upper: upper[i])
            }
        }
        return MetricTable(keys: keys, metrics: metrics, samples: try group.dataset("samples").read(),
                           positives: try group.dataset("positives").read(), cells: cells)
    }

    // MARK: CSV

    /// One line per row × metric: table, key, samples, positives, metric, estimate, lower, upper.
    public func csvLines(table: String) -> [String] {
        keys.indices.flatMap { row in
            metrics.indices.map { column in
                let cell = cells[row][column]
                return [table, key(row), String(samples[row]), String(positives[row]), metrics[column],
                        csv(cell.estimate), csv(cell.lower), csv(cell.upper)].joined(separator: ",")
            }
        }
    }

    public static let csvHeader = "table,key,samples,positives,metric,estimate,lower,upper"

    private func key(_ row: Int) -> String {
        keys[row].contains(",") || keys[row].contains("\"") ? "\"\(keys[row].replacingOccurrences(of: "\"", with: "\"\""))\"" : keys[row]
    }

    private func csv(_ value: Double?) -> String { value.map { String($0) } ?? "" }
}

extension MetricTable {
    /// Disparities as a table: one row per "group − reference", columns ΔTPR, ΔFPR.
    init(disparities: [GroupDisparity], samples: [String: Int], positives: [String: Int]) {
        let rows = Array(Set(disparities.map { "\($0.group) − \($0.referenceGroup)" })).sorted()
        let metrics = BinaryMetric.allCases.filter { metric in disparities.contains { $0.metric == metric } }
        self.init(
            keys: rows, metrics: metrics.map { "Δ" + $0.abbreviation },
            samples: rows.map { samples[$0] ?? 0 }, positives: rows.map { positives[$0] ?? 0 },
            cells: rows.map { row in
                metrics.map { metric in
                    disparities.first { "\($0.group) − \($0.referenceGroup)" == row && $0.metric == metric }
                        .map { Cell($0.difference) } ?? Cell(estimate: nil, lower: nil, upper: nil)
                }
            })
    }
}
