import Foundation
import Synthesis

/// What `simba inspect` prints: counts per split × class × bias group and
/// per site, the effect coefficients per class and group, and the Jacobians.
public enum DatasetInspection {
    public static func summary(dataset: String) throws -> String {
        let reader = try DatasetReader(path: dataset)
        defer { try? reader.close() }
        let samples = reader.samples
        let config = reader.config
        let design = try CohortDesign(config)
        var lines: [String] = []
        lines.append("\(dataset): \(samples.count) images, \(reader.variant), grid \(reader.shape.map(String.init).joined(separator: "×")) at \(config.template.voxelMM) mm")
        lines.append("disease: \(config.disease.kind.rawValue) of \(config.disease.region); biases: "
            + (config.biases.isEmpty ? "none" : config.biases.map(\.name).joined(separator: ", ")))
        lines.append("")
        let groups = Array(Set(samples.map(\.group))).sorted()
        let header = ["split", "class"] + groups.map { design.groupName($0) } + ["total"]
        var rows: [[String]] = []
        for split in Split.allCases {
            for label in [1, 0] {
                let cell = samples.filter { $0.split == split && $0.label == label }
                rows.append([split.description, label == 1 ? "disease" : "healthy"]
                    + groups.map { group in String(cell.filter { $0.group == group }.count) } + [String(cell.count)])
            }
        }
        lines += ResultText.columns(header, rows)
        if config.sites.count > 1 {
            lines.append("")
            let siteRows = config.sites.enumerated().map { index, site -> [String] in
                let members = samples.filter { $0.site == index }
                let disease = members.filter { $0.label == 1 }.count
                let share = members.isEmpty ? 0 : Double(disease) / Double(members.count)
                return [site.name, String(members.count), String(format: "%.2f", share),
                        site.heldOut ? "held out (test)" : "", String(format: "γ %.2f, field %.2f, noise %.3f, blur %.1f mm",
                        site.scanner.gamma, site.scanner.biasField, site.scanner.noise, site.scanner.blurMM)]
            }
            lines += ResultText.columns(["site", "images", "disease share", "", "scanner"], siteRows)
        }
        lines.append("")
        var effectRows: [[String]] = []
        for label in [1, 0] {
            for group in groups {
                let cell = samples.filter { $0.label == label && $0.group == group }
                guard !cell.isEmpty else { continue }
                var row = [label == 1 ? "disease" : "healthy", design.groupName(group),
                           meanSD(cell.map(\.diseaseCoefficient)), meanSD(cell.map { $0.subjectCoefficients[0] })]
                for (index, _) in config.biases.enumerated() {
                    let present = cell.filter { $0.biasFlags[index] }
                    row.append(present.isEmpty ? "-" : meanSD(present.map { $0.biasCoefficients[index] }))
                }
                effectRows.append(row)
            }
        }
        lines += ResultText.columns(["class", "group", "disease coef", "subject coef 1"] + config.biases.map { "\($0.name) coef" },
                       effectRows)
        let jacobians: [Float] = try reader.file.root.group("samples").dataset("min_jacobian").read()
        if let smallest = jacobians.min() {
            lines.append("")
            lines.append(String(format: "minimum Jacobian determinant: %.3f (median over samples %.3f)",
                                smallest, jacobians.sorted()[jacobians.count / 2]))
        }
        if let leakage = try LeakageTable.read(try reader.file.root.group("samples"), config: config) {
            lines.append("")
            lines += LeakageSummary(leakage, samples: samples).lines
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func meanSD(_ values: [Double]) -> String {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, values.count - 1))
        return String(format: "%+.2f ± %.2f", mean, variance.squareRoot())
    }
}
