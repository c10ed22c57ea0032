import ArgumentParser
import Cluster
import Network
import Training

struct ScalingBenchCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Weak scaling of central training across the job's ranks (one JSON line).",
        discussion: """
            Times training steps with the same batch per rank on one rank alone \
            and on every rank (sync batch norm, one gradient allreduce per \
            step), on random data. Reports weak_scaling_efficiency (one-rank \
            step time / N-rank step time), samples/s overall and per rank, and \
            the compute/communication split per step.

            With --spatial: the same global batch on every rank, first data \
            parallel (each rank its own samples), then spatial (all ranks \
            share every sample, each a slab): spatial_efficiency (data-parallel \
            step time / spatial step time), the halo and gather bytes and \
            seconds per step, and the allreduce seconds.

            Example:
              mpirun -q -np 4 simba bench scaling --input 48x48x48 --widths 8,16,32,64 --batch-per-rank 2
              mpirun -q -np 2 simba bench scaling --spatial --input 173x211x155 --widths 32,64,128,256,512 --batch-per-rank 1
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Input grid XxYxZ.") var input: String = "48x48x48"
    @Option(help: "Block widths, comma-separated.") var widths: String = "8,16,32,64"
    @Option(help: "Samples per rank per step.") var batchPerRank: Int = 2
    @Option(help: "Timed steps (median reported).") var steps: Int = 5
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 1
    @Flag(help: "Spatial parallelism against data parallelism on the same ranks.") var spatial = false

    func validate() throws {
        _ = try ModelShapeArguments.grid(input)
        _ = try ModelShapeArguments.widths(widths)
        guard batchPerRank >= 1, steps >= 1, warmup >= 0 else {
            throw ValidationError("--batch-per-rank and --steps must be at least 1, --warmup at least 0")
        }
    }

    func run(world: Communicator) throws {
        let benchmark = ScalingBenchmark(input: Grid3(try ModelShapeArguments.grid(input)), widths: try ModelShapeArguments.widths(widths), batchPerRank: batchPerRank,
                                         steps: steps, warmup: warmup)
        let line = try spatial ? benchmark.runSpatial(world: world) : benchmark.run(world: world)
        if world.rank == 0 { print(line) }
    }
}
