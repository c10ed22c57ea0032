/// How `simba run` spreads an experiment's runs (every arm of every
/// replicate) over its ranks: `groups` groups of ranks, each training and
/// analysing its share of the runs start to end, side by side with the
/// others; within a group the runs are data-parallel on all its ranks. One
/// group is the runs one after another on the whole world.
///
/// A run on a group of k ranks is the same computation as on a world of k
/// ranks, so a layout changes only the wall time: 2×2 on 4 ranks gives
/// bitwise what 2 ranks give running every run one after another.
public struct ExperimentLayout: Equatable, Sendable, CustomStringConvertible {
    public var groups: Int
    /// Ranks in the whole world.
    public var ranks: Int

    public init(groups: Int, ranks: Int) {
        self.groups = groups
        self.ranks = ranks
    }

    /// simba's choice: as many groups as there are chains of runs, each of
    /// at least two ranks (one rank per model leaves its batch unshared),
    /// and one group when the world has fewer than four ranks. With spatial
    /// groups of `spatial` ranks per sample: groups of at least two such,
    /// all of one size (a multiple of `spatial`).
    public static func automatic(chains: Int, ranks: Int, spatial: Int = 1) -> ExperimentLayout {
        guard spatial > 1 else { return ExperimentLayout(groups: max(1, min(chains, ranks / 2)), ranks: ranks) }
        let fitting = (1...max(1, min(chains, ranks / (2 * spatial)))).last { ranks % ($0 * spatial) == 0 }
        return ExperimentLayout(groups: fitting ?? 1, ranks: ranks)
    }

    /// simba's choice of spatial groups (`training.spatial` left at 1):
    /// when each group of `layout` has more ranks than a batch of `batch`
    /// can share and every run trains central, the fewest ranks per sample
    /// that leave each rank of a group a share: the smallest divisor s of
    /// the group's ranks with ranks / s ≤ batch. Nil: no spatial groups.
    public func automaticSpatial(batch: Int, everyRunCentral: Bool) -> Int? {
        guard everyRunCentral, ranks % groups == 0 else { return nil }
        let perGroup = ranks / groups
        guard perGroup > batch else { return nil }
        return (2...perGroup).first { perGroup % $0 == 0 && perGroup / $0 <= batch }
    }

    /// `--layout GxR`: G groups of R ranks, G × R the world's size and at
    /// most one group per chain of runs.
    public static func parse(_ text: String, chains: Int, ranks: Int, spatial: Int = 1) throws -> ExperimentLayout {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let groups = Int(parts[0]), let perGroup = Int(parts[1]), groups >= 1, perGroup >= 1 else {
            throw ExperimentError("--layout \(text): give GROUPSxRANKS, e.g. 2x4 (2 groups of 4 ranks)")
        }
        guard groups.multipliedReportingOverflow(by: perGroup) == (ranks, false) else {
            throw ExperimentError("--layout \(text) asks for \(groups) × \(perGroup) ranks, but the job has \(ranks)")
        }
        guard perGroup % spatial == 0 else {
            throw ExperimentError("--layout \(text): groups of \(perGroup) ranks cannot share each sample over training.spatial \(spatial) ranks; give groups of a multiple of \(spatial)")
        }
        guard groups <= chains else {
            throw ExperimentError("--layout \(text): \(groups) groups for \(chains) run\(chains == 1 ? "" : "s") that can go side by side; use at most \(chains)")
        }
        return ExperimentLayout(groups: groups, ranks: ranks)
    }

    /// The group of world rank `rank` (groups differ by at most one rank).
    public func group(ofRank rank: Int) -> Int { rank * groups / ranks }

    /// "2x2", or "2 groups of 2–3 ranks" when the world does not divide evenly.
    public var description: String {
        ranks % groups == 0 ? "\(groups)x\(ranks / groups)" : "\(groups) groups of \(ranks / groups)–\(ranks / groups + 1) ranks"
    }
}

/// What one group of ranks runs start to end: one arm of one replicate, or
/// the biased arm followed by the group-models arm that starts from its
/// best model.
public struct ArmChain: Equatable, Sendable {
    public var replicate: Replicate
    public var arms: [String]

    /// Every arm of every replicate, in the order they run one after another.
    public static func all(arms: [String], replicates: [Replicate]) -> [ArmChain] {
        replicates.flatMap { replicate in
            arms.reduce(into: [ArmChain]()) { chains, arm in
                if let start = ArmName.startsFrom.first(where: { $0.arm == arm })?.from,
                   let chain = chains.firstIndex(where: { $0.arms.first == start }) {
                    chains[chain].arms.append(arm)
                } else {
                    chains.append(ArmChain(replicate: replicate, arms: [arm]))
                }
            }
        }
    }
}
