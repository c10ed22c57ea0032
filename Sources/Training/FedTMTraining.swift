import Cluster

/// FedTM: `federated_rounds` rounds of FedAvg warm the model up on every
/// site at once, then the model travels from site to site (cycles as the
/// travelling model's, numbered on from the last FedAvg round). Both phases
/// share the sites and the network; the travelling phase starts from the
/// last global model with a fresh Adam (FedAvg's sites each end a round with
/// their own Adam state, so there is no shared one to carry over). A
/// checkpoint is the global model either way, so a run resumes on either
/// side of the switch.
final class FedTMTraining: DistributionStrategy {
    let session: TrainingSession
    private let federated: FederatedTraining
    private let travelling: TravellingTraining

    init(setup: TrainingSetup, world: Communicator) throws {
        federated = try FederatedTraining(setup: setup, world: world)
        travelling = TravellingTraining(sites: federated.sites, session: federated.session)
        session = federated.session
    }

    func round(_ round: Int) throws -> EpochTotals {
        if round <= config.federatedRounds { return try federated.round(round) }
        if round == config.federatedRounds + 1 { session.replica.resetOptimizer() }
        return try travelling.round(round)
    }

    /// Precise batch norm for the one shared model: statistics summed over every site.
    func calibrateBatchNorm() throws {
        try session.calibrateBatchNormAcrossSites(federated.sites.training)
    }
}
