import Analysis
import ArgumentParser
import Cluster
import Experiment
import Foundation

struct ReportCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report, summary.json and tables.csv from evaluated run files.",
        discussion: """
            Each run file is one arm, named after the file (run-biased.h5 → \
            biased). With arms named biased, twin and reweighed the report \
            compares them on the same test subjects (paired bootstrap). \
            summary.json and tables.csv are written beside the report.

            Example:
              simba report out/run-biased.h5 out/run-twin.h5 -o out/report.html
            """)
    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "Evaluated run files, one per arm.") var runs: [String] = []
    @Option(name: .shortAndLong, help: "Report file.") var output: String = "report.html"
    @Option(help: "Title of the experiment.") var title: String?

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run file") }
        if !output.hasSuffix(".html") { throw ValidationError("--output must end in .html, got '\(output)'") }
    }

    /// run-biased.h5 → biased
    static func armName(_ path: String) -> String {
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return stem.hasPrefix("run-") ? String(stem.dropFirst(4)) : stem
    }

    func run(world: Communicator) throws {
        let names = runs.map(Self.armName)
        let paths = try world.unanimously { () -> [String] in
            guard world.rank == 0 else { return [] }
            return try Self.write(arms: Array(zip(names, runs)), report: output,
                                  experiment: title ?? names.joined(separator: " vs "), ranks: world.size)
        }
        if world.rank == 0 { print("wrote \(paths.joined(separator: ", "))") }
    }

    /// Reads every arm's run file, compares the arms and writes the report,
    /// summary.json and tables.csv; returns their paths.
    static func write(arms: [(name: String, runFile: String)], report: String, experiment: String,
                      ranks: Int) throws -> [String] {
        guard Set(arms.map(\.name)).count == arms.count else {
            throw ExperimentError("two run files give the same arm name (\(arms.map(\.name))); name them run-ARM.h5")
        }
        let summaries = try arms.map { try ArmSummary.read(name: $0.name, runFile: $0.runFile) }
        let first = summaries[0].evaluation
        let settings = BootstrapSettings(resamples: first.bootstrapResamples, confidenceLevel: first.confidenceLevel)
        let summary = try ExperimentSummary(experiment: experiment, ranks: ranks, simbaVersion: SimbaVersion.current,
                                            arms: summaries, settings: settings)
        // Pictures need the datasets; without them the report keeps its numbers.
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
