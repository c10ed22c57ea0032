/// The run's inputs: configuration, files and what to do with an existing run file.
public struct TrainingRun: Sendable {
    public var config: TrainingConfig
    public var datasetPath: String
    public var runPath: String
    public var resume = false
    public var overwrite = false

    public init(config: TrainingConfig, datasetPath: String, runPath: String, resume: Bool = false, overwrite: Bool = false) {
        self.config = config
        self.datasetPath = datasetPath
        self.runPath = runPath
        self.resume = resume
        self.overwrite = overwrite
    }
}

/// What a finished (or early-stopped) run reports.
public struct TrainingOutcome: Sendable {
    public var epochsRun: Int
    /// Of those, the ones this call trained (less on resume; 0 for a finished run kept).
    public var epochsRunNow: Int
    public var stopReason: String
    public var bestEpoch: Int
    public var bestValidationLoss: Double
    public var lastValidationAccuracy: Double
    /// Local training: every site's best model on every site's test split.
    public var crossSite: CrossSiteMatrix?
}

/// Where the trainer stands, after every epoch (or round) on every rank.
public struct TrainingProgress: Sendable {
    public var epochsDone: Int
    public var epochsTotal: Int
    public var lastValidationLoss: Double
}
