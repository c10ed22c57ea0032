import ArgumentParser
import Cluster

/// The pipeline stages of ../shared/DESIGN.md whose engines are still being
/// built. Their command lines are fixed here so scripts and help are stable;
/// running one says which part of simba it waits for and exits non-zero.
struct StageNotAvailable: Error, CustomStringConvertible {
    let stage: String
    let waitsFor: String
    var description: String { "'simba \(stage)' is not available in this build yet: it needs \(waitsFor)" }
}

struct EvaluateCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a trained run on the test split: subgroup metrics with confidence intervals.",
        discussion: """
            Example:
              mpirun -q -np 2 simba evaluate run.h5 --data dataset.h5
            """)
    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "Run file written by 'simba train'.") var run: String
    @Option(help: "Dataset file the run was trained on.") var data: String = "dataset.h5"

    func run(world: Communicator) throws {
        try world.unanimously { throw StageNotAvailable(stage: "evaluate", waitsFor: "the Analysis module") }
    }
}

struct ProbeCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Measure where in the network the bias is encoded (layer-wise probes) and saliency.",
        discussion: """
            Example:
              mpirun -q -np 2 simba probe run.h5 --data dataset.h5
            """)
    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "Run file written by 'simba train'.") var run: String
    @Option(help: "Dataset file the run was trained on.") var data: String = "dataset.h5"

    func run(world: Communicator) throws {
        try world.unanimously { throw StageNotAvailable(stage: "probe", waitsFor: "the Analysis module") }
    }
}

struct ReportCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (and CSV tables) from run files.",
        discussion: """
            Example:
              simba report run.h5 -o report.html
            """)
    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "Run file(s) to report on.") var runs: [String] = []
    @Option(name: .shortAndLong, help: "Report file.") var output: String = "report.html"

    func run(world: Communicator) throws {
        try world.unanimously { throw StageNotAvailable(stage: "report", waitsFor: "the Analysis module") }
    }
}

struct RunCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a whole counterfactual bias experiment: generate, train, evaluate, report.",
        discussion: """
            Example:
              mpirun -q -np 2 simba run --preset quickstart -o out
            """)
    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "Experiment configuration (YAML).") var config: String?
    @Option(help: "Use a named preset instead of a configuration file.") var preset: String?
    @Option(name: .shortAndLong, help: "Output folder.") var output: String = "out"

    func run(world: Communicator) throws {
        try world.unanimously { throw StageNotAvailable(stage: "run", waitsFor: "all pipeline stages") }
    }
}
