import Cluster
import Foundation
import Network
import Randomness
import Synthesis

/// Random inputs in [−0.5, 0.5] for benchmarks: a few images drawn once
/// and handed out by index, so loading costs a copy, not I/O.
final class RandomImages: ImageSource {
    let voxels: Int
    let seconds = 0.0
    private let pool: [[Float]]

    init(voxels: Int) {
        self.voxels = voxels
        pool = (0..<4).map { image in
            var generator = SeededGenerator(seed: 7, stream: UInt64(image), "benchmark image")
            return (0..<voxels).map { _ in Float(generator.uniform()) - 0.5 }
        }
    }

    func load(_ indices: [Int]) throws -> [Float] { indices.flatMap { pool[$0 % pool.count] } }
}

/// Weak scaling of central training: the same per-rank batch on one rank
/// (the others wait) and on every rank (sync batch norm, one gradient
/// allreduce per step), on random data. Efficiency = one-rank step time /
/// N-rank step time (1 is perfect).
public struct ScalingBenchmark {
    public var input: Grid3
    public var widths: [Int]
    public var batchPerRank: Int
    public var steps: Int
    public var warmup: Int

    public init(input: Grid3, widths: [Int], batchPerRank: Int, steps: Int, warmup: Int) {
        self.input = input
        self.widths = widths
        self.batchPerRank = batchPerRank
        self.steps = steps
        self.warmup = warmup
    }

    struct Timing {
        var stepSeconds: Double
        var compute: Double
        var communication: Double
        /// Spatial groups: halo and gather seconds (inside communication) and bytes sent per rank, per step.
        var exchangeSeconds = 0.0
        var exchangeBytes = 0.0
        var splitBlocks = 0
    }

    /// Median step time on `communicator` (every rank of it calls this),
    /// the batch dealt to groups of `spatial` ranks that share each sample.
    private func time(on communicator: Communicator, spatial: Int = 1) throws -> Timing {
        let batch = batchPerRank * communicator.size
        let configuration = SimbaCNNConfiguration(input: input, widths: widths)
        let slabs = spatial > 1 ? try SlabGroup(replica: communicator, parts: spatial, configuration: configuration) : nil
        let model = try SimbaCNN(configuration: configuration, maxBatch: batchPerRank * spatial, seed: 1,
                                 slab: slabs?.partition)
        let replica = Replica(model: model, communicator: communicator, loader: RandomImages(voxels: input.voxels),
                              batch: batch, learningRate: 1e-4, seed: 1, slabs: slabs)
        var exchangeSeconds = 0.0, exchangeBytes = 0
        var stepTimes: [Double] = []
        var compute = 0.0, communication = 0.0
        for step in 0..<(warmup + steps) {
            // One global batch per pass, so each step is timed alone.
            let indices = Array((step * batch)..<((step + 1) * batch))
            let rows = SplitTable(split: .train, indices: indices, labels: indices.map { $0 % 2 },
                                  groups: [Int](repeating: 0, count: batch), sites: [Int](repeating: 0, count: batch),
                                  weights: [Float](repeating: 1, count: batch))
            try communicator.barrier()
            let before = replica.time
            let exchangeBefore = (slabs?.seconds ?? 0, slabs?.bytesSent ?? 0)
            let started = Clock.now
            _ = try replica.trainEpoch(rows, plan: EpochPlan(splitCount: batch, batch: batch, seed: 1, stream: UInt64(step)),
                                       stream: UInt64(step))
            let elapsed = try communicator.allreduce(Clock.seconds(since: started), op: .max)
            if step >= warmup {
                stepTimes.append(elapsed)
                compute += replica.time.compute - before.compute
                communication += replica.time.communication - before.communication
                exchangeSeconds += (slabs?.seconds ?? 0) - exchangeBefore.0
                exchangeBytes += (slabs?.bytesSent ?? 0) - exchangeBefore.1
            }
        }
        let sorted = stepTimes.sorted()
        let ranks = Double(communicator.size)
        func mean(_ value: Double) throws -> Double { try communicator.allreduce(value, op: .sum) / ranks / Double(steps) }
        return Timing(stepSeconds: sorted[sorted.count / 2], compute: try mean(compute), communication: try mean(communication),
                      exchangeSeconds: try mean(exchangeSeconds), exchangeBytes: try mean(Double(exchangeBytes)),
                      splitBlocks: model.slab?.splitBlocks ?? 0)
    }

    /// Spatial against data parallelism on every rank of `world`, the same
    /// global batch (collective); rank 0 gets the JSON line. Efficiency =
    /// data-parallel step time / spatial step time (1: slabs cost nothing extra).
    public func runSpatial(world: Communicator) throws -> String {
        let dataParallel = try time(on: world)
        try world.barrier()
        let spatial = try time(on: world, spatial: world.size)
        let object: [String: Any] = [
            "benchmark": "scaling-spatial", "ranks": world.size, "input": input.array, "widths": widths,
            "batch": batchPerRank * world.size, "steps": steps, "split_blocks": spatial.splitBlocks,
            "data_parallel_step_seconds": dataParallel.stepSeconds,
            "spatial_step_seconds": spatial.stepSeconds,
            "spatial_efficiency": dataParallel.stepSeconds / spatial.stepSeconds,
            "data_parallel_samples_per_s": Double(batchPerRank * world.size) / dataParallel.stepSeconds,
            "spatial_samples_per_s": Double(batchPerRank * world.size) / spatial.stepSeconds,
            "data_parallel_communication_seconds_per_step": dataParallel.communication,
            "spatial_compute_seconds_per_step": spatial.compute,
            "spatial_communication_seconds_per_step": spatial.communication,
            "halo_and_gather_seconds_per_step": spatial.exchangeSeconds,
            "halo_and_gather_bytes_per_step_per_rank": spatial.exchangeBytes,
            "allreduce_seconds_per_step": spatial.communication - spatial.exchangeSeconds,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs both measurements (collective over `world`); rank 0 gets the JSON line.
    public func run(world: Communicator) throws -> String {
        // One rank alone: the others take part only in the split and the barrier.
        let alone = try world.split(color: world.rank == 0 ? 0 : nil, key: world.rank)
        let single = try alone.map { try time(on: $0) }
        try alone?.free()
        try world.barrier()
        let all = try time(on: world)
        let singleStep = try world.broadcast(single?.stepSeconds ?? 0, root: 0)
        let ranks = Double(world.size)
        let object: [String: Any] = [
            "benchmark": "scaling", "ranks": world.size, "input": input.array, "widths": widths,
            "batch_per_rank": batchPerRank, "steps": steps,
            "single_rank_step_seconds": singleStep,
            "step_seconds": all.stepSeconds,
            "single_rank_samples_per_s": Double(batchPerRank) / singleStep,
            "samples_per_s": ranks * Double(batchPerRank) / all.stepSeconds,
            "samples_per_s_per_rank": Double(batchPerRank) / all.stepSeconds,
            "weak_scaling_efficiency": singleStep / all.stepSeconds,
            "compute_seconds_per_step": all.compute,
            "communication_seconds_per_step": all.communication,
            "communication_share": all.communication / max(all.compute + all.communication, 1e-12),
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
