import Network
import Storage

/// A site's own model in local training, kept on the ranks that host it
/// while other sites use the shared network: parameters (batch-norm
/// statistics included), Adam state, and the best parameters so far.
struct SiteModel {
    var parameters: [Float]
    var firstMoment: [Float]
    var secondMoment: [Float]
    var adamStep = 0
    var bestParameters: [Float]

    /// A site's starting point: the network's initial parameters (the same
    /// seed for every site) and a fresh Adam.
    init(initial parameters: [Float]) {
        self.parameters = parameters
        firstMoment = [Float](repeating: 0, count: parameters.count)
        secondMoment = firstMoment
        bestParameters = parameters
    }

    init(parameters: [Float], firstMoment: [Float], secondMoment: [Float], adamStep: Int, bestParameters: [Float]) {
        self.parameters = parameters
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
        self.adamStep = adamStep
        self.bestParameters = bestParameters
    }

    /// Puts this site's model and optimizer state into the shared network.
    func install(in model: SimbaCNN, optimizer: Adam) throws {
        try model.load(parameters: parameters)
        try optimizer.load(firstMoment: firstMoment, secondMoment: secondMoment, step: adamStep)
    }

    /// Takes the shared network's state back after the site trained.
    mutating func collect(from model: SimbaCNN, optimizer: Adam) {
        parameters = model.parameters.array
        firstMoment = optimizer.firstMoment.array
        secondMoment = optimizer.secondMoment.array
        adamStep = optimizer.step
    }
}

/// Every site's state in a local run: early stopping for all sites (on
/// every rank), models for the sites this rank hosts. Checkpoints hold it
/// as [sites × parameters] tables written row by row by the sites' ranks.
struct LocalSites {
    static let tables = ["site_parameters", "site_adam_first_moment", "site_adam_second_moment", "site_best_parameters"]

    let rows: SiteRows
    let patience: Int
    var stopping: [SiteStopping]
    var models: [Int: SiteModel] = [:]

    /// Fresh sites, each hosted one starting from `initial`.
    init(rows: SiteRows, patience: Int, initial: [Float]) {
        self.rows = rows
        self.patience = patience
        stopping = [SiteStopping](repeating: SiteStopping(), count: rows.layout.count)
        for site in rows.read(by: rows.rank) { models[site] = SiteModel(initial: initial) }
    }

    var participants: [Int] { rows.participants }

    /// Sites still training.
    var active: [Int] { participants.filter { !stopping[$0].stopped(patience: patience) } }

    /// The run continues while some site has patience left: the fewest
    /// rounds without improvement among the sites.
    var fewestRoundsWithoutImprovement: Int {
        participants.map { stopping[$0].roundsWithoutImprovement }.min() ?? patience
    }

    /// Records every site's validation loss of round `round`; hosted sites
    /// that improved keep their current parameters as their best.
    mutating func record(lossBySite: [Double], round: Int) {
        for site in participants where stopping[site].record(loss: lossBySite[site], round: round, patience: patience) {
            if let model = models[site] { models[site]?.bestParameters = model.parameters }
        }
    }

    // MARK: the hosted sites' models

    /// Puts hosted site `site`'s model and optimizer state into the shared network.
    func install(site: Int, in model: SimbaCNN, optimizer: Adam) throws {
        try hosted(site).install(in: model, optimizer: optimizer)
    }

    /// Takes the shared network's state back after hosted site `site` trained.
    mutating func collect(site: Int, from model: SimbaCNN, optimizer: Adam) {
        models[site]?.collect(from: model, optimizer: optimizer)
    }

    func parameters(of site: Int) throws -> [Float] { try hosted(site).parameters }

    mutating func setParameters(of site: Int, _ parameters: [Float]) { models[site]?.parameters = parameters }

    func bestParameters(of site: Int) throws -> [Float] { try hosted(site).bestParameters }

    private func hosted(_ site: Int) throws -> SiteModel {
        guard let model = models[site] else { throw TrainingError("internal error: site \(site) is not hosted by rank \(rows.rank)") }
        return model
    }

    // MARK: checkpoints

    /// Writes the site tables and the per-site vectors into a checkpoint
    /// group (collective; the Adam steps are summed from the sites' first
    /// ranks in one small allreduce).
    func write(into group: H5Group, width: Int) throws {
        let columns: [(SiteModel) -> [Float]] = [\.parameters, \.firstMoment, \.secondMoment, \.bestParameters]
        for (name, column) in zip(Self.tables, columns) {
            try rows.write(name, width: width, into: group) { site in models[site].map(column) ?? [] }
        }
        var steps = [Int](repeating: 0, count: rows.layout.count)
        for site in rows.written(by: rows.rank) { steps[site] = models[site]?.adamStep ?? 0 }
        try group.file.communicator?.allreduce(&steps, op: .sum)
        try group.writeDataset("site_adam_step", steps)
        try group.writeDataset("site_best_validation_loss", stopping.map(\.bestValidationLoss))
        try group.writeDataset("site_best_round", stopping.map(\.bestRound))
        try group.writeDataset("site_rounds_without_improvement", stopping.map(\.roundsWithoutImprovement))
        try group.setAttribute("site_tables", "local strategy: rows are sites; site_parameters and site_adam_* continue training, site_best_parameters is each site's model at its lowest own validation loss (round site_best_round); rows of sites without training samples are zero")
    }

    /// Reads back what `write` stored (collective): every rank its hosted
    /// sites' models, and all sites' early stopping.
    mutating func read(from group: H5Group) throws {
        var tables: [[Int: [Float]]] = []
        for name in Self.tables { tables.append(try rows.read(name, from: group)) }
        let steps: [Int] = try group.dataset("site_adam_step").read()
        let best: [Double] = try group.dataset("site_best_validation_loss").read()
        let bestRound: [Int] = try group.dataset("site_best_round").read()
        let without: [Int] = try group.dataset("site_rounds_without_improvement").read()
        let count = rows.layout.count
        guard [steps.count, best.count, bestRound.count, without.count].allSatisfy({ $0 == count }) else {
            throw TrainingError("\(group.path): the per-site vectors do not have \(count) sites")
        }
        for site in models.keys {
            guard let parameters = tables[0][site], let first = tables[1][site], let second = tables[2][site],
                  let best = tables[3][site] else {
                throw TrainingError("\(group.path): no rows for site \(site)")
            }
            models[site] = SiteModel(parameters: parameters, firstMoment: first, secondMoment: second,
                                     adamStep: steps[site], bestParameters: best)
        }
        for site in 0..<count {
            stopping[site].bestValidationLoss = best[site]
            stopping[site].bestRound = bestRound[site]
            stopping[site].roundsWithoutImprovement = without[site]
        }
    }
}
