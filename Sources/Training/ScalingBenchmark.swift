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
    }

    /// Median step time on `communicator` (every rank of it calls this).
    private func time(on communicator: Communicator) throws -> Timing {
        let batch = batchPerRank * communicator.size
        let model = try SimbaCNN(configuration: SimbaCNNConfiguration(input: input, widths: widths),
                                 maxBatch: batchPerRank, seed: 1)
        let replica = Replica(model: model, communicator: communicator, loader: RandomImages(voxels: input.voxels),
                              batch: batch, learningRate: 1e-4, seed: 1)
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
            let started = Clock.now
            _ = try replica.trainEpoch(rows, plan: EpochPlan(splitCount: batch, batch: batch, seed: 1, stream: UInt64(step)),
                                       stream: UInt64(step))
            let elapsed = try communicator.allreduce(Clock.seconds(since: started), op: .max)
            if step >= warmup {
                stepTimes.append(elapsed)
                compute += replica.time.compute - before.compute
                communication += replica.time.communication - before.communication
            }
        }
        let sorted = stepTimes.sorted()
        let ranks = Double(communicator.size)
        return Timing(stepSeconds: sorted[sorted.count / 2],
                      compute: try communicator.allreduce(compute, op: .sum) / ranks / Double(steps),
                      communication: try communicator.allreduce(communication, op: .sum) / ranks / Double(steps))
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
