import Analysis
import Foundation

/// One run file of an experiment: the arm, its replicate, the file.
public struct ArmRunFile: Sendable, Equatable {
    public var name: String
    public var runFile: String
    public var replicate: Replicate

    public init(name: String, runFile: String, replicate: Replicate = .first) {
        self.name = name
        self.runFile = runFile
        self.replicate = replicate
    }

    /// From a run file's name as `simba run` writes them: run-biased.h5 →
    /// biased; run-twin-r2.h5 → twin, training replicate 2; run-twin-c2-r3.h5
    /// → cohort replicate 2, training replicate 3. Other names: the stem.
    public init(path: String) {
        var stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        if stem.hasPrefix("run-") { stem.removeFirst(4) }
        var replicate = Replicate.first
        func take(_ tag: String) -> Int? {
            guard let dash = stem.range(of: "-\(tag)", options: .backwards),
                  let number = Int(stem[dash.upperBound...]), number >= 1, dash.lowerBound > stem.startIndex else { return nil }
            stem = String(stem[..<dash.lowerBound])
            return number
        }
        if let training = take("r") { replicate.training = training }
        if let cohort = take("c") { replicate.cohort = cohort }
        self.init(name: stem, runFile: path, replicate: replicate)
    }
}

/// Paired-disparity statistics measured in every replicate of an
/// experiment: each replicate's intervals (bootstrap over its test
/// subjects) and the pooled ones (mean over replicates, bootstrap over
/// cohorts, training replicates and subjects: `Bootstrap.replicatedIntervals`).
struct ReplicatedEstimate {
    let replicates: [Replicate]
    let pooled: [ConfidenceInterval]
    let byReplicate: [[ConfidenceInterval]]

    /// `units`: one per replicate, models paired on that replicate's test subjects.
    init(units: [(replicate: Replicate, disparities: PairedDisparities)], settings: BootstrapSettings) throws {
        guard !units.isEmpty else { throw ExperimentError("internal error: a replicated estimate without replicates") }
        let cohortNumbers = Array(Set(units.map(\.replicate.cohort))).sorted()
        let cohorts = cohortNumbers.map { number in
            let first = units.first { $0.replicate.cohort == number }!.disparities
            return BootstrapCohort(sampleCount: first.sampleCount, strata: first.strata)
        }
        for unit in units {
            let cohort = cohorts[cohortNumbers.firstIndex(of: unit.replicate.cohort)!]
            guard unit.disparities.sampleCount == cohort.sampleCount, unit.disparities.strata == cohort.strata else {
                throw ExperimentError("the replicates of cohort \(unit.replicate.cohort) were not tested on the same subjects")
            }
        }
        replicates = units.map(\.replicate)
        pooled = try Bootstrap.replicatedIntervals(
            cohorts: cohorts, unitCohorts: units.map { cohortNumbers.firstIndex(of: $0.replicate.cohort)! },
            settings: settings) { unit, multiplicity in units[unit].disparities.statistics(multiplicity: multiplicity) }
        byReplicate = try units.map { unit in
            try Bootstrap.replicatedIntervals(
                cohorts: [BootstrapCohort(sampleCount: unit.disparities.sampleCount, strata: unit.disparities.strata)],
                unitCohorts: [0], settings: settings) { _, multiplicity in unit.disparities.statistics(multiplicity: multiplicity) }
        }
    }

    /// Statistic `index` pooled and per replicate.
    func cell(_ index: Int) -> ReplicatedCell {
        ReplicatedCell(pooled: MetricTable.Cell(pooled[index]), byReplicate: byReplicate.map { MetricTable.Cell($0[index]) })
    }
}

/// A quantity pooled over replicates, and each replicate's own value.
public struct ReplicatedCell: Codable, Sendable, Equatable {
    public var pooled: MetricTable.Cell
    /// In the order of the owning record's `replicates`.
    public var byReplicate: [MetricTable.Cell]
}

/// What an arm must reach before its disparities are judged: a model that
/// did not learn the disease has nothing to be fair or unfair about.
public struct LearningFloors: Codable, Sendable, Equatable {
    public var auroc = 0.8
    /// (TPR + TNR) / 2 at the threshold the evaluation uses.
    public var balancedAccuracy = 0.75

    public init(auroc: Double = 0.8, balancedAccuracy: Double = 0.75) {
        self.auroc = auroc
        self.balancedAccuracy = balancedAccuracy
    }
}
