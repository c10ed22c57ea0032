import Storage

/// The `/samples` group: one 1-D dataset per property (2-D for the subject
/// coefficients), N rows in sample order, readable as a table in pandas.
public enum SampleColumns {
    static func write(_ samples: [SampleRecord], config: CohortConfig, minimumJacobians: [Float],
                      leakage: LeakageTable, to group: H5Group) throws {
        try group.writeDataset("index", samples.map { Int64($0.index) })
        try group.writeDataset("split", samples.map { Int32($0.split.rawValue) })
        try group.writeStrings("split_names", Split.allCases.map(\.description))
        try group.writeDataset("label", samples.map { Int32($0.label) })
        try group.writeDataset("site", samples.map { Int32($0.site) })
        try group.writeDataset("group", samples.map { Int32($0.group) })
        try group.writeDataset("disease_coefficient", samples.map(\.diseaseCoefficient))
        let modes = config.subject.modes
        try group.writeDataset("subject_coefficients", samples.flatMap(\.subjectCoefficients),
                               shape: [samples.count, modes])
        for (biasIndex, bias) in config.biases.enumerated() {
            try group.writeDataset("bias_\(bias.name)", samples.map { Int32($0.biasFlags[biasIndex] ? 1 : 0) })
            try group.writeDataset("bias_\(bias.name)_coefficient", samples.map { $0.biasCoefficients[biasIndex] })
        }
        try group.writeStrings("bias_names", config.biases.map(\.name))
        try group.writeDataset("min_jacobian", minimumJacobians)
        try leakage.write(to: group)
        // The twin's sample i is this file's sample i: same subject, disease,
        // split and noise.
        try group.writeDataset("twin_index", samples.map { Int64($0.index) })
        try group.setAttribute("label_meaning", "1: disease class, 0: healthy")
        try group.setAttribute("group_meaning", "bit b set when bias b (bias_names[b]) is present")
    }

    /// Reads the table back (the inverse of `write`) for `rows` images of a
    /// cohort made with `config`: every column's shape is checked before it
    /// is read, and every site, class and split number against its range.
    public static func read(_ group: H5Group, rows: Int, config: CohortConfig) throws -> [SampleRecord] {
        func column<T: H5Element>(_ name: String, _ shape: [Int] = [rows]) throws -> [T] {
            try group.read(name, shape: shape, meaning: "one row per image of /images")
        }
        let split: [Int32] = try column("split")
        let label: [Int32] = try column("label")
        let site: [Int32] = try column("site")
        let disease: [Double] = try column("disease_coefficient")
        let modes = config.subject.modes
        let subject: [Double] = try column("subject_coefficients", [rows, modes])
        let biasNames = try group.readStrings("bias_names")
        guard biasNames == config.biases.map(\.name) else {
            throw DatasetError("\(group.file.path): /samples/bias_names \(biasNames) differ from the configuration's biases")
        }
        let flags: [[Int32]] = try biasNames.map { try column("bias_\($0)") }
        let coefficients: [[Double]] = try biasNames.map { try column("bias_\($0)_coefficient") }
        return try (0..<rows).map { index in
            guard let splitValue = Split(rawValue: Int(split[index])) else {
                throw DatasetError("\(group.file.path): sample \(index) has an unknown split \(split[index])")
            }
            guard (0...1).contains(label[index]) else {
                throw DatasetError("\(group.file.path): sample \(index) has class \(label[index]), expected 0 or 1")
            }
            guard (0..<Int32(config.sites.count)).contains(site[index]) else {
                throw DatasetError("\(group.file.path): sample \(index) is from site \(site[index]), "
                    + "but the cohort has \(config.sites.count) site(s) (0 to \(config.sites.count - 1))")
            }
            return SampleRecord(index: index, split: splitValue, label: Int(label[index]), site: Int(site[index]),
                                biasFlags: flags.map { $0[index] != 0 },
                                biasCoefficients: coefficients.map { $0[index] },
                                subjectCoefficients: Array(subject[index * modes..<(index + 1) * modes]),
                                diseaseCoefficient: disease[index])
        }
    }
}
