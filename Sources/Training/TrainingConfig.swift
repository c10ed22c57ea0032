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
    /// FedTM: `federated_rounds` rounds of FedAvg warm the model up, then it
    /// travels (cycles as `travelling`, with a fresh Adam at the switch).
    case fedtm
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

/// What adversarial unlearning removes from the encoder's features.
public enum UnlearningTarget: String, CaseIterable, Sendable {
    case none
    /// The bias group (SimBA's bias_mitigation/unlearning.py, after
    /// Dinsdale et al. 2021): a bias head with one class per bias group.
    case bias
    /// The site, inside the travelling model (the lab's HarmonyTM, Souza et
    /// al. 2024): a site head with one class per site.
    case site
}

/// Which of an unlearning run's losses are weighed by P(y)·P(c)/P(y, c),
/// c the unlearned label (Calders' reweighing, as `reweighing` does for the
/// disease loss): in the weighted data c is independent of the disease.
public enum UnlearningReweighing: String, CaseIterable, Sendable {
    /// SimBA's unweighted losses.
    case none
    /// The adversary's and the confusion losses (and the adversary's
    /// validation accuracy): the adversary cannot read c through the
    /// disease, and the encoder is not pushed to hide the disease.
    case adversary
    /// Those and the disease loss (bias unlearning only, c the bias group):
    /// the disease step no longer gains from the bias, so it stops
    /// re-encoding what the confusion step removes.
    case all
}

/// Which epoch of an unlearning run is kept.
public enum UnlearningSelection: String, CaseIterable, Sendable {
    /// SimBA's: the last epoch whose validation disease accuracy rose while
    /// the adversary's validation accuracy fell; `patience` epochs without
    /// one stop the run.
    case simba
    /// The last epoch of the budget (no early stopping). An adversary that
    /// is fooled predicts one class, so its accuracy sits at chance while
    /// a fresh probe still reads the label: SimBA's rule can keep an epoch
    /// before the encoder has lost it.
    case last
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
    /// Tiny sites (the lab's JAMIA 2022 design): N > 0 deals the training
    /// split, in a seeded shuffle, into sites of N samples each (the last
    /// may have fewer); validation and test samples keep the dataset's sites.
    public var siteSamples = 0
    /// Epochs each site trains per round (federated, local) or visit (travelling).
    public var localEpochs = 1
    public var aggregation = Aggregation.uniform
    /// FedProx's μ (0: plain FedAvg).
    public var proximalMu = 0.0
    /// The learning rate falls by e^(−decay) every epoch (round, cycle):
    /// learning_rate · e^(−decay · (epoch − 1)); the lab's travelling model
    /// uses 0.1 per cycle. 0: constant.
    public var learningRateDecay = 0.0
    /// FedTM: the rounds of FedAvg before the model starts travelling.
    public var federatedRounds = 0
    /// FedBN: each site keeps its own batch-norm parameters and statistics
    /// (the global model, used for validation, carries their mean).
    public var fedBN = false
    /// Precise batch norm: before every validation the moving statistics
    /// are replaced by the average batch statistics over the training split
    /// under the current weights. Site strategies never pool images: local
    /// calibrates each site's model on its own samples; federated and
    /// travelling sum the sites' per-channel statistics for the shared model
    /// (FedBN also calibrates each site's own batch norm on its own samples).
    /// Off keeps Keras's momentum-0.99 moving averages, which swing with
    /// batches of 2–8 and trail FedAvg's weights by many rounds.
    public var batchNormCalibration = false
    /// What the site strategies treat as a site.
    public var partition = SitePartition.site
    /// Spatial parallelism: this many consecutive ranks train each sample
    /// together, each on a slab of it along X (SlabPartition.swift); the
    /// batch is dealt to the groups. 1: every rank trains whole samples.
    public var spatial = 1
    /// A run file whose best checkpoint's parameters (batch-norm statistics
    /// included) start training instead of the seeded initialisation; the
    /// model (input, widths, activation) must match. Adam starts fresh.
    public var initializeFrom: String?
    /// Subtracts the training images' mean image, voxel by voxel, from every
    /// scaled input (training, validation, evaluation, probes, saliency),
    /// Keras's `featurewise_center`. Without it the whole brain's anatomy
    /// drowns a regional effect and the SimBA CNN stays at chance on
    /// whole-brain images here (README, "The whole brain"); the mean is
    /// stored in the run file (`/model/input_mean`) and belongs to the model.
    /// Site strategies compute it from every site's training images (one
    /// sum over sites, like precise batch norm's statistics).
    public var centreInput = false
    /// Adversarial unlearning (bias: central training; site: the travelling
    /// model, HarmonyTM): per batch, (1) the disease
    /// loss over the encoder and disease head, (2) α × the adversary's
    /// cross-entropy over its own head, (3) β × the confusion loss over the
    /// encoder, each with its own Adam; the first `unlearning_head_epochs`
    /// train the adversary alone on the frozen encoder. The kept model
    /// follows `unlearningSelection`.
    public var unlearn = UnlearningTarget.none
    public var unlearningAlpha = 1.0
    public var unlearningBeta = 1.0
    public var unlearningHeadEpochs = 3
    public var unlearningReweigh = UnlearningReweighing.none
    public var unlearningSelection = UnlearningSelection.simba

    /// Whether the disease loss carries Calders' weights: `reweighing`, or
    /// bias unlearning that reweighs all its losses.
    public var reweighsDiseaseLoss: Bool { reweighing || (unlearn == .bias && unlearningReweigh == .all) }

    public init() {}

    /// The model for images of `grid`.
    public func model(input grid: Grid3) -> SimbaCNNConfiguration {
        SimbaCNNConfiguration(input: grid, widths: widths, activation: activation, dropoutRate: Float(dropout))
    }

    /// Checks ranges and combinations; errors name the key (`training.batch: …`).
    public func validate() throws { try Self.schema.validate(self) }
}

extension TrainingConfig {
    /// The `training:` keys, once: reading, checks, YAML and overrides follow from it.
    public static let schema = ConfigSchema<TrainingConfig>("training", comment: "model, optimiser, early stopping (defaults: SimBA's)", [
        ConfigField("strategy", \.strategy, .choice, "central (pooled data), federated, travelling, local or fedtm"),
        ConfigField("widths", \.widths, .filterCounts, "filters per block; the count is the depth", check: ConfigCheck {
            !$0.isEmpty && $0.count <= 12 && $0.allSatisfy { (1...4096).contains($0) } ? nil
                : "must be 1 to 12 filter counts, each 1 to 4096, got \($0)"
        }),
        ConfigField("activation", \.activation, .choice, "sigmoid or relu"),
        ConfigField("dropout", \.dropout, .double, "dropout rate, in [0, 1)", check: ConfigCheck {
            $0 >= 0 && $0 < 1 ? nil : "must be in [0, 1), got \($0)"
        }),
        ConfigField("epochs", \.epochs, .int, "most epochs (rounds, cycles); early stopping usually ends sooner",
                    check: .within(1...1_000_000)),
        ConfigField("batch", \.batch, .int, "the global batch, summed over all ranks", check: .within(1...1_000_000)),
        ConfigField("learning_rate", \.learningRate, .double, "Adam's step size", check: ConfigCheck {
            $0 > 0 && $0.isFinite ? nil : "must be positive, got \($0)"
        }),
        ConfigField("learning_rate_decay", \.learningRateDecay, .double,
                    "the rate falls by e^(-decay) each epoch (round, cycle); 0: constant", check: ConfigCheck {
            $0 >= 0 && $0 <= 100 ? nil : "must be 0 to 100, got \($0)"
        }),
        ConfigField("patience", \.patience, .int, "epochs without a lower validation loss before stopping",
                    check: .within(1...1_000_000)),
        ConfigField("reweighing", \.reweighing, .bool, "Calders weights P(y)P(b)/P(y,b) on the losses"),
        ConfigField("seed", \.seed, .unsigned, "weights, shuffles and dropout"),
        ConfigField("sites", \.sites, .int, "0: the dataset's sites; N: samples dealt round-robin into N", check: ConfigCheck {
            (0...10_000).contains($0) ? nil : "must be 0 (the dataset's) to 10000, got \($0)"
        }),
        ConfigField("site_samples", \.siteSamples, .int, "0: off; N: the training split shuffled into sites of N samples (validation, test: the dataset's sites)",
                    check: .within(0...1_000_000)),
        ConfigField("local_epochs", \.localEpochs, .int, "epochs at a site per round (federated, local) or visit",
                    check: .within(1...1_000_000)),
        ConfigField("aggregation", \.aggregation, .choice, "FedAvg's weights: uniform or by training samples"),
        ConfigField("proximal_mu", \.proximalMu, .double, "FedProx's μ (federated; 0: plain FedAvg)", check: ConfigCheck {
            $0 >= 0 && $0.isFinite ? nil : "must be 0 or more, got \($0)"
        }),
        ConfigField("fedbn", \.fedBN, .bool, "FedBN: sites keep their own batch norm (federated)"),
        ConfigField("federated_rounds", \.federatedRounds, .int, "FedTM: FedAvg rounds before the model travels (strategy or arm fedtm)",
                    check: .within(0...1_000_000)),
        ConfigField("batchnorm_calibration", \.batchNormCalibration, .bool,
                    "precise batch norm before each validation (site strategies: sums of site statistics)"),
        ConfigField("partition", \.partition, .choice, "site, or bias_group: each bias group is a site"),
        ConfigField("spatial", \.spatial, .int, "ranks that train each sample together, each on a slab of it (1: off)",
                    check: .within(1...256)),
        ConfigField("centre_input", \.centreInput, .bool, "subtract the training images' mean image from every input (whole brain)"),
        ConfigField("unlearn", \.unlearn, .choice, "adversarial unlearning: none, bias (central) or site (travelling: HarmonyTM); start from a trained model"),
        ConfigField("unlearning_alpha", \.unlearningAlpha, .double, "weight of the adversary's own loss", check: ConfigCheck {
            $0 > 0 && $0 <= 1000 ? nil : "must be in (0, 1000], got \($0)"
        }),
        ConfigField("unlearning_beta", \.unlearningBeta, .double, "weight of the confusion loss on the encoder", check: ConfigCheck {
            $0 > 0 && $0 <= 1000 ? nil : "must be in (0, 1000], got \($0)"
        }),
        ConfigField("unlearning_head_epochs", \.unlearningHeadEpochs, .int,
                    "epochs that train the adversary alone on the frozen encoder first", check: .within(1...1_000_000)),
        ConfigField("unlearning_reweigh", \.unlearningReweigh, .choice(formerly: .none, .adversary),
                    "none; adversary: weigh the adversary and confusion losses so the unlearned label is independent of the disease; all: the disease loss too (unlearn: bias)"),
        ConfigField("unlearning_selection", \.unlearningSelection, .choice,
                    "simba: keep an epoch when validation disease accuracy rose and the adversary's fell (patience stops); last: the budget's last epoch"),
        ConfigField("initialize_from", \.initializeFrom, .text, "start from this run file's best model (fresh Adam)",
                    check: ConfigCheck { $0.isEmpty ? "must name a run file" : nil }),
    ], combinations: { try $0.validateCombinations() })

    /// The checks that relate several keys.
    func validateCombinations() throws {
        guard strategy == .federated || (proximalMu == 0 && !fedBN) else {
            throw ConfigError("training", "proximal_mu and fedbn apply to strategy federated only, not \(strategy.rawValue)")
        }
        // Read by strategy fedtm only; kept with other strategies so that an
        // experiment's fedtm arm can take it from the shared training section.
        guard strategy != .fedtm || federatedRounds > 0 else {
            throw ConfigError("training.federated_rounds", "strategy fedtm needs at least 1 FedAvg round before travelling, got 0")
        }
        guard partition == .site || strategy != .central else {
            throw ConfigError("training.partition", "applies to the site strategies (federated, travelling, local), not central")
        }
        guard unlearn != .bias || strategy == .central else {
            throw ConfigError("training.unlearn", "bias unlearning trains strategy central, not \(strategy.rawValue)")
        }
        guard unlearn != .site || strategy == .travelling else {
            throw ConfigError("training.unlearn", "site unlearning (HarmonyTM) trains strategy travelling, not \(strategy.rawValue)")
        }
        guard unlearn != .site || unlearningReweigh != .all else {
            throw ConfigError("training.unlearning_reweigh", "all also reweighs the disease loss by bias group, which applies to unlearn: bias; with unlearn: site use adversary")
        }
        guard siteSamples == 0 || sites == 0 else {
            throw ConfigError("training", "sites: \(sites) deals every sample into sites, site_samples: \(siteSamples) deals the training samples: give one")
        }
        guard siteSamples == 0 || (strategy != .local && !fedBN && unlearn != .site) else {
            throw ConfigError("training.site_samples", "deals only training samples into sites, but \(strategy == .local ? "local models" : fedBN ? "FedBN" : "HarmonyTM") also need each site's validation or test samples: use sites or the dataset's sites")
        }
        guard partition == .site || (sites == 0 && siteSamples == 0) else {
            throw ConfigError("training", "\(sites > 0 ? "sites: \(sites)" : "site_samples: \(siteSamples)") deals samples into sites, partition: bias_group makes the bias groups the sites: give one")
        }
    }

    /// Reads the `training:` section (absent: the defaults); unknown keys are refused.
    public static func read(_ root: ConfigNode, defaults: TrainingConfig = TrainingConfig()) throws -> TrainingConfig {
        try schema.read(root, defaults: defaults)
    }

    /// The section as commented YAML, for run files and `simba config`.
    public var yaml: String { Self.schema.yaml(self) }

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
        case .quickstart, .quickstartNull, .tinySites:
            config.widths = [8, 16, 32]
            config.epochs = 40
            config.batch = 4
            config.learningRate = 1e-3
            config.batchNormCalibration = true
            // One training image per site, the lab's extreme (its sweep: 1, 2, 5).
            if cohort == .tinySites { config.siteSamples = 1 }
        case .wholeBrain:
            config.widths = [8, 16, 32]
            config.epochs = 40
            config.batch = 4
            config.learningRate = 1e-3
            config.batchNormCalibration = true
            // Without it the network never leaves chance on whole-brain images.
            config.centreInput = true
            // Some seeds sit at chance for 15 epochs before they learn: with
            // SimBA's patience 15 one replicate was stopped on that plateau.
            config.patience = 40
        case .simbaJAMIA:
            break
        case .multisite:
            // Every arm is judged against central, so every arm gets
            // statistics of its own weights: FedAvg's mean of barely-moved
            // site averages and the travelling model's average weighted to
            // the last sites visited are not (README, "Site-partitioned strategies").
            config.batchNormCalibration = true
        case .multibias:
            // SimBA's reweighing experiments (model_3d_reweigh.py): batch 4, at most 300 epochs.
            config.batch = 4
            config.epochs = 300
        }
        return config
    }
}

extension ConfigValue where Value == [Int] {
    /// Filter counts: whole numbers from 1 to 65536, written as `[4, 8]`.
    static var filterCounts: ConfigValue {
        ConfigValue(expected: "whole positive filter counts", read: { node, key in
            guard let widths = try node.doubles(key) else { return nil }
            guard widths.allSatisfy({ $0 == $0.rounded() && $0 >= 1 && $0 <= 65536 }) else {
                throw ConfigError(node.keyPath(key), "must be whole positive filter counts, got \(widths)")
            }
            return widths.map { Int($0) }
        }, parse: { text in
            let widths = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            return widths.allSatisfy { $0.map { (1...65536).contains($0) } ?? false } ? widths.compactMap { $0 } : nil
        }, format: { "[" + $0.map(String.init).joined(separator: ", ") + "]" })
    }
}
