import ArgumentParser
import Cluster
import Network

struct TrainBenchCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time SimBA CNN training and inference steps on random data.",
        discussion: """
            The SimBA CNN (5 blocks of conv → batch norm → sigmoid → max-pool, \
            widths 32…512) with Adam, as PyTorch's peer script \
            (bench/peers/torch_train.py) measures it: one JSON line with \
            train_samples_per_s, infer_samples_per_s, train_gflops, \
            peak_rss_mib and the share of one core's sgemm rate.

            Example:
              simba bench train --input 64x64x64 --batch 2 --threads 1
              simba bench train --input 173x211x155 --batch 2 --threads 2 --steps 2
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Input grid XxYxZ.") var input: String = "64x64x64"
    @Option(help: "Batch size.") var batch: Int = 2
    @Option(help: "Block widths, comma-separated.") var widths: String = "32,64,128,256,512"
    @Option(help: "Timed training steps (median reported).") var steps: Int = 5
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 2


    func validate() throws {
        _ = try ModelShapeArguments.grid(input)
        _ = try ModelShapeArguments.widths(widths)
        guard batch >= 1, steps >= 1, warmup >= 0 else {
            throw ValidationError("--batch and --steps must be at least 1, --warmup at least 0")
        }
    }

    func run(world: Communicator) throws {
        let result = TrainBenchmark.run(input: try ModelShapeArguments.grid(input), batch: batch,
                                        widths: try ModelShapeArguments.widths(widths), steps: steps, warmup: warmup,
                                        seed: 1)
        if world.rank == 0 { print(result.json) }
    }
}
