import Randomness

/// The test subjects of one cohort, shared by every model tested on them.
public struct BootstrapCohort: Sendable, Equatable {
    public let sampleCount: Int
    /// Index sets resampled independently, each keeping its size (as in
    /// `Bootstrap.percentileIntervals`).
    public let strata: [[Int]]

    public init(sampleCount: Int, strata: [[Int]]) {
        self.sampleCount = sampleCount
        self.strata = strata
    }
}

extension Bootstrap {
    /// Percentile intervals of statistics averaged over replicated units
    /// (say, the same arm trained with several seeds), resampled at every
    /// level the design varies:
    ///   1. cohorts (regenerated from other seeds), with replacement;
    ///   2. in each drawn cohort, its test subjects, once (every unit of the
    ///      cohort was tested on the same subjects, so they share the draw);
    ///   3. the cohort's units (training replicates), with replacement.
    /// A resample's value is the mean over its drawn units; the estimate is
    /// the mean of every unit's statistic on all subjects. A level with one
    /// member is not drawn, so one unit on one cohort gives exactly the
    /// intervals of `percentileIntervals` with the same settings.
    ///
    /// - Parameters:
    ///   - unitCohorts: the cohort of each unit (indices into `cohorts`);
    ///     every cohort needs at least one unit.
    ///   - statistics: unit u's statistics under a multiplicity vector of its
    ///     cohort's samples; nil where undefined (that unit is left out of
    ///     the mean).
    public static func replicatedIntervals(
        cohorts: [BootstrapCohort],
        unitCohorts: [Int],
        settings: BootstrapSettings,
        statistics: (_ unit: Int, _ multiplicity: [Double]) -> [Double?]
    ) throws -> [ConfidenceInterval] {
        try settings.validate()
        guard !cohorts.isEmpty else { throw AnalysisError.invalidSetting("a replicated bootstrap needs at least one cohort") }
        let unitsOf = cohorts.indices.map { cohort in unitCohorts.indices.filter { unitCohorts[$0] == cohort } }
        if let empty = unitsOf.firstIndex(where: \.isEmpty) {
            throw AnalysisError.invalidSetting("cohort \(empty) of a replicated bootstrap has no unit")
        }
        guard unitCohorts.allSatisfy({ cohorts.indices.contains($0) }) else {
            throw AnalysisError.invalidSetting("a unit names a cohort outside 0..<\(cohorts.count)")
        }
        var multiplicities = cohorts.map { cohort in
            var ones = [Double](repeating: 0, count: cohort.sampleCount)
            for stratum in cohort.strata { for index in stratum { ones[index] = 1 } }
            return ones
        }
        var estimate = MeanAccumulator()
        for unit in unitCohorts.indices { estimate.add(statistics(unit, multiplicities[unitCohorts[unit]])) }
        let estimates = estimate.means
        var values = Array(repeating: [Double](), count: estimates.count)
        var generator = SeededGenerator(seed: settings.seed)
        func draw(_ count: Int) -> Int { count == 1 ? 0 : generator.nextIndex(below: count) }

        for _ in 0..<settings.resamples {
            var resample = MeanAccumulator()
            for _ in cohorts.indices {
                let cohort = draw(cohorts.count)
                for index in multiplicities[cohort].indices { multiplicities[cohort][index] = 0 }
                for stratum in cohorts[cohort].strata where !stratum.isEmpty {
                    for _ in stratum.indices { multiplicities[cohort][stratum[generator.nextIndex(below: stratum.count)]] += 1 }
                }
                let units = unitsOf[cohort]
                for _ in units.indices {
                    let unit = units[draw(units.count)]
                    resample.add(statistics(unit, multiplicities[cohort]))
                }
            }
            for (statistic, value) in resample.means.enumerated() {
                if let value, value.isFinite { values[statistic].append(value) }
            }
        }
        let tail = (1 - settings.confidenceLevel) / 2
        return zip(estimates, values).map { estimate, values in
            let sorted = values.sorted()
            return ConfidenceInterval(estimate: estimate, lower: percentile(sorted: sorted, fraction: tail),
                                      upper: percentile(sorted: sorted, fraction: 1 - tail),
                                      confidenceLevel: settings.confidenceLevel,
                                      resamplesUsed: sorted.count, resamplesRequested: settings.resamples)
        }
    }
}

/// Means of statistic vectors, each statistic over the vectors where it is defined.
private struct MeanAccumulator {
    var sums: [Double] = []
    var counts: [Int] = []

    mutating func add(_ values: [Double?]) {
        if sums.isEmpty {
            sums = Array(repeating: 0, count: values.count)
            counts = Array(repeating: 0, count: values.count)
        }
        for (index, value) in values.enumerated() {
            if let value, value.isFinite {
                sums[index] += value
                counts[index] += 1
            }
        }
    }

    var means: [Double?] { zip(sums, counts).map { $1 > 0 ? $0 / Double($1) : nil } }
}
