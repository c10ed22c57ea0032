import Analysis
import Foundation

extension Stages {
    /// Reads every arm's run file, compares the arms and writes the report,
    /// summary.json and tables.csv; returns their paths.
    public static func report(arms: [(name: String, runFile: String)], report: String, experiment: String,
                      ranks: Int) throws -> [String] {
        guard Set(arms.map(\.name)).count == arms.count else {
            throw ExperimentError("two run files give the same arm name (\(arms.map(\.name))); name them run-ARM.h5")
        }
        let summaries = try arms.map { try ArmSummary.read(name: $0.name, runFile: $0.runFile) }
        let first = summaries[0].evaluation
        let settings = BootstrapSettings(resamples: first.bootstrapResamples, confidenceLevel: first.confidenceLevel)
        var summary = try ExperimentSummary(experiment: experiment, ranks: ranks, simbaVersion: SimbaVersion.current,
                                            arms: summaries, settings: settings)
        // Leakage and pictures need the datasets; without them the report keeps its numbers.
        summary.leakage = try? LeakageSummary.read(dataset: TrainedRun.resolve(first.dataset, besides: arms[0].runFile))
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
