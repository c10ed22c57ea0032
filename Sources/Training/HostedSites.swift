import Cluster
import Synthesis

/// The site strategies' share of the data on this rank: the participating
/// sites it hosts and their own training tables (each reweighed with its
/// own counts: a site sees no other site's data), and where each site's
/// checkpoint rows live.
struct HostedSites {
    let layout: SiteLayout
    let participants: [Int]
    /// Sites this rank hosts (alone, or as one of a site's group of ranks).
    let hosted: [Int]
    /// Training tables of the participating sites this rank hosts.
    let training: [Int: SplitTable]
    /// Validation tables of the same sites, each weighted as its training
    /// (local training only: each site stops on its own).
    let validation: [Int: SplitTable]
    let rows: SiteRows

    init(setup: TrainingSetup, world: Communicator, ownValidation: Bool) throws {
        let config = setup.config
        let layout = setup.layout, participants = setup.participants
        let hosted = layout.sites(hostedBy: world.rank)
        (training, validation) = try world.unanimously {
            guard !participants.isEmpty else {
                throw TrainingError("no site of \(setup.run.datasetPath) has training samples")
            }
            // A site's batch is dealt to its spatial groups (its ranks, without spatial parallelism).
            let holders = config.spatial > 1 ? "groups of \(config.spatial) ranks" : "ranks"
            let siteGroups = layout.hosts(of: hosted.first ?? 0).count / config.spatial
            guard config.batch >= siteGroups else {
                throw TrainingError("a batch of \(config.batch) on a site of \(siteGroups) \(holders) leaves \(holders) without samples: use --batch \(siteGroups) or more, or more sites")
            }
            // A tiny site's batch is all its samples: each of its groups needs one.
            for site in participants {
                let samples = setup.participantSamples[site, default: 0], groups = layout.hosts(of: site).count / config.spatial
                guard samples >= groups else {
                    throw TrainingError("site \(site) has \(samples) training sample\(samples == 1 ? "" : "s") for its \(groups) \(holders), which leaves \(holders) without samples: use more sites or fewer ranks")
                }
            }
            var training: [Int: SplitTable] = [:], validation: [Int: SplitTable] = [:]
            for site in hosted where participants.contains(site) {
                let siteSamples = setup.samples.filter { $0.site == site }
                let reweighing = config.reweighsDiseaseLoss ? try SplitTable.reweighing(trainingSamples: siteSamples) : nil
                training[site] = try SplitTable(split: .train, samples: siteSamples, reweighing: reweighing)
                if ownValidation {
                    validation[site] = try SplitTable(split: .validation, samples: siteSamples, reweighing: reweighing)
                }
            }
            return (training, validation)
        }
        self.layout = layout
        self.participants = participants
        self.hosted = hosted
        rows = SiteRows(layout: layout, participants: participants, rank: world.rank)
    }

    /// Ranks that split one of this rank's sites' batches.
    var batchRanks: Int { layout.hosts(of: hosted.first ?? 0).count }

    /// The site group this rank trains in: its spatial group when every
    /// group hosts sites alone, otherwise its site's.
    func group(rank: Int) -> Int { layout.groupsHostSitesAlone ? rank / layout.spatial : hosted.first ?? 0 }

    /// The session for a site strategy: the model split over a site's ranks.
    func session(setup: TrainingSetup, world: Communicator) throws -> TrainingSession {
        try TrainingSession(setup: setup, world: world, batchRanks: batchRanks, group: group(rank: world.rank))
    }
}
