import ArgumentParser
import Experiment

struct Simba: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simba",
        abstract: "Simulated bias in brain MRI: synthesise cohorts, train CNNs across MPI ranks, measure the bias.",
        discussion: """
            Every command runs the same way on one process or many:
              simba info
              mpirun -q -np 4 simba run --preset quickstart -o out

            As root, mpirun also needs --allow-run-as-root; for more ranks than \
            cores, --oversubscribe. -q keeps mpirun's own banners out of the way.
            """,
        version: SimbaVersion.current,
        subcommands: [
            RunCommand.self, GenerateCommand.self, TrainCommand.self, EvaluateCommand.self,
            ProbeCommand.self, ReportCommand.self, SweepCommand.self, InspectCommand.self, ExportCommand.self, RegionsCommand.self, ConfigCommand.self, InfoCommand.self, SelfTestCommand.self, BenchCommand.self,
        ])
}
