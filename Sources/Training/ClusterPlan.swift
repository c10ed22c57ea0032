import Foundation
import Network

/// Projects an experiment's time on a cluster simba has not run on, from
/// rates measured on one core and a stated network model, and picks the
/// layout: runs side by side × data-parallel groups × spatial parts.
///
/// What it counts: per training step, the busiest rank's convolution work
/// (SlabPartition.convolutionWork, relative to the whole network, times the
/// measured per-core time of a sample), the halo swaps (4 per split block
/// after the first: planes up and down, forward and backward), the gather,
/// sync batch norm (3 small allreduces per block) and the ring allreduce of
/// the gradients; per epoch the validation forwards on the same layout;
/// per run the test and cross-score inference. Every message crosses the
/// network (pessimistic inside a node) and nothing overlaps computation.
/// Not counted: data loading, probes and saliency maps, checkpoints.
public struct ClusterPlan {
    public struct Network {
        /// Bytes per second of one link, and seconds per message.
        public var bandwidth: Double, latency: Double
        public init(bandwidth: Double, latency: Double) { self.bandwidth = bandwidth; self.latency = latency }
        func message(_ bytes: Double) -> Double { latency + bytes / bandwidth }
        /// Ring allreduce of `bytes` over `ranks`.
        func allreduce(_ bytes: Double, ranks: Int) -> Double {
            guard ranks > 1 else { return 0 }
            let p = Double(ranks)
            return 2 * (p - 1) * latency + 2 * (p - 1) / p * bytes / bandwidth
        }
    }

    public struct Experiment {
        /// Runs to train (arms × replicates), global batch, epochs each.
        public var runs: Int, batch: Int, epochs: Int
        public var trainingImages: Int, validationImages: Int
        /// Images each run scores after training (test split, plus the twin's for cross-scores).
        public var inferenceImages: Int
        public init(runs: Int, batch: Int, epochs: Int, trainingImages: Int, validationImages: Int, inferenceImages: Int) {
            self.runs = runs; self.batch = batch; self.epochs = epochs
            self.trainingImages = trainingImages; self.validationImages = validationImages
            self.inferenceImages = inferenceImages
        }
    }

    public struct Layout: Equatable {
        public var sideBySide: Int, data: Int, spatial: Int, splitBlocks: Int
        public var ranks: Int { sideBySide * data * spatial }
        public var description: String { "\(sideBySide) runs side by side × \(data) data-parallel × \(spatial) spatial" }
    }

    public struct Projection {
        public var layout: Layout
        public var stepComputeSeconds: Double, stepCommunicationSeconds: Double
        public var epochSeconds: Double, runSeconds: Double, experimentSeconds: Double
    }

    public let configuration: SimbaCNNConfiguration
    public let experiment: Experiment
    public let network: Network
    /// Whole-network samples per second on one core: training and inference.
    public let trainingRate: Double, inferenceRate: Double

    public init(configuration: SimbaCNNConfiguration, experiment: Experiment, network: Network,
                trainingRate: Double, inferenceRate: Double) {
        self.configuration = configuration
        self.experiment = experiment
        self.network = network
        self.trainingRate = trainingRate
        self.inferenceRate = inferenceRate
    }

    /// The fastest layout on at most `ranks` ranks (ties: fewer ranks).
    public func best(ranks: Int) -> Projection? {
        var best: Projection?
        for sideBySide in 1...max(1, min(experiment.runs, ranks)) {
            for data in 1...max(1, min(experiment.batch, ranks / sideBySide)) {
                for spatial in 1...max(1, ranks / (sideBySide * data)) {
                    guard let projection = project(sideBySide: sideBySide, data: data, spatial: spatial) else { continue }
                    if best.map({ projection.experimentSeconds < $0.experimentSeconds * (1 - 1e-9) }) ?? true { best = projection }
                }
            }
        }
        return best
    }

    /// One layout's projection (nil: the spatial parts do not fit the input).
    public func project(sideBySide: Int, data: Int, spatial: Int) -> Projection? {
        let whole = SlabPartition.convolutionWork(configuration, parts: 1, splitBlocks: 0)!
        var split = 0, work = whole
        if spatial > 1 {
            guard let partition = try? SlabPartition(configuration: configuration, parts: spatial, index: 0),
                  let slabWork = SlabPartition.convolutionWork(configuration, parts: spatial, splitBlocks: partition.splitBlocks)
            else { return nil }
            (split, work) = (partition.splitBlocks, slabWork)
        }
        let fraction = work / whole
        let samplesPerGroup = Double(experiment.batch) / Double(data)
        let exchange: (training: Double, inference: Double) =
            spatial > 1 ? exchangeSeconds(spatial: spatial, split: split, samples: samplesPerGroup) : (0, 0)
        let parameterBytes = 4 * Double(SimbaCNNShapes(configuration).layout.totalCount)
        let runRanks = data * spatial
        // Three small allreduces per block (latency-bound: a tree of log2 p rounds, up and down).
        let batchNorm = 3 * Double(configuration.widths.count) * 2 * log2(Double(runRanks)).rounded(.up) * network.latency
        let stepCompute = samplesPerGroup * fraction / trainingRate
        let stepCommunication = exchange.training + batchNorm + network.allreduce(parameterBytes, ranks: runRanks)
        let steps = Double(experiment.trainingImages / experiment.batch)
        // Validation: each group forwards its share of the images on slabs.
        let validation = Double(experiment.validationImages) / Double(data)
            * (fraction / inferenceRate + exchange.inference)
        let epoch = steps * (stepCompute + stepCommunication) + validation
        // Scoring after training: whole models, shared by every rank of the run.
        let scoring = Double(experiment.inferenceImages) / Double(runRanks) / inferenceRate
        let run = Double(experiment.epochs) * epoch + scoring
        let rounds = (experiment.runs + sideBySide - 1) / sideBySide
        return Projection(layout: Layout(sideBySide: sideBySide, data: data, spatial: spatial, splitBlocks: split),
                          stepComputeSeconds: stepCompute, stepCommunicationSeconds: stepCommunication,
                          epochSeconds: epoch, runSeconds: run, experimentSeconds: Double(rounds) * run)
    }

    /// Seconds of one training step's halo swaps and gather for a group
    /// holding `samples` samples, and of one inference sample's.
    private func exchangeSeconds(spatial: Int, split: Int, samples: Double) -> (training: Double, inference: Double) {
        let grids = SlabPartition.grids(configuration)
        func planeBytes(_ level: Int) -> Double {
            let channels = level == 0 ? 1 : configuration.widths[level - 1]
            return 4 * Double(grids[level].y * grids[level].z * channels)
        }
        // Block 0 widens its slab from the whole sample: no swap. Each later
        // split block shifts one plane per sample up and one down.
        func halos(_ samples: Double) -> Double {
            (1..<max(split, 1)).reduce(0.0) { $0 + 2 * network.message(samples * planeBytes($1)) }
        }
        func gather(_ samples: Double) -> Double {
            let p = Double(spatial)
            let bytes: Double = samples * Double(grids[split].x) * planeBytes(split)
            return (p - 1) * network.latency + (p - 1) / p * bytes / network.bandwidth
        }
        // Training: halos forward, their gradients back; one gather.
        return (2 * halos(samples) + gather(samples), halos(1) + gather(1))
    }
}
