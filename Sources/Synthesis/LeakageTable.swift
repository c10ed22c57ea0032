import Storage

/// Every sample's leakage between regional effects, as stored in
/// `/samples`: `leakage` (N × pairs), `leakage_from` and `leakage_into`
/// (the effects' names: "disease" or a bias's name), `leakage_unit`, and
/// the disease's typical volume change as the yardstick.
public struct LeakageTable: Sendable {
    public let effects: [RegionalEffect]
    public let pairs: [LeakagePair]
    public let samples: Int
    /// Row-major, sample by sample.
    public var values: [Double]
    public let typicalDiseaseChangeMM3: Double
    /// The effects were coupled (`effects.allow_leakage`), not confined.
    public let coupled: Bool

    public init(config: CohortConfig, samples: Int, typicalDiseaseChangeMM3: Double) {
        effects = config.regionalEffects
        pairs = LeakagePair.all(effects)
        self.samples = samples
        values = [Double](repeating: 0, count: samples * pairs.count)
        self.typicalDiseaseChangeMM3 = typicalDiseaseChangeMM3
        coupled = config.effects.allowLeakage
    }

    /// The values of one pair, sample by sample.
    public func column(_ pair: Int) -> [Double] {
        (0..<samples).map { values[$0 * pairs.count + pair] }
    }

    /// A value as a share of its yardstick: the disease's typical volume
    /// change for volumes, the effect's own change for intensities.
    public func share(_ value: Double, of pair: LeakagePair) -> Double {
        switch pair.unit {
        case .cubicMillimetres: return abs(value) / max(typicalDiseaseChangeMM3, 1e-12)
        case .relativeIntensity: return abs(value) / max(abs(effects[pair.from].signedStrength), 1e-12)
        }
    }

    func write(to group: H5Group) throws {
        guard !pairs.isEmpty else { return }
        try group.writeDataset("leakage", values, shape: [samples, pairs.count])
        try group.writeStrings("leakage_from", pairs.map { effects[$0.from].name })
        try group.writeStrings("leakage_into", pairs.map { effects[$0.into].name })
        try group.writeStrings("leakage_unit", pairs.map(\.unit.rawValue))
        try group.setAttribute("typical_disease_change_mm3", typicalDiseaseChangeMM3)
        try group.setAttribute("leakage_meaning", "leakage[i, p]: how much effect leakage_from[p] changed the region of "
            + "effect leakage_into[p] in sample i (template space): volume change in mm3, or mean relative intensity change")
    }

    /// The table of a dataset's `/samples` group; nil for files written
    /// before leakage was measured (or with one regional effect).
    public static func read(_ group: H5Group, config: CohortConfig) throws -> LeakageTable? {
        guard group.contains("leakage") else { return nil }
        let values: [Double] = try group.dataset("leakage").read()
        let typical = try group.attribute("typical_disease_change_mm3", as: Double.self)
        let pairs = LeakagePair.all(config.regionalEffects).count
        guard pairs > 0, values.count % pairs == 0 else {
            throw DatasetError("\(group.file.path): /samples/leakage does not match the configuration's effects")
        }
        var table = LeakageTable(config: config, samples: values.count / pairs, typicalDiseaseChangeMM3: typical)
        table.values = values
        return table
    }
}
