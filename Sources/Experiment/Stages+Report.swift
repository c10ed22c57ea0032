import Analysis
import Foundation

extension Stages {
    /// Reads every arm's run file, compares the arms and writes the report,
    /// summary.json and tables.csv; returns their paths.
    public static func report(arms: [ArmRunFile], report: String, experiment: String,
                              ranks: Int, floors: LearningFloors = LearningFloors()) throws -> [String] {
        let keys = arms.map { "\($0.name) (\($0.replicate))" }
        guard Set(keys).count == arms.count else {
            throw ExperimentError("two run files give the same arm and replicate (\(keys)); name them run-ARM.h5, run-ARM-r2.h5, …")
        }
        let summaries = try arms.map { try ArmSummary.read(name: $0.name, runFile: $0.runFile, replicate: $0.replicate) }
        let first = summaries[0].evaluation
        let settings = BootstrapSettings(resamples: first.bootstrapResamples, confidenceLevel: first.confidenceLevel)
        var summary = try ExperimentSummary(experiment: experiment, ranks: ranks, simbaVersion: SimbaVersion.current,
                                            arms: summaries, settings: settings, floors: floors)
        // Leakage and pictures need the datasets; without them the report keeps its numbers.
        summary.leakage = try? LeakageSummary.read(dataset: TrainedRun.resolve(first.dataset, besides: arms[0].runFile))
        summary.generationMemory = try? StageMemory.read(from: TrainedRun.resolve(first.dataset, besides: arms[0].runFile))?
            .stages.first { $0.name == "generation" }
        let examples = (try? ExampleSlices.examples(dataset: TrainedRun.resolve(first.dataset, besides: arms[0].runFile))) ?? []
        let saliency = arms.flatMap { arm -> [(caption: String, png: [UInt8])] in
            guard let table = try? SaliencyTable.read(from: arm.runFile),
                  let recorded = summaries.first(where: { $0.name == arm.name })?.dataset else { return [] }
            let dataset = TrainedRun.resolve(recorded, besides: arm.runFile)
            return (try? ExampleSlices.saliency(table, arm: arm.name, dataset: dataset)) ?? []
        }
        let folder = (report as NSString).deletingLastPathComponent
        return try ExperimentReport(summary: summary, examples: examples, saliencyImages: saliency)
            .write(folder: folder.isEmpty ? "." : folder, reportName: (report as NSString).lastPathComponent)
    }
}
