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

    /// Reads the table back (the inverse of `write`).
    public static func read(_ group: H5Group) throws -> [SampleRecord] {
        let split: [Int32] = try group.dataset("split").read()
        let label: [Int32] = try group.dataset("label").read()
        let site: [Int32] = try group.dataset("site").read()
        let disease: [Double] = try group.dataset("disease_coefficient").read()
        let subjectSet = try group.dataset("subject_coefficients")
        let modes = try subjectSet.shape.last ?? 0
        let subject: [Double] = try subjectSet.read()
        let biasNames = try group.readStrings("bias_names")
        let flags: [[Int32]] = try biasNames.map { try group.dataset("bias_\($0)").read() }
        let coefficients: [[Double]] = try biasNames.map { try group.dataset("bias_\($0)_coefficient").read() }
        let count = label.count
        guard [split.count, site.count, disease.count, subject.count / max(modes, 1)].allSatisfy({ $0 == count }) else {
            throw DatasetError("the /samples columns of \(group.file.path) have different lengths")
        }
        return try (0..<count).map { index in
            guard let splitValue = Split(rawValue: Int(split[index])) else {
                throw DatasetError("sample \(index) has an unknown split \(split[index])")
            }
            return SampleRecord(index: index, split: splitValue, label: Int(label[index]), site: Int(site[index]),
                                biasFlags: flags.map { $0[index] != 0 },
                                biasCoefficients: coefficients.map { $0[index] },
                                subjectCoefficients: Array(subject[index * modes..<(index + 1) * modes]),
                                diseaseCoefficient: disease[index])
        }
    }
}
