/// Which replicate of an arm a run is: the cohort (regenerated from cohort
/// seed + cohort − 1) and the training replicate on it (training seed +
/// training − 1: other initial weights, shuffles and dropout). Both count
/// from 1; replicate (1, 1) is the experiment's own seeds.
public struct Replicate: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var cohort: Int
    public var training: Int

    public init(cohort: Int = 1, training: Int = 1) {
        self.cohort = cohort
        self.training = training
    }

    public static let first = Replicate()

    /// Every replicate of an experiment with `cohorts` cohorts and `trainings` training replicates per cohort.
    public static func all(cohorts: Int, trainings: Int) -> [Replicate] {
        (1...max(cohorts, 1)).flatMap { cohort in (1...max(trainings, 1)).map { Replicate(cohort: cohort, training: $0) } }
    }

    /// File-name suffix: "" for the first, "-r2", "-c2", "-c2-r3".
    public var suffix: String {
        (cohort == 1 ? "" : "-c\(cohort)") + (training == 1 ? "" : "-r\(training)")
    }

    /// The training seed of this replicate, from the experiment's.
    public func trainingSeed(_ base: UInt64) -> UInt64 { base &+ UInt64(training - 1) }
    /// The cohort seed of this replicate, from the experiment's.
    public func cohortSeed(_ base: UInt64) -> UInt64 { base &+ UInt64(cohort - 1) }

    public var description: String { "cohort \(cohort), training \(training)" }

    public static func < (a: Replicate, b: Replicate) -> Bool { (a.cohort, a.training) < (b.cohort, b.training) }
}
