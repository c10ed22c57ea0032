import Foundation

/// Local training: every site trains its own model on its own data, in
/// rounds of `local_epochs`; models are never exchanged. A rank that hosts
/// several sites swaps each site's model and Adam state into the shared
/// network in turn; a site spanning several ranks trains data-parallel.
extension Trainer {
    /// One round: every hosted site that has not stopped trains its local epochs.
    func localRound(_ round: Int) throws -> EpochTotals {
        try agreed {
            var totals = EpochTotals()
            for site in localSites!.active where siteTables[site] != nil {
                try localSites!.models[site]!.install(in: model, optimizer: replica.optimizer)
                let visited = try visit(site: site, round: round)
                localSites!.models[site]!.collect(from: model, optimizer: replica.optimizer)
                totals.lossSum += visited.lossSum
                totals.correct += visited.correct
                totals.steps += visited.steps
            }
            return totals
        }
    }

    /// Precise batch norm, site by site: each training site's model gets the
    /// average batch statistics of its own training samples (shared among
    /// the site's ranks), so no site sees another's data.
    func calibrateSites() throws {
        try agreed {
            for site in localSites!.active where siteTables[site] != nil {
                try model.load(parameters: localSites!.models[site]!.parameters)
                try calibrateBatchNorm(on: siteTables[site]!, over: replica.communicator)
                localSites!.models[site]!.parameters = model.parameters.array
            }
        }
    }

    /// Each site's current model on its own validation samples (weighted
    /// with its own counts), split over the site's ranks; one allreduce
    /// gathers the buckets. Overall and per-group figures pool every
    /// sample as scored by its own site's model; sites that sit out have
    /// no model and are left out.
    func validateSites() throws -> ValidationResult {
        var totals = [Double](repeating: 0, count: 3 * (1 + groups + layout.count))
        try agreed {
            for site in siteValidation.keys.sorted() {
                try model.load(parameters: localSites!.models[site]!.parameters)
                let table = siteValidation[site]!
                try forEachShareChunk(of: table, over: replica.communicator) { positions, images in
                    model.forward(images, batch: positions.count, mode: .eval)
                    addValidationTotals(of: positions, in: table, to: &totals)
                }
            }
        }
        let commStart = Clock.now
        try world.allreduce(&totals, op: .sum)
        replica.time.communication += Clock.seconds(since: commStart)
        return ValidationResult(totals: totals, groups: groups, sites: layout.count)
    }

    /// Every site's best model on every test sample: the test split is
    /// shared among each site's ranks, each chunk is read once and scored by
    /// every site the rank hosts; one allreduce gathers the scores.
    func evaluateCrossSite() throws -> CrossSiteMatrix {
        let sites = layout.count, samples = test.count
        var scores = [Double](repeating: 0, count: sites * samples)
        let hosted = siteTables.keys.sorted()
        try agreed {
            guard !hosted.isEmpty else { return }
            try forEachShareChunk(of: test, over: replica.communicator) { positions, images in
                for site in hosted {
                    try model.load(parameters: localSites!.models[site]!.bestParameters)
                    model.forward(images, batch: positions.count, mode: .eval)
                    for (n, position) in positions.enumerated() {
                        scores[site * samples + position] = diseaseProbability(sample: n)
                    }
                }
            }
        }
        let commStart = Clock.now
        try world.allreduce(&scores, op: .sum)
        replica.time.communication += Clock.seconds(since: commStart)
        let trained = (0..<sites).map { participants.contains($0) }
        for site in 0..<sites where !trained[site] {
            for j in 0..<samples { scores[site * samples + j] = .nan }
        }
        return CrossSiteMatrix(sites: sites, sampleIndices: test.indices, sampleSites: test.sites,
                               sampleLabels: test.labels, scores: scores, trained: trained,
                               bestRounds: localSites!.stopping.map(\.bestRound), partition: config.partition)
    }

    /// Softmax probability of class 1 for sample `n` of the last forward.
    private func diseaseProbability(sample n: Int) -> Double {
        let k = model.configuration.classes
        let row = model.logits.data + n * k
        let largest = (0..<k).map { Double(row[$0]) }.max()!
        let total = (0..<k).reduce(0.0) { $0 + exp(Double(row[$1]) - largest) }
        return exp(Double(row[1]) - largest) / total
    }
}
