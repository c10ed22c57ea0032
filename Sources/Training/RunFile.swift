import Cluster
import Foundation
import Network
import Storage
import YAMLConfig

/// What a checkpoint holds beyond the model: where training stands and the
/// early-stopping state. Shuffles and dropout masks are pure functions of
/// (seed, epoch, step), so the cursor is the whole random state.
public struct TrainingState: Equatable, Sendable {
    /// Epochs completed (the next epoch to run).
    public var epochsDone = 0
    /// Optimizer steps taken, over all epochs.
    public var globalStep = 0
    /// Early stopping on the validation loss (its round is the epoch).
    public var stopping = EarlyStopping()

    public init() {}
}

/// The parts of a complete checkpoint read back for `--resume`.
public struct Checkpoint {
    public var path: String
    /// The replicated model and its Adam state; empty in local runs, whose
    /// checkpoints hold one model per site instead (`site_*` tables).
    public var parameters: [Float]
    public var firstMoment: [Float]
    public var secondMoment: [Float]
    public var adamStep: Int
    public var state: TrainingState
    /// The checkpoint's group, for strategies that keep per-site tables in it.
    public var group: H5Group
}

/// One epoch's row of `/metrics`.
public struct EpochMetrics: Sendable {
    public var epoch: Int
    public var step: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    /// Validation loss and accuracy per bias group and per site (NaN where empty).
    public var validationLossByGroup: [Double], validationAccuracyByGroup: [Double]
    public var validationLossBySite: [Double], validationAccuracyBySite: [Double]
    public var samplesPerSecond: Double
    /// This rank's seconds in this epoch (gathered to one row per epoch).
    public var computeSeconds: Double, communicationSeconds: Double, ioSeconds: Double
    /// Unlearning runs: the adversary's accuracy on the validation split
    /// (its bias group), under the encoder of this epoch.
    public var validationAdversaryAccuracy: Double? = nil
}

/// `run.h5`, written collectively by every rank of the world:
/// root attributes (format, config, world size, strategy, seed),
/// `/model` (parameter layout), `/metrics/*` (one row per epoch) and
/// `/checkpoints/epoch_NNNNNN` with `latest` and `best` soft links that only
/// ever point at checkpoints whose `complete` attribute is 1.
public final class RunFile {
    public static let format = "simba-run"
    public static let formatVersion = 1
    let file: H5File
    let communicator: Communicator
    let groups: Int, sites: Int
    /// A replacement run written beside the file it replaces (`--overwrite`):
    /// moved over it in one rename once it holds its first complete
    /// checkpoint, or when it is closed, whichever comes first. Until then
    /// the old file stays whole, so a kill leaves the old file or the new.
    private var replaces: (partial: String, path: String)?

    /// `/model/input_mean`: the image subtracted from every input (`training.centre_input`), X·Y·Z voxels, Z fastest.
    public static let inputMeanName = "input_mean"

    static let scalarSeries = ["epoch", "step", "train_loss", "train_accuracy", "validation_loss",
                               "validation_accuracy", "samples_per_second"]
    /// Written by unlearning runs only.
    static let adversaryAccuracySeries = "validation_adversary_accuracy"

    private init(file: H5File, communicator: Communicator, groups: Int, sites: Int,
                 replaces: (partial: String, path: String)? = nil) {
        self.replaces = replaces
        self.file = file
        self.communicator = communicator
        self.groups = groups
        self.sites = sites
    }

    /// Creates a new run file (collective).
    public static func create(path: String, overwrite: Bool, communicator: Communicator, config: TrainingConfig, layout: ParameterLayout, input: Grid3,
                              inputMean: [Float]? = nil, dataset: String, groups: Int, sites: Int) throws -> RunFile {
        let exists = try communicator.unanimously { FileManager.default.fileExists(atPath: path) }
        let replaces = overwrite && exists ? (partial: path + ".partial", path: path) : nil
        let file = try H5File.create(replaces?.partial ?? path, existing: replaces == nil ? .refuse : .overwrite,
                                     communicator: communicator)
        let root = try file.root
        try root.setAttribute("format", format)
        try root.setAttribute("format_version", formatVersion)
        try root.setAttribute("config", config.yaml)
        try root.setAttribute("world_size", communicator.size)
        try root.setAttribute("strategy", config.strategy.rawValue)
        try root.setAttribute("seed", Int64(bitPattern: config.seed))
        try root.setAttribute("dataset", dataset)
        let model = try root.createGroup("model")
        try model.setAttribute("input", input.array)
        try model.writeStrings("parameter_names", layout.slices.map(\.name))
        try model.writeDataset("parameter_offsets", layout.slices.map(\.offset))
        try model.writeDataset("parameter_counts", layout.slices.map(\.count))
        try model.writeDataset("parameter_trainable", layout.slices.map { $0.trainable ? 1 : 0 } as [Int32])
        if let inputMean {
            // Every rank computed the same mean; the collective write takes rank 0's.
            try model.writeDataset(inputMeanName, inputMean, shape: input.array)
        }
        let metrics = try root.createGroup("metrics")
        try metrics.setAttribute("units", "losses: weighted cross-entropy (nats); accuracies: fraction; seconds per epoch; *_by_group columns: bias group (bit b = bias b); *_by_site columns: site; *_seconds columns: rank")
        for name in scalarSeries {
            if name == "epoch" || name == "step" {
                _ = try metrics.createDataset(name, of: Int.self, shape: [0], maxShape: [nil], chunk: [256])
            } else {
                _ = try metrics.createDataset(name, of: Double.self, shape: [0], maxShape: [nil], chunk: [256])
            }
        }
        if config.unlearn != .none {
            _ = try metrics.createDataset(Self.adversaryAccuracySeries, of: Double.self, shape: [0], maxShape: [nil], chunk: [256])
        }
        for (name, width) in [("validation_loss_by_group", groups), ("validation_accuracy_by_group", groups),
                              ("validation_loss_by_site", sites), ("validation_accuracy_by_site", sites),
                              ("compute_seconds", communicator.size), ("communication_seconds", communicator.size),
                              ("io_seconds", communicator.size)] {
            _ = try metrics.createDataset(name, of: Double.self, shape: [0, width], maxShape: [nil, width],
                                          chunk: [64, width])
        }
        _ = try root.createGroup("checkpoints")
        try file.flush()
        return RunFile(file: file, communicator: communicator, groups: groups, sites: sites, replaces: replaces)
    }

    /// Moves a replacement run over the file it replaces (collective; rank 0
    /// renames, after every rank's part is on disk).
    private func takeItsPlace() throws {
        guard let replaces else { return }
        self.replaces = nil
        try communicator.unanimously {
            if communicator.rank == 0 { try OutputTarget.replace(replaces.path, with: replaces.partial) }
        }
    }

    /// Opens an existing run for `--resume` (collective); refuses another
    /// dataset, configuration or rank count, since the run would then not
    /// continue the same computation. Only the epoch budget may change, so a
    /// finished run can be continued for more epochs.
    public static func openForResume(path: String, communicator: Communicator, config: TrainingConfig,
                                     dataset: String, input: Grid3, groups: Int, sites: Int) throws -> RunFile {
        // Checked read-only first: a refused resume leaves the file (maybe not
        // a run file at all) byte for byte as it was.
        let readOnly = try H5File.open(path, communicator: communicator)
        try checkResumable(readOnly, path: path, communicator: communicator, config: config, dataset: dataset, input: input)
        try readOnly.close()
        let file = try H5File.open(path, writable: true, communicator: communicator)
        try file.root.setAttribute("config", config.yaml)
        return RunFile(file: file, communicator: communicator, groups: groups, sites: sites)
    }

    private static func checkResumable(_ file: H5File, path: String, communicator: Communicator, config: TrainingConfig,
                                       dataset: String, input: Grid3) throws {
        let root = try file.root
        guard root.hasAttribute("format"), try root.stringAttribute("format") == format else {
            throw TrainingError("\(path) is not a simba run file (no format attribute '\(format)')")
        }
        let worldSize = try root.attribute("world_size", as: Int.self)
        guard worldSize == communicator.size else {
            throw TrainingError("\(path) was trained on \(worldSize) ranks; resume it with \(worldSize) ranks (another rank count would not continue the same computation bit for bit)")
        }
        var stored = try TrainingConfig.read(try ConfigNode.parse(try root.stringAttribute("config"), source: "\(path) config"))
        stored.epochs = config.epochs
        // The start only seeds the first epoch; a moved experiment names it by its new path.
        stored.initializeFrom = config.initializeFrom
        guard stored == config else {
            throw TrainingError("\(path) was trained with another training configuration; resume with the same configuration and overrides (only --epochs may change), or start a new run")
        }
        let storedDataset = try root.stringAttribute("dataset")
        // A folder moved with its dataset: the recorded path is gone and the
        // dataset of that name beside the run file is the one given.
        let beside = ((path as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent((storedDataset as NSString).lastPathComponent)
        let moved = !FileManager.default.fileExists(atPath: storedDataset)
            && (beside as NSString).standardizingPath == (dataset as NSString).standardizingPath
        guard storedDataset == dataset || moved else {
            throw TrainingError("\(path) was trained on \(storedDataset), not \(dataset); resume with --data \(storedDataset)")
        }
        let storedInput = try Self.storedInput(root, path: path)
        guard storedInput == input else {
            throw TrainingError("\(path) holds a model for \(storedInput) images, but \(dataset) now has \(input) images (regenerated at another resolution?)")
        }
    }

    /// The image size the run's model takes (`/model` attribute `input`), checked.
    public static func storedInput(_ root: H5Group, path: String) throws -> Grid3 {
        let input = try root.group("model").attribute("input", as: [Int].self)
        guard input.count == 3, input.allSatisfy({ (1...(1 << 16)).contains($0) }) else {
            throw TrainingError("\(path): /model input is \(input), expected three image dimensions (a damaged run file?)")
        }
        return Grid3(input)
    }

    // MARK: metrics

    /// Appends one epoch's row to every series (collective; rank 0 writes).
    public func append(_ metrics: EpochMetrics) throws {
        let group = try file.root.group("metrics")
        let writes = communicator.rank == 0
        func put(_ name: String, _ values: [Double]) throws {
            try group.dataset(name).append(writes ? values : [])
        }
        try group.dataset("epoch").append(writes ? [metrics.epoch] : [])
        try group.dataset("step").append(writes ? [metrics.step] : [])
        try put("train_loss", [metrics.trainLoss])
        try put("train_accuracy", [metrics.trainAccuracy])
        try put("validation_loss", [metrics.validationLoss])
        try put("validation_accuracy", [metrics.validationAccuracy])
        try put("samples_per_second", [metrics.samplesPerSecond])
        try put("validation_loss_by_group", metrics.validationLossByGroup)
        try put("validation_accuracy_by_group", metrics.validationAccuracyByGroup)
        try put("validation_loss_by_site", metrics.validationLossBySite)
        try put("validation_accuracy_by_site", metrics.validationAccuracyBySite)
        if let accuracy = metrics.validationAdversaryAccuracy { try put(Self.adversaryAccuracySeries, [accuracy]) }
        let seconds = try communicator.allgather([metrics.computeSeconds, metrics.communicationSeconds, metrics.ioSeconds])
        try put("compute_seconds", seconds.map { $0[0] })
        try put("communication_seconds", seconds.map { $0[1] })
        try put("io_seconds", seconds.map { $0[2] })
        try file.flush()
    }

    /// Cuts every series back to `epochs` rows: a run stopped after writing
    /// an epoch's metrics but before its checkpoint resumes at the checkpoint.
    public func truncateMetrics(toEpochs epochs: Int) throws {
        let group = try file.root.group("metrics")
        for name in try group.memberNames().sorted() {
            let dataset = try group.dataset(name)
            var shape = try dataset.shape
            if shape[0] > epochs {
                shape[0] = epochs
                try dataset.resize(to: shape)
            }
        }
    }

    // MARK: checkpoints

    static func checkpointName(epoch: Int) -> String { String(format: "epoch_%06d", epoch) }

    /// Writes a checkpoint (collective): `contents` fills the group with
    /// the strategy's model state, then the training state is added, every
    /// rank flushes it to disk, and only then is it marked complete and
    /// `latest` (and `best` when `isBest`) pointed at it. Older checkpoints
    /// that neither link names are removed.
    public func writeCheckpoint(state: TrainingState, isBest: Bool, contents: (H5Group) throws -> Void) throws {
        let checkpoints = try file.root.group("checkpoints")
        let name = Self.checkpointName(epoch: state.epochsDone)
        if checkpoints.contains(name) { try checkpoints.removeLink(name) }
        let group = try checkpoints.createGroup(name)
        try contents(group)
        try group.setAttribute("epochs_done", state.epochsDone)
        try group.setAttribute("global_step", state.globalStep)
        try group.setAttribute("best_validation_loss", state.stopping.bestValidationLoss)
        try group.setAttribute("best_epoch", state.stopping.bestRound)
        try group.setAttribute("epochs_without_improvement", state.stopping.roundsWithoutImprovement)
        try file.flush()
        try group.setAttribute("complete", 1)
        try file.flush()
        let previousBest = checkpoints.softLinkTarget("best")
        let previousLatest = checkpoints.softLinkTarget("latest")
        try checkpoints.setSoftLink("latest", to: "/checkpoints/\(name)")
        if isBest { try checkpoints.setSoftLink("best", to: "/checkpoints/\(name)") }
        try file.flush()
        let kept = Set([checkpoints.softLinkTarget("latest"), checkpoints.softLinkTarget("best")].compactMap { $0 })
        // Sorted: a Set's order differs between processes, and every rank
        // must issue the same metadata operations in the same order.
        for old in Set([previousBest, previousLatest].compactMap { $0 }).sorted() where !kept.contains(old) {
            let oldName = String(old.split(separator: "/").last ?? "")
            if checkpoints.contains(oldName) { try checkpoints.removeLink(oldName) }
        }
        try file.flush()
        try takeItsPlace()
    }

    /// The replicated model's part of a checkpoint (rank 0's copy is stored).
    public static func writeModel(_ model: SimbaCNN, optimizer: Adam, into group: H5Group) throws {
        try group.writeDataset("parameters", model.parameters.array)
        try group.writeDataset("adam_first_moment", optimizer.firstMoment.array)
        try group.writeDataset("adam_second_moment", optimizer.secondMoment.array)
        try group.setAttribute("adam_step", optimizer.step)
    }

    /// Whether the run holds a checkpoint (`latest` is linked only once one is complete).
    public var hasCheckpoint: Bool {
        (try? file.root.group("checkpoints").softLinkTarget("latest")) != nil
    }

    /// The checkpoint `latest` points at, which must be complete.
    public func latestCheckpoint() throws -> Checkpoint { try checkpoint(link: "latest") }

    /// The checkpoint `link` (latest, best) points at, which must be complete.
    public func checkpoint(link: String) throws -> Checkpoint {
        let checkpoints = try file.root.group("checkpoints")
        guard let target = checkpoints.softLinkTarget(link) else {
            throw TrainingError("\(file.path) has no complete checkpoint to \(link == "latest" ? "resume from" : "read as '\(link)'")")
        }
        let group = try file.root.group(String(target.dropFirst()))
        guard group.hasAttribute("complete"), try group.attribute("complete", as: Int.self) == 1 else {
            throw TrainingError("\(file.path): \(target) is not marked complete")
        }
        var state = TrainingState()
        state.epochsDone = try group.attribute("epochs_done", as: Int.self)
        state.globalStep = try group.attribute("global_step", as: Int.self)
        state.stopping.bestValidationLoss = try group.attribute("best_validation_loss", as: Double.self)
        state.stopping.bestRound = try group.attribute("best_epoch", as: Int.self)
        state.stopping.roundsWithoutImprovement = try group.attribute("epochs_without_improvement", as: Int.self)
        let replicated = group.contains("parameters")
        return Checkpoint(path: target, parameters: replicated ? try group.dataset("parameters").read() : [],
                          firstMoment: replicated ? try group.dataset("adam_first_moment").read() : [],
                          secondMoment: replicated ? try group.dataset("adam_second_moment").read() : [],
                          adamStep: replicated ? try group.attribute("adam_step", as: Int.self) : 0,
                          state: state, group: group)
    }

    /// Records how the run ended (collective).
    public func finish(stopReason: String) throws {
        try file.root.setAttribute("stop_reason", stopReason)
        try file.flush()
    }

    public func close() throws {
        try file.close()
        try takeItsPlace()
    }

    /// After a failure on this rank alone: never close collectively (see H5File.abandon).
    public func abandon() { file.abandon() }
}
