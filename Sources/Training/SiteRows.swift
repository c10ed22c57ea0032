import Storage

/// Which ranks train which simulated hospital. The unit is a spatial
/// group (`training.spatial` consecutive ranks that train each sample
/// together; one rank without spatial parallelism): with at least as many
/// sites as groups, group g hosts sites g, g + G, … in turn, alone; with
/// fewer, each site gets a contiguous run of groups that trains it
/// data-parallel.
struct SiteLayout {
    let count: Int
    let worldSize: Int
    /// Ranks per spatial group.
    let spatial: Int

    init(count: Int, worldSize: Int, spatial: Int = 1) {
        precondition(spatial >= 1 && worldSize % spatial == 0, "\(worldSize) ranks do not form groups of \(spatial)")
        self.count = count
        self.worldSize = worldSize
        self.spatial = spatial
    }

    /// Spatial groups in the world.
    var groups: Int { worldSize / spatial }

    /// Whether every group hosts whole sites alone (at least as many sites as groups).
    var groupsHostSitesAlone: Bool { count >= groups }

    /// The ranks that train `site`.
    func hosts(of site: Int) -> Range<Int> {
        let hostGroups = groupsHostSitesAlone ? (site % groups)..<(site % groups + 1)
            : evenShare(of: groups, rank: site, size: count)
        return (hostGroups.lowerBound * spatial)..<(hostGroups.upperBound * spatial)
    }

    func sites(hostedBy rank: Int) -> [Int] { (0..<count).filter { hosts(of: $0).contains(rank) } }
}

/// A [sites × width] table in a checkpoint whose rows live on the ranks
/// that host the sites (FedBN's batch norm, local training's models): each
/// training site's first rank writes its row and every rank of a site reads
/// it back, in collective hyperslab transfers. Every rank makes the same
/// number of calls (one per row slot, empty where it has no row), so no rank
/// ever holds the whole table. Rows of sites that sit out stay zero.
struct SiteRows {
    let layout: SiteLayout
    /// Sites with a row: those that train (at least one training sample).
    let participants: [Int]
    let rank: Int

    /// Rows `rank` writes: the participants it hosts as their first rank.
    func written(by rank: Int) -> [Int] { participants.filter { layout.hosts(of: $0).lowerBound == rank } }

    /// Rows `rank` reads back: every participant it hosts.
    func read(by rank: Int) -> [Int] { participants.filter { layout.hosts(of: $0).contains(rank) } }

    /// Creates `name` [sites × width] in `group` and fills this rank's rows
    /// with `row(site)` (collective).
    func write(_ name: String, width: Int, into group: H5Group, row: (Int) -> [Float]) throws {
        let dataset = try group.createDataset(name, of: Float.self, shape: [layout.count, width])
        try transfer(rows: written(by:)) { site in
            if let site {
                try dataset.write(row(site), offset: [site, 0], count: [1, width])
            } else {
                try dataset.write([Float](), offset: [0, 0], count: [0, width])
            }
        }
    }

    /// The rows of `name` this rank hosts, by site (collective).
    func read(_ name: String, from group: H5Group) throws -> [Int: [Float]] {
        let dataset = try group.dataset(name)
        let shape = try dataset.shape
        guard shape.count == 2, shape[0] == layout.count else {
            throw TrainingError("\(group.path)/\(name) has shape \(shape), expected \(layout.count) site rows")
        }
        var rows: [Int: [Float]] = [:]
        try transfer(rows: read(by:)) { site in
            if let site {
                rows[site] = try dataset.read(Float.self, offset: [site, 0], count: [1, shape[1]])
            } else {
                _ = try dataset.read(Float.self, offset: [0, 0], count: [0, shape[1]])
            }
        }
        return rows
    }

    /// Calls `body` once per row slot on every rank: with this rank's site
    /// for that slot, or nil when it has no more rows.
    private func transfer(rows: (Int) -> [Int], _ body: (Int?) throws -> Void) throws {
        let mine = rows(rank)
        let slots = (0..<layout.worldSize).map { rows($0).count }.max() ?? 0
        for slot in 0..<slots { try body(slot < mine.count ? mine[slot] : nil) }
    }
}
