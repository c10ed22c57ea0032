import ArgumentParser
import Cluster
import Foundation
import Network
import Training

struct PlanBenchCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Project an experiment's time on a cluster of N ranks and choose its layout (one JSON line).",
        discussion: """
            From per-core rates measured here (simba bench train at the \
            input, one thread) and a network model (one link's bandwidth and \
            latency, every message crossing it, nothing overlapped), picks the \
            layout — runs side by side × data-parallel groups × spatial \
            parts — with the shortest projected time, and prints it with the \
            projection and every assumption. Counted: each step's busiest-rank \
            convolution work on its slab, halo swaps, the gather, sync batch \
            norm and the gradient allreduce; validation every epoch; test and \
            cross-score inference per run. Not counted: loading, probes, \
            saliency, checkpoints. The defaults are simba-jamia's: 3 arms, \
            1000 training and 500 validation images, batch 2, SimBA's CNN at \
            1 mm, 30 epochs (SimBA's early stopping: a few tens).

            Example:
              simba bench plan --ranks 96
              simba bench plan --ranks 512 --link-gbit 100 --latency-us 2 --epochs 50
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Ranks (cores) available.") var ranks: Int
    @Option(help: "Input grid XxYxZ.") var input: String = "173x211x155"
    @Option(help: "Block widths, comma-separated.") var widths: String = "32,64,128,256,512"
    @Option(help: "Runs to train (arms × replicates).") var runs: Int = 3
    @Option(help: "Global batch.") var batch: Int = 2
    @Option(help: "Epochs per run.") var epochs: Int = 30
    @Option(help: "Training images per epoch.") var trainingImages: Int = 1000
    @Option(help: "Validation images per epoch.") var validationImages: Int = 500
    @Option(help: "Images scored per run after training (test split and the twin's for cross-scores).")
    var inferenceImages: Int = 1000
    @Option(help: "Training samples/s of the whole network on one core (simba bench train at the input).")
    var trainingRate: Double = 0.753
    @Option(help: "Inference samples/s of the whole network on one core.") var inferenceRate: Double = 2.28
    @Option(help: "Bandwidth of one link, Gbit/s.") var linkGbit: Double = 25
    @Option(help: "Latency of one message, microseconds.") var latencyUs: Double = 5

    func validate() throws {
        _ = try ModelShapeArguments.grid(input)
        _ = try ModelShapeArguments.widths(widths)
        guard ranks >= 1, runs >= 1, batch >= 1, epochs >= 1, trainingImages >= batch, validationImages >= 0, inferenceImages >= 0 else {
            throw ValidationError("--ranks, --runs, --batch and --epochs must be at least 1, --training-images at least the batch")
        }
        guard ranks <= 1_000_000, runs <= 10_000 else { throw ValidationError("--ranks at most 1000000, --runs at most 10000") }
        for (name, value) in [("--training-rate", trainingRate), ("--inference-rate", inferenceRate), ("--link-gbit", linkGbit)] {
            guard value > 0, value.isFinite else { throw ValidationError("\(name) must be positive, got \(value)") }
        }
        guard latencyUs >= 0, latencyUs.isFinite else { throw ValidationError("--latency-us must be 0 or more, got \(latencyUs)") }
    }

    func run(world: Communicator) throws {
        let configuration = SimbaCNNConfiguration(input: Grid3(try ModelShapeArguments.grid(input)),
                                                  widths: try ModelShapeArguments.widths(widths))
        try configuration.validate()
        let plan = ClusterPlan(
            configuration: configuration,
            experiment: .init(runs: runs, batch: batch, epochs: epochs, trainingImages: trainingImages,
                              validationImages: validationImages, inferenceImages: inferenceImages),
            network: .init(bandwidth: linkGbit * 1e9 / 8, latency: latencyUs * 1e-6),
            trainingRate: trainingRate, inferenceRate: inferenceRate)
        guard let best = plan.best(ranks: ranks) else { throw ValidationError("no layout fits \(ranks) ranks") }
        // The same ranks without spatial parallelism, and the model's own 2-rank spatial efficiency.
        let noSpatial = (1...max(1, min(runs, ranks))).flatMap { side in
            (1...max(1, min(batch, ranks / side))).compactMap { plan.project(sideBySide: side, data: $0, spatial: 1) }
        }.min { $0.experimentSeconds < $1.experimentSeconds }
        func step(_ p: ClusterPlan.Projection?) -> Double { (p?.stepComputeSeconds ?? .nan) + (p?.stepCommunicationSeconds ?? .nan) }
        let twoRankEfficiency = step(plan.project(sideBySide: 1, data: 2, spatial: 1)) / step(plan.project(sideBySide: 1, data: 1, spatial: 2))
        guard world.rank == 0 else { return }
        let object: [String: Any] = [
            "benchmark": "plan", "ranks": ranks, "input": configuration.input.array, "widths": configuration.widths,
            "layout": best.layout.description, "ranks_used": best.layout.ranks,
            "runs_side_by_side": best.layout.sideBySide, "data_parallel": best.layout.data,
            "spatial": best.layout.spatial, "split_blocks": best.layout.splitBlocks,
            "step_compute_seconds": best.stepComputeSeconds, "step_communication_seconds": best.stepCommunicationSeconds,
            "epoch_seconds": best.epochSeconds, "run_hours": best.runSeconds / 3600,
            "experiment_hours": best.experimentSeconds / 3600,
            "experiment_hours_without_spatial": (noSpatial?.experimentSeconds ?? .nan) / 3600,
            "two_rank_spatial_efficiency_model": twoRankEfficiency,
            "assumptions": [
                "runs": runs, "batch": batch, "epochs": epochs, "training_images": trainingImages,
                "validation_images": validationImages, "inference_images": inferenceImages,
                "training_samples_per_core_second": trainingRate, "inference_samples_per_core_second": inferenceRate,
                "link_gbit_per_s": linkGbit, "latency_us": latencyUs,
                "not_counted": "data loading, probes, saliency, checkpoints; no overlap of communication and computation",
            ] as [String: Any],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
