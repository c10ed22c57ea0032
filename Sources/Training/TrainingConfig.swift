import Foundation
import Network
import Synthesis
import YAMLConfig

/// How the training split is spread over the ranks.
public enum TrainingStrategy: String, CaseIterable, Sendable {
    /// Pooled data, data-parallel: the global batch is split over the ranks
    /// and the gradients are summed with one allreduce per step.
    case central
    /// Sites train from the global model for `local_epochs`, then the global
    /// model becomes the average of theirs (FedAvg; FedProx with `proximal_mu`).
    case federated
    /// One model and its Adam state visit the sites in turn, `local_epochs`
    /// at each, in an order reshuffled every cycle.
    case travelling
    /// One model per site, trained only on that site's data (`local_epochs`
    /// per round), never exchanged; each site stops early on its own
    /// validation loss, and the end of the run evaluates every site's best
    /// model on every site's test split (the cross-site matrix).
    case local
}

/// What the site strategies treat as a site.
public enum SitePartition: String, CaseIterable, Sendable {
    /// The dataset's sites (or `training.sites` round-robin sites).
    case site
    /// Each bias group is a site: with strategy local, one model per bias
    /// group, each test image scored by its own group's model (the
    /// bias-group models of Puyol-Antón et al. 2021, SimBA's
    /// model_3d_protectedgroupmodel.py, when started from a model trained
    /// on everyone with `initialize_from`).
    case biasGroup = "bias_group"
}

/// How FedAvg weighs the sites' models.
public enum Aggregation: String, CaseIterable, Sendable {
    /// Every site counts the same (the lab's FedAvg), batch-norm statistics included.
    case uniform
    /// Each site by its number of training samples (McMahan et al.).
    case samples
}

/// The `training:` section of an experiment: model, optimiser, stopping.
/// Defaults are SimBA's (batch 2, Adam 1e-4, patience 15 on validation loss).
public struct TrainingConfig: Equatable, Sendable {
    public var strategy = TrainingStrategy.central
    /// Filters per block; the count is the depth (SimBA: 32, 64, 128, 256, 512).
    public var widths = [32, 64, 128, 256, 512]
    public var activation = Activation.sigmoid
    public var dropout = 0.2
    /// Most epochs (central) or rounds / cycles (federated, travelling,
    /// local) to run (SimBA: 1000 epochs, stopped early).
    public var epochs = 1000
    /// The global batch, summed over every rank (SimBA: 2).
    public var batch = 2
    public var learningRate = 1e-4
    /// Epochs without a lower validation loss before stopping (SimBA: 15).
    public var patience = 15
    /// Calders reweighing: per-sample loss weights P(y)·P(b)/P(y,b) from the
    /// training split's class × bias-group counts (training and validation loss).
    public var reweighing = false
    /// Seeds weight initialisation, shuffling and dropout.
    public var seed: UInt64 = 1
    /// Simulated hospitals: 0 uses the dataset's sites; N > 0 deals the
    /// samples round-robin (by sample index) into N sites.
    public var sites = 0
    /// Epochs each site trains per round (federated, local) or visit (travelling).
    public var localEpochs = 1
    public var aggregation = Aggregation.uniform
    /// FedProx's μ (0: plain FedAvg).
    public var proximalMu = 0.0
    /// FedBN: each site keeps its own batch-norm parameters and statistics
    /// (the global model, used for validation, carries their mean).
    public var fedBN = false
    /// Precise batch norm (central only): before every validation the
    /// moving statistics are replaced by the average batch statistics over
    /// the training split under the current weights. Off keeps Keras's
    /// momentum-0.99 moving averages, which swing with batches of 2–8.
    public var batchNormCalibration = false
    /// What the site strategies treat as a site.
    public var partition = SitePartition.site
    /// A run file whose best checkpoint's parameters (batch-norm statistics
    /// included) start training instead of the seeded initialisation; the
    /// model (input, widths, activation) must match. Adam starts fresh.
    public var initializeFrom: String?

    public init() {}

    /// The model for images of `grid`.
    public func model(input grid: Grid3) -> SimbaCNNConfiguration {
        SimbaCNNConfiguration(input: grid, widths: widths, activation: activation, dropoutRate: Float(dropout))
    }

    /// Checks ranges; errors name the key (`training.batch: …`).
    public func validate() throws {
        guard !widths.isEmpty, widths.allSatisfy({ $0 > 0 }) else {
            throw ConfigError("training.widths", "must be one or more positive filter counts, got \(widths)")
        }
        guard dropout >= 0, dropout < 1 else { throw ConfigError("training.dropout", "must be in [0, 1), got \(dropout)") }
        guard epochs >= 1 else { throw ConfigError("training.epochs", "must be at least 1, got \(epochs)") }
        guard batch >= 1 else { throw ConfigError("training.batch", "must be at least 1, got \(batch)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw ConfigError("training.learning_rate", "must be positive, got \(learningRate)")
        }
        guard patience >= 1 else { throw ConfigError("training.patience", "must be at least 1, got \(patience)") }
        guard sites >= 0 else { throw ConfigError("training.sites", "must be 0 (the dataset's) or more, got \(sites)") }
        guard localEpochs >= 1 else { throw ConfigError("training.local_epochs", "must be at least 1, got \(localEpochs)") }
        guard strategy == .federated || (proximalMu == 0 && !fedBN) else {
            throw ConfigError("training", "proximal_mu and fedbn apply to strategy federated only, not \(strategy.rawValue)")
        }
        guard strategy == .central || strategy == .local || !batchNormCalibration else {
            throw ConfigError("training.batchnorm_calibration", "applies to strategies central and local only (it would pool the sites' data), not \(strategy.rawValue)")
        }
        guard partition == .site || strategy != .central else {
            throw ConfigError("training.partition", "applies to the site strategies (federated, travelling, local), not central")
        }
        guard partition == .site || sites == 0 else {
            throw ConfigError("training", "sites: \(sites) deals samples into sites, partition: bias_group makes the bias groups the sites: give one")
        }
        if let initializeFrom, initializeFrom.isEmpty {
            throw ConfigError("training.initialize_from", "must name a run file")
        }
        guard proximalMu >= 0, proximalMu.isFinite else {
            throw ConfigError("training.proximal_mu", "must be 0 or more, got \(proximalMu)")
        }
    }
}

extension TrainingConfig {
    /// Reads the `training:` section (absent: the defaults); unknown keys are refused.
    public static func read(_ root: ConfigNode, defaults: TrainingConfig = TrainingConfig()) throws -> TrainingConfig {
        let node = try root.sectionOrEmpty("training")
        var config = defaults
        config.strategy = try node.choice("strategy", default: defaults.strategy)
        if let widths = try node.doubles("widths") {
            guard widths.allSatisfy({ $0 == $0.rounded() && $0 >= 1 && $0 <= 65536 }) else {
                throw ConfigError(node.keyPath("widths"), "must be whole positive filter counts, got \(widths)")
            }
            config.widths = widths.map { Int($0) }
        }
        config.activation = try node.choice("activation", default: defaults.activation)
        config.dropout = try node.double("dropout", default: defaults.dropout)
        config.epochs = try node.int("epochs", default: defaults.epochs)
        config.batch = try node.int("batch", default: defaults.batch)
        config.learningRate = try node.double("learning_rate", default: defaults.learningRate)
        config.patience = try node.int("patience", default: defaults.patience)
        config.reweighing = try node.bool("reweighing", default: defaults.reweighing)
        if let seed = try node.int("seed") {
            guard seed >= 0 else { throw ConfigError(node.keyPath("seed"), "must be 0 or more, got \(seed)") }
            config.seed = UInt64(seed)
        }
        config.sites = try node.int("sites", default: defaults.sites)
        config.localEpochs = try node.int("local_epochs", default: defaults.localEpochs)
        config.aggregation = try node.choice("aggregation", default: defaults.aggregation)
        config.proximalMu = try node.double("proximal_mu", default: defaults.proximalMu)
        config.fedBN = try node.bool("fedbn", default: defaults.fedBN)
        config.batchNormCalibration = try node.bool("batchnorm_calibration", default: defaults.batchNormCalibration)
        config.partition = try node.choice("partition", default: defaults.partition)
        config.initializeFrom = try node.string("initialize_from") ?? defaults.initializeFrom
        try node.finish()
        try config.validate()
        return config
    }

    /// The section as YAML, for run files and `simba config`.
    public var yaml: String {
        """
        training:
          strategy: \(strategy.rawValue)
          widths: [\(widths.map(String.init).joined(separator: ", "))]
          activation: \(activation.rawValue)
          dropout: \(dropout)
          epochs: \(epochs)
          batch: \(batch)
          learning_rate: \(learningRate)
          patience: \(patience)
          reweighing: \(reweighing)
          seed: \(seed)
          sites: \(sites)
          local_epochs: \(localEpochs)
          aggregation: \(aggregation.rawValue)
          proximal_mu: \(proximalMu)
          fedbn: \(fedBN)
          batchnorm_calibration: \(batchNormCalibration)
          partition: \(partition.rawValue)
        \(initializeFrom.map { "  initialize_from: \"\($0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"\n" } ?? "")
        """
    }

    /// The training that goes with each cohort preset: `tiny` trains a
    /// small model in seconds (tests); the SimBA presets use SimBA's settings.
    public static func preset(_ cohort: CohortPreset) -> TrainingConfig {
        var config = TrainingConfig()
        switch cohort {
        case .tiny:
            config.widths = [4, 8]
            config.epochs = 3
            config.batch = 6
            config.patience = 3
        case .quickstart:
            config.widths = [8, 16, 32]
            config.epochs = 40
            config.batch = 4
            config.learningRate = 1e-3
            config.batchNormCalibration = true
        case .simbaJAMIA, .multisite:
            break
        case .multibias:
            // SimBA's reweighing experiments (model_3d_reweigh.py): batch 4, at most 300 epochs.
            config.batch = 4
            config.epochs = 300
        }
        return config
    }
}
