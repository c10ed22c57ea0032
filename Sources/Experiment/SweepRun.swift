import Cluster
import Foundation
import Synthesis
import Training

/// One experiment of a sweep: its folder name, the swept value as written, its cohort and training.
public typealias SweepExperiment = (name: String, value: String, cohort: CohortConfig, training: TrainingConfig)

/// A sweep: one counterfactual experiment per value of a factor, each in
/// its own folder, run side by side on groups of ranks; then one table.
public struct SweepRun {
    public let plan: SweepConfig
    public let experiments: [SweepExperiment]
    public let analysis: AnalysisConfig
    public let output: String
    public var resume = false
    public var overwrite = false
    public var stall: StallGuard
    public var log: ExperimentLog
    /// `--layout GxR` inside each experiment (its group's ranks); nil: simba's choice.
    public var experimentLayout: String?

    public init(plan: SweepConfig, experiments: [SweepExperiment], analysis: AnalysisConfig,
                output: String, resume: Bool, overwrite: Bool, stall: StallGuard, log: ExperimentLog) {
        self.plan = plan
        self.experiments = experiments
        self.analysis = analysis
        self.output = output
        self.resume = resume
        self.overwrite = overwrite
        self.stall = stall
        self.log = log
    }

    public func folder(_ experiment: String) -> String { (output as NSString).appendingPathComponent(experiment) }

    /// Runs the `chosen` experiments (all by default) on `groups` groups of
    /// ranks (default: one per experiment, at most one per rank); each group
    /// runs its share one after another. --resume continues the experiments
    /// that started and starts the others.
    public func runExperiments(_ chosen: [Int]? = nil, groups: Int? = nil, world: Communicator) throws {
        let chosen = chosen ?? Array(experiments.indices)
        let started = try world.unanimously {
            experiments.map { FileManager.default.fileExists(atPath: folder($0.name) + "/experiment.yaml") }
        }
        let groupCount = min(groups ?? chosen.count, chosen.count, world.size)
        let group = world.rank * groupCount / world.size
        guard let mine = try world.split(color: group, key: world.rank) else {
            throw ExperimentError("internal error: rank \(world.rank) joined no sweep group")
        }
        for index in chosen.indices where index % groupCount == group {
            let experiment = experiments[chosen[index]]
            let title = "\(plan.factor.rawValue) = \(experiment.value)"
            var run = ExperimentRun(cohort: experiment.cohort, cohortYAML: experiment.cohort.yaml(title: title),
                                    training: experiment.training, analysis: analysis, output: folder(experiment.name), title: title,
                                    resume: resume && started[chosen[index]], overwrite: overwrite, stall: stall, log: log,
                                    label: "[\(experiment.name)] ")
            run.layout = experimentLayout
            try run.run(world: mine)
        }
        try mine.free()
    }

    /// Each experiment's distance between its disease and bias regions.
    func regionDistances() throws -> [(closestMM: Double, centroidMM: Double)] {
        var anatomies: [TemplateSettings: Anatomy] = [:]
        return try experiments.map { experiment in
            let cohort = experiment.cohort
            let anatomy = try anatomies[cohort.template] ?? Anatomy.load(cohort.template)
            anatomies[cohort.template] = anatomy
            guard let biasRegion = cohort.biases[plan.bias].region else {
                throw ExperimentError("bias \(cohort.biases[plan.bias].name) has no region to measure a distance to")
            }
            let distance = try anatomy.distance(try anatomy.region(cohort.disease.region), try anatomy.region(biasRegion))
            return (distance.closestMM, distance.centroidMM)
        }
    }

    /// Gathers the finished experiments' summaries into OUTDIR/sweep.h5,
    /// sweep.csv and sweep.html (rank 0 writes); returns the paths.
    public func merge(world: Communicator) throws -> [String] {
        try world.unanimously { () -> [String] in
            guard world.rank == 0 else { return [] }
            let finished = try experiments.map { experiment -> (name: String, value: String, summary: ExperimentSummary) in
                let path = (folder(experiment.name) as NSString).appendingPathComponent("summary.json")
                guard FileManager.default.fileExists(atPath: path) else {
                    throw ExperimentError("experiment \(experiment.name) has not finished (no \(path)); run it, then --merge")
                }
                return (experiment.name, experiment.value, try ExperimentSummary.read(from: path))
            }
            return try SweepTable(factor: plan.factor.rawValue, experiments: finished,
                                  distances: plan.factor == .proximity ? try regionDistances() : nil).write(folder: output)
        }
    }
}
