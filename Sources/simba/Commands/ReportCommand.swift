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
            biased; run-biased-r2.h5 → its second training replicate, \
            run-biased-c2.h5 → its replicate on the second cohort). With arms \
            named biased, twin and reweighed the report compares them on the \
            same test subjects (paired bootstrap, pooled over replicates). \
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

    func run(world: Communicator) throws {
        let arms = runs.map(ArmRunFile.init(path:))
        let names = ArmName.distinct(arms.map(\.name))
        let paths = try world.unanimously { () -> [String] in
            guard world.rank == 0 else { return [] }
            return try Stages.report(arms: arms, report: output,
                                     experiment: title ?? names.joined(separator: " vs "), ranks: world.size)
        }
        if world.rank == 0 { print("wrote \(paths.joined(separator: ", "))") }
    }
}
