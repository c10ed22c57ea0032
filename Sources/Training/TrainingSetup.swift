import Cluster
import Foundation
import Network
import Synthesis

/// What a training run works on, prepared alike on every rank before any
/// strategy is chosen: the dataset's samples with their sites (the
/// dataset's, `sites` round-robin ones, tiny `site_samples` ones, or the
/// bias groups), the split
/// tables, which ranks host which sites, and which sites take part.
struct TrainingSetup {
    let run: TrainingRun
    var config: TrainingConfig { run.config }
    let loader: ImageLoader
    let samples: [SampleRecord]
    let grid: Grid3
    /// Bias groups and sites in the dataset (for the per-bucket metrics).
    let groups: Int
    let layout: SiteLayout
    let training: SplitTable, validation: SplitTable, test: SplitTable
    /// Sites with at least one training sample, and their sample counts;
    /// the others (e.g. held-out test sites) sit out. A site with fewer
    /// samples than the batch trains on batches of all its samples (as the
    /// lab's code does for tiny sites).
    let participantSamples: [Int: Int]
    var participants: [Int] { participantSamples.keys.sorted() }
    /// The training images' mean (scaled as SimBA does), subtracted from
    /// every input when `training.centre_input` is on; nil otherwise.
    let inputMean: [Float]?

    /// Opens the dataset and builds the tables; failures are agreed, so
    /// every rank reports the same one-line error.
    init(run: TrainingRun, world: Communicator) throws {
        self.run = run
        let config = run.config
        (loader, samples, grid) = try world.unanimously { () -> (ImageLoader, [SampleRecord], Grid3) in
            try checkWholeSpatialGroups(of: config.spatial, ranks: world.size)
            guard FileManager.default.fileExists(atPath: run.datasetPath) else {
                throw TrainingError("dataset \(run.datasetPath) does not exist (make one with 'simba generate')")
            }
            let reader: DatasetReader
            do { reader = try DatasetReader(path: run.datasetPath) } catch {
                throw TrainingError("cannot read dataset \(run.datasetPath): \(error)")
            }
            let labels = Set(reader.samples.map(\.label))
            guard labels.isSubset(of: [0, 1]) else {
                throw TrainingError("\(run.datasetPath) has labels \(labels.sorted()); the SimBA CNN has two classes (0, 1)")
            }
            var samples = reader.samples
            config.dealSites(&samples)
            return (try ImageLoader(reader: reader), samples, Grid3(reader.shape))
        }
        let samples = self.samples
        groups = (samples.map(\.group).max() ?? 0) + 1
        layout = SiteLayout(count: (samples.map(\.site).max() ?? 0) + 1, worldSize: world.size, spatial: config.spatial)
        let trainingCounts = Dictionary(grouping: samples.filter { $0.split == .train }, by: \.site).mapValues(\.count)
        participantSamples = trainingCounts.filter { $0.value >= 1 }
        (training, validation, test) = try world.unanimously {
            let reweighing = config.reweighsDiseaseLoss ? try SplitTable.reweighing(trainingSamples: samples) : nil
            let training = try SplitTable(split: .train, samples: samples, reweighing: reweighing)
            let validation = try SplitTable(split: .validation, samples: samples, reweighing: reweighing)
            guard validation.count > 0 else {
                throw TrainingError("\(run.datasetPath) has no validation samples, which early stopping needs")
            }
            return (training, validation, try SplitTable(split: .test, samples: samples, reweighing: nil))
        }
        inputMean = config.centreInput ? try Self.meanImage(of: training, loader: loader, world: world) : nil
        try loader.setCentre(inputMean)
    }

    /// The mean of `table`'s images, voxel by voxel: each rank sums its even
    /// share in double precision, one allreduce adds the shares.
    static func meanImage(of table: SplitTable, loader: ImageLoader, world: Communicator) throws -> [Float] {
        var sums = [Double](repeating: 0, count: loader.voxels)
        try ShareChunks(count: table.count, chunk: 4, communicator: world).forEach(
            load: { positions in try loader.load(positions.map { table.indices[$0] }) }
        ) { positions, images in
            for n in 0..<positions.count {
                for v in sums.indices { sums[v] += Double(images[n * sums.count + v]) }
            }
        }
        try world.allreduce(&sums, op: .sum)
        let count = Double(max(table.count, 1))
        return sums.map { Float($0 / count) }
    }

    /// Rounds `batch` up over `ranks`: the largest share of a batch one rank gets.
    func largestShare(over ranks: Int) -> Int { (config.batch + ranks - 1) / ranks }
}
