import ArgumentParser
import Cluster
import Experiment
import Foundation

struct ExportCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write samples as NIfTI volumes and PNG slice montages with the regions outlined.",
        discussion: """
            NIfTI files carry the template's affine (they open in ITK-SNAP, \
            FSLeyes and nibabel). In the montages the disease region is \
            outlined in red and bias regions in blue, green, yellow (template \
            outlines: each sample's own deformation moves them slightly).

            Example:
              simba export dataset.h5 --samples 0,1,10-12 -o exported
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "Dataset file written by 'simba generate'.") var dataset: String
    @Option(help: "Sample indices, e.g. 0,5,10-12.") var samples: String = "0"
    @Option(name: .shortAndLong, help: "Output folder (created if needed).") var output: String = "exported"
    @Flag(help: "Skip the PNG montages.") var noPng = false

    func indices() throws -> [Int] {
        var result: [Int] = []
        for part in samples.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1 where bounds[0] != nil: result.append(bounds[0]!)
            case 2 where bounds[0] != nil && bounds[1] != nil && bounds[0]! <= bounds[1]!:
                result += Array(bounds[0]!...bounds[1]!)
            default: throw ValidationError("--samples takes indices and ranges like 0,5,10-12; got '\(samples)'")
            }
        }
        return result
    }

    func validate() throws { _ = try indices() }

    func run(world: Communicator) throws {
        let written = try world.unanimously { world.rank == 0 ? try SampleExport.write(dataset: dataset, samples: indices(), to: output, png: !noPng) : [] }
        if world.rank == 0 { for path in written { print(path) } }
    }
}
