import Randomness
import YAMLConfig

/// Which part of the experiment a sample belongs to.
public enum Split: Int, CaseIterable, Sendable, CustomStringConvertible {
    case train = 0, validation = 1, test = 2
    public var description: String { ["train", "validation", "test"][rawValue] }
}

/// Everything that decides one sample's image: a row of `/samples`.
public struct SampleRecord: Equatable, Sendable {
    public var index: Int
    public var split: Split
    /// 1: disease class, 0: healthy.
    public var label: Int
    public var site: Int
    /// Whether the sample carries each bias of the configuration.
    public var biasFlags: [Bool]
    /// Each bias's coefficient (morphological: its shape coefficient;
    /// intensity: 1 when present). 0 where the bias is absent.
    public var biasCoefficients: [Double]
    public var subjectCoefficients: [Double]
    public var diseaseCoefficient: Double

    /// Public so that a table can be made outside a design (see
    /// `DatasetWriter.init(path:overwrite:communicator:config:samples:…)`).
    public init(index: Int, split: Split, label: Int, site: Int, biasFlags: [Bool], biasCoefficients: [Double],
                subjectCoefficients: [Double], diseaseCoefficient: Double) {
        self.index = index
        self.split = split
        self.label = label
        self.site = site
        self.biasFlags = biasFlags
        self.biasCoefficients = biasCoefficients
        self.subjectCoefficients = subjectCoefficients
        self.diseaseCoefficient = diseaseCoefficient
    }

    /// The combined bias group: bit b set when bias b is present
    /// (one bias: 0 no bias, 1 bias; two: 0 none, 1, 2, 3 both).
    public var group: Int {
        biasFlags.enumerated().reduce(0) { $0 | ($1.element ? 1 << $1.offset : 0) }
    }
}

/// The cohort's sample table: a pure function of the configuration (and so
/// identical on every rank). Counts follow the prevalences by largest
/// remainders; within every cell (site × class × bias group) coefficients
/// are drawn stratified over their quantiles, and splits are interleaved
/// along the disease coefficient, so coefficient distributions match across
/// classes, bias groups, sites and splits (SimBA's stratification goal,
/// reached by construction rather than binning).
public struct CohortDesign: Sendable {
    public let config: CohortConfig
    public let samples: [SampleRecord]

    public init(_ config: CohortConfig) throws {
        self.config = config
        var generator = SeededGenerator(seed: config.seed, stream: 0, "design")
        var cells = try Self.cells(config)
        var splitDeficit = [Double](repeating: 0, count: Split.allCases.count)
        var records: [SampleRecord] = []
        records.reserveCapacity(config.cohort.size)
        for cell in cells.indices {
            records += Self.draw(cell: &cells[cell], config: config, splitDeficit: &splitDeficit,
                                 generator: &generator)
        }
        records.deterministicShuffle(using: &generator)
        for index in records.indices { records[index].index = index }
        samples = records
        try checkStrata()
    }

    struct Cell {
        let site: Int
        let label: Int
        let group: Int
        let count: Int
    }

    /// Sample counts per site, class and bias group.
    static func cells(_ config: CohortConfig) throws -> [Cell] {
        let siteCounts = apportion(config.cohort.size, weights: config.sites.map(\.weight))
        var cells: [Cell] = []
        for (siteIndex, site) in config.sites.enumerated() {
            let diseaseShare = site.diseasePrevalence ?? config.cohort.diseasePrevalence
            let classCounts = apportion(siteCounts[siteIndex], weights: [1 - diseaseShare, diseaseShare])
            for label in 0...1 {
                let prevalences = config.biases.map { bias in
                    (site.biasPrevalence[bias.name] ?? bias.prevalence).forClass(label)
                }
                let groupShares = (0..<(1 << config.biases.count)).map { group in
                    prevalences.enumerated().reduce(1.0) { share, bias in
                        share * ((group >> bias.offset) & 1 == 1 ? bias.element : 1 - bias.element)
                    }
                }
                let groupCounts = apportion(classCounts[label], weights: groupShares)
                for (group, count) in groupCounts.enumerated() where count > 0 {
                    cells.append(Cell(site: siteIndex, label: label, group: group, count: count))
                }
            }
        }
        return cells
    }

    private static func draw(cell: inout Cell, config: CohortConfig, splitDeficit: inout [Double],
                             generator: inout SeededGenerator) -> [SampleRecord] {
        let count = cell.count
        let disease = config.disease.coefficient.forClass(cell.label).distribution
            .stratifiedSample(count: count, using: &generator)
        let subjectDistribution = NormalDistribution(mean: 0, deviation: 1, truncatedAt: config.subject.truncation)
        let subject = (0..<config.subject.modes).map { _ in
            subjectDistribution.stratifiedSample(count: count, using: &generator)
        }
        let biasCoefficients: [[Double]] = config.biases.enumerated().map { biasIndex, bias in
            guard (cell.group >> biasIndex) & 1 == 1 else { return [Double](repeating: 0, count: count) }
            if case .morphological(_, _, _, let coefficient, _) = bias.effect {
                return coefficient.distribution.stratifiedSample(count: count, using: &generator)
            }
            return [Double](repeating: 1, count: count)
        }
        let splits: [Split]
        if config.sites[cell.site].heldOut {
            splits = [Split](repeating: .test, count: count)
        } else {
            splits = interleavedSplits(count: count, fractions: config.cohort.splits.asArray, deficit: &splitDeficit)
        }
        // Splits interleave along the disease coefficient: each split gets
        // a spread of the whole range.
        let order = disease.indices.sorted { disease[$0] < disease[$1] }
        return order.enumerated().map { position, sample in
            SampleRecord(index: 0, split: splits[position], label: cell.label, site: cell.site,
                         biasFlags: config.biases.indices.map { (cell.group >> $0) & 1 == 1 },
                         biasCoefficients: biasCoefficients.map { $0[sample] },
                         subjectCoefficients: subject.map { $0[sample] },
                         diseaseCoefficient: disease[sample])
        }
    }

    /// Split labels for one cell, in order: counts by largest remainder
    /// (ties go to the split the whole cohort is shortest of, and every split
    /// with a share gets a sample when the cell is big enough), spread
    /// evenly through the sequence.
    static func interleavedSplits(count: Int, fractions: [Double], deficit: inout [Double]) -> [Split] {
        let active = fractions.indices.filter { fractions[$0] > 0 }
        var counts = fractions.map { Int(Double(count) * $0) }
        if count >= active.count {
            for split in active where counts[split] == 0 { counts[split] = 1 }
        }
        while counts.reduce(0, +) > count, let largest = counts.indices.max(by: { counts[$0] < counts[$1] }) {
            counts[largest] -= 1
        }
        while counts.reduce(0, +) < count {
            let next = active.max { a, b in
                let keyA = Double(count) * fractions[a] - Double(counts[a]) + 1e-3 * deficit[a]
                let keyB = Double(count) * fractions[b] - Double(counts[b]) + 1e-3 * deficit[b]
                return keyA < keyB || (keyA == keyB && a > b)
            }!
            counts[next] += 1
        }
        for split in fractions.indices { deficit[split] += Double(count) * fractions[split] - Double(counts[split]) }
        // Error diffusion: at each position take the split furthest behind its share.
        var assigned = [Int](repeating: 0, count: fractions.count)
        return (0..<count).map { position in
            let split = active.max { a, b in
                let behindA = Double(counts[a]) * Double(position + 1) / Double(count) - Double(assigned[a])
                let behindB = Double(counts[b]) * Double(position + 1) / Double(count) - Double(assigned[b])
                return behindA < behindB || (behindA == behindB && a > b)
            }!
            assigned[split] += 1
            return Split(rawValue: split)!
        }
    }

    /// Every class × bias-group combination must reach every split that has
    /// a share, or the bias cannot be trained on, tuned and measured.
    private func checkStrata() throws {
        let activeSplits = Split.allCases.filter { config.cohort.splits.asArray[$0.rawValue] > 0 }
        let trainingSamples = samples.filter { !config.sites[$0.site].heldOut }
        let combinations = Set(trainingSamples.map { [$0.label, $0.group] })
        for combination in combinations.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let members = trainingSamples.filter { [$0.label, $0.group] == combination }
            let present = Set(members.map(\.split))
            if let missing = activeSplits.first(where: { !present.contains($0) }) {
                throw ConfigError("cohort.size", "\(config.cohort.size) samples are too few for the strata: "
                    + "\(describeCell(label: combination[0], group: combination[1])) has \(members.count) "
                    + "and none in the \(missing) split; raise the size or change the prevalences")
            }
        }
    }

    public func describeCell(label: Int, group: Int) -> String {
        let className = label == 1 ? "disease" : "healthy"
        return "the \(className) class with \(groupName(group))"
    }

    /// "no bias", "bias morph", "biases morph+contrast".
    public func groupName(_ group: Int) -> String {
        let names = config.biases.indices.filter { (group >> $0) & 1 == 1 }.map { config.biases[$0].name }
        switch names.count {
        case 0: return "no bias"
        case 1: return "bias \(names[0])"
        default: return "biases \(names.joined(separator: "+"))"
        }
    }
}

/// Splits `total` into integers proportional to `weights` (largest
/// remainders; ties to the lower index), summing exactly to `total`.
func apportion(_ total: Int, weights: [Double]) -> [Int] {
    let sum = weights.reduce(0, +)
    guard sum > 0, total > 0 else { return [Int](repeating: 0, count: weights.count) }
    let exact = weights.map { Double(total) * $0 / sum }
    var counts = exact.map { Int($0.rounded(.down)) }
    let order = exact.indices.sorted { a, b in
        let ra = exact[a] - Double(counts[a]), rb = exact[b] - Double(counts[b])
        return ra > rb || (ra == rb && a < b)
    }
    for index in order.prefix(total - counts.reduce(0, +)) { counts[index] += 1 }
    return counts
}
