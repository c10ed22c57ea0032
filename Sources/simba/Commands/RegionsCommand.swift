import ArgumentParser
import Cluster
import Experiment
import Foundation
import Synthesis

struct RegionsCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "regions",
        abstract: "List the atlas regions (volume, centroid) or the distance between two of them.",
        discussion: """
            Measured on the experiment grid (--voxel-mm), the one effects are \
            placed on. Distances help choose bias regions near or far from the \
            disease region (proximity studies).

            Example:
              simba regions
              simba regions --distance Insula_R Putamen_R
              simba regions my.yaml            # the template and voxel size of a configuration
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "A configuration whose template to use (default: Colin27 + AAL).") var config: String?
    @Option(help: "Voxel size in mm (default: the configuration's, else 2).") var voxelMm: Double?
    @Option(parsing: .upToNextOption, help: "Two regions (names or numbers) to measure the distance between.")
    var distance: [String] = []

    func validate() throws {
        guard distance.isEmpty || distance.count == 2 else {
            throw ValidationError("--distance takes exactly two regions, got \(distance.count)")
        }
        if let voxelMm, !(1...4).contains(voxelMm) { throw ValidationError("--voxel-mm must be 1 to 4") }
    }

    func run(world: Communicator) throws {
        let text = try world.unanimously { world.rank == 0 ? try report() : "" }
        if world.rank == 0 { print(text, terminator: "") }
    }

    func report() throws -> String {
        var settings = TemplateSettings()
        if let config {
            // Parsed, not built with init(): its property wrappers hold values only once parsed.
            settings = try ConfigSource.parse(["--", config]).cohortConfig().template
        }
        if let voxelMm { settings.voxelMM = voxelMm }
        return try RegionReport.text(template: settings, distance: distance.count == 2 ? (distance[0], distance[1]) : nil)
    }
}
