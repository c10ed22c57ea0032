import ArgumentParser
import Cluster
import Network

struct ConvBenchCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Time each block's convolution with im2col and with Winograd.",
        discussion: """
            Forward and backward (with the input gradient) of every block's \
            3×3×3 convolution of the SimBA CNN on random data, with each \
            algorithm: thread CPU milliseconds, best of --repeats, and GFLOP/s \
            counted as the direct convolution's multiply-adds. One JSON line \
            per block and algorithm; "automatic" marks the one training uses.

            Example:
              simba bench conv --input 64x64x64 --batch 2 --threads 1
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Input grid XxYxZ.") var input: String = "64x64x64"
    @Option(help: "Batch size.") var batch: Int = 2
    @Option(help: "Block widths, comma-separated.") var widths: String = "32,64,128,256,512"
    @Option(help: "Timed repeats (the best is reported).") var repeats: Int = 5

    func validate() throws {
        _ = try ModelShapeArguments.grid(input)
        _ = try ModelShapeArguments.widths(widths)
        guard batch >= 1, repeats >= 1 else { throw ValidationError("--batch and --repeats must be at least 1") }
    }

    func run(world: Communicator) throws {
        let configuration = SimbaCNNConfiguration(input: Grid3(try ModelShapeArguments.grid(input)),
                                                  widths: try ModelShapeArguments.widths(widths))
        let timings = ConvolutionBenchmark.run(configuration: configuration, batch: batch, repeats: repeats)
        if world.rank == 0 { timings.forEach { print($0.json) } }
    }
}
