import ArgumentParser
import Cluster
import Experiment

struct InspectCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a dataset file: counts per split, class, bias group and site; effects; Jacobians.",
        discussion: """
            Example:
              simba inspect dataset.h5
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "Dataset file written by 'simba generate'.") var dataset: String

    func run(world: Communicator) throws {
        let text = try world.unanimously { world.rank == 0 ? try DatasetInspection.summary(dataset: dataset) : "" }
        if world.rank == 0 { print(text, terminator: "") }
    }
}
