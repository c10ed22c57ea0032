// Spatial parallelism: a group of ranks trains one sample together, each
// rank holding a slab of planes along X (the slowest axis of [N, X, Y, Z, C],
// so a slab of one sample is contiguous). The first `splitBlocks` blocks run
// on slabs; their pooled output is then gathered and the later blocks, where
// slabs would be thin, run whole on every rank of the group (LBANN's hybrid
// layout, ../shared/reference/scale-brief.md).
//
// Slab boundaries fall on even planes, so that every split block's 2×2×2
// pooling windows stay inside one slab (only the last slab can have an odd
// extent, and its hanging window is the one the whole volume has). Each
// level is dealt evenly on its own: block k+1's slab is then block k's
// pooled slab give or take a plane, which the neighbours send along with
// the halo planes. Where that does not fit (slabs of a plane or two), the
// boundaries fall on multiples of 2^splitBlocks planes instead, so that the
// pooled slab of block k is exactly the slab block k+1 convolves.

/// Which planes of each level one rank of a spatial group holds.
public struct SlabPartition: Equatable, Sendable {
    /// Ranks in the group, and this rank's place in it (0 = lowest X).
    public let parts: Int, index: Int
    /// Blocks that run on slabs (≥ 1); blocks from here on run whole.
    public let splitBlocks: Int
    /// Per level 0...splitBlocks, every part's planes: level k < splitBlocks
    /// is the grid block k convolves at, level splitBlocks block
    /// (splitBlocks − 1)'s pooled slabs, which are gathered.
    public let ranges: [[Range<Int>]]

    /// A split block's slab is widened to 2 planes below and 1 above: the
    /// neighbours' boundary planes (zero at the volume's ends), and one more
    /// plane below so that local Winograd tiles line up with the whole
    /// volume's (slabs start on even planes).
    public static let planesBelow = 2, planesAbove = 1

    /// `splitBlocks` nil: the split that leaves the busiest rank the least
    /// convolution work. A split block costs its widest widened slab, a
    /// whole block (computed alike by every rank) its whole extent, each
    /// plane weighted by its voxels and channel pairs; gathers and halos,
    /// which are small next to that, are not counted.
    public init(configuration: SimbaCNNConfiguration, parts: Int, index: Int, splitBlocks: Int? = nil) throws {
        guard parts >= 1, index >= 0, index < parts else {
            throw NetworkError.invalidConfiguration("slab \(index) of \(parts) does not exist")
        }
        let depth = configuration.widths.count
        let extents = Self.grids(configuration).map(\.x)
        let chosen: Int
        if let splitBlocks {
            guard splitBlocks >= 1, splitBlocks <= depth else {
                throw NetworkError.invalidConfiguration("split blocks \(splitBlocks) outside 1...\(depth)")
            }
            chosen = splitBlocks
        } else {
            let candidates = (1...depth).compactMap { split in
                Self.convolutionWork(configuration, parts: parts, splitBlocks: split).map { (split, $0) }
            }
            chosen = candidates.min { $0.1 < $1.1 }?.0 ?? 1
        }
        guard let levels = Self.levelRanges(extents: extents, parts: parts, split: chosen) else {
            throw NetworkError.invalidConfiguration(
                "an input \(configuration.input.x) planes deep cannot be split over \(parts) ranks in \(chosen) block(s): at most \(extents[chosen]) ranks per sample")
        }
        self.parts = parts
        self.index = index
        self.splitBlocks = chosen
        self.ranges = levels
    }

    /// This rank's planes at `level`.
    public func range(level: Int) -> Range<Int> { ranges[level][index] }
    /// Whether block `block` runs on slabs.
    public func splits(block: Int) -> Bool { block < splitBlocks }
    /// The part that alone contributes what every part computes alike (the
    /// whole blocks and the head).
    public var isLeader: Bool { index == 0 }
    public var hasLower: Bool { index > 0 }
    public var hasUpper: Bool { index < parts - 1 }

    /// Extent of the widened slab a split block convolves at `level`.
    public func paddedPlanes(level: Int) -> Int { Self.planesBelow + range(level: level).count + Self.planesAbove }

    /// The grid each block convolves at, then the last block's pooled grid.
    public static func grids(_ configuration: SimbaCNNConfiguration) -> [Grid3] {
        var grids = [configuration.input]
        for _ in configuration.widths { grids.append(grids.last!.halvedSame) }
        return grids
    }

    /// The planes a slab's pooling produces (its lower bound is even).
    public static func pooled(_ planes: Range<Int>) -> Range<Int> { (planes.lowerBound / 2)..<((planes.upperBound + 1) / 2) }

    /// Every part's planes at levels 0...split (nil: they cannot be dealt).
    private static func levelRanges(extents: [Int], parts: Int, split: Int) -> [[Range<Int>]]? {
        evenlyDealt(extents: extents, parts: parts, split: split) ?? unitDealt(extents: extents, parts: parts, split: split)
    }

    /// Each split level dealt on its own, boundaries on the even plane
    /// nearest an equal share; nil unless every part holds planes at every
    /// level and what each part needs of the next level (its slab and a
    /// plane each side) lies within its own and its neighbours' pooled planes.
    private static func evenlyDealt(extents: [Int], parts: Int, split: Int) -> [[Range<Int>]]? {
        var levels: [[Range<Int>]] = []
        for level in 0..<split {
            let bounds = [0] + (1..<parts).map { 2 * Int((Double($0 * extents[level]) / Double(2 * parts)).rounded()) }
                + [extents[level]]
            guard zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
            levels.append((0..<parts).map { bounds[$0]..<bounds[$0 + 1] })
        }
        levels.append(levels[split - 1].map(pooled))
        guard levels[split].allSatisfy({ !$0.isEmpty }) else { return nil }
        for level in 1..<split {
            let owned = levels[level - 1].map(pooled)
            for part in 0..<parts {
                let need = needed(levels[level][part], extent: extents[level])
                guard owned[max(part - 1, 0)].lowerBound <= need.lowerBound,
                      need.upperBound <= owned[min(part + 1, parts - 1)].upperBound else { return nil }
            }
        }
        return levels
    }

    /// What a slab of `planes` convolves: its planes and one more each side, inside the volume.
    static func needed(_ planes: Range<Int>, extent: Int) -> Range<Int> {
        max(planes.lowerBound - 1, 0)..<min(planes.upperBound + 1, extent)
    }

    /// Units of 2^split planes at level 0 (the last may be partial), dealt
    /// evenly: one unit is one plane of the gathered level.
    private static func unitDealt(extents: [Int], parts: Int, split: Int) -> [[Range<Int>]]? {
        let units = extents[split]
        guard units >= parts else { return nil }
        let firstUnits = (0...parts).map { firstUnit(of: $0, dealing: units, to: parts) }
        return (0...split).map { level in
            (0..<parts).map { part in
                let lower = firstUnits[part] << (split - level)
                let upper = part == parts - 1 ? extents[level] : firstUnits[part + 1] << (split - level)
                return lower..<upper
            }
        }
    }

    /// The busiest rank's convolution work, in voxel × channel-pair units:
    /// a split block costs its widest slab's planes (Winograd: the tiles
    /// over them; im2col: the widened slab), a whole block its whole extent
    /// (nil: the split does not fit `parts`). `parts` 1 with no split
    /// block: the whole network's work.
    public static func convolutionWork(_ configuration: SimbaCNNConfiguration, parts: Int, splitBlocks split: Int) -> Double? {
        let grids = grids(configuration), extents = grids.map(\.x)
        let levels: [[Range<Int>]]
        if split == 0 {
            levels = []
        } else {
            guard let ranges = levelRanges(extents: extents, parts: parts, split: split) else { return nil }
            levels = ranges
        }
        return configuration.widths.indices.reduce(0.0) { total, block in
            let inChannels = block == 0 ? 1 : configuration.widths[block - 1]
            let perPlane = Double(grids[block].y * grids[block].z * inChannels * configuration.widths[block])
            let whole = Conv3DShape(batch: 1, grid: grids[block], inChannels: inChannels, outChannels: configuration.widths[block])
            let winograd = Conv3DAlgorithm.automatic(for: whole) == .winograd
            // Winograd rounds a slab up to whole 2-plane tiles; im2col computes the widened slab.
            let planes = block < split
                ? levels[block].map { $0.count + (winograd ? $0.count % 2 : planesBelow + planesAbove) }.max()!
                : extents[block]
            return total + perPlane * Double(planes)
        }
    }

    /// Block `level` − 1's pooled planes that cross to or from the
    /// neighbours when block `level` (a split block after the first)
    /// widens its slab: what this part needs from each neighbour and what
    /// each neighbour needs from it, in planes of `level`.
    public struct Transfers: Equatable {
        public var owned: Range<Int>, local: Range<Int>
        public var fromLower: Range<Int>, fromUpper: Range<Int>, toLower: Range<Int>, toUpper: Range<Int>
    }

    public func transfers(level: Int) -> Transfers {
        let extent = ranges[level].last!.upperBound
        func owned(_ part: Int) -> Range<Int> { Self.pooled(ranges[level - 1][part]) }
        func needs(_ part: Int) -> Range<Int> { Self.needed(ranges[level][part], extent: extent) }
        let mine = owned(index), need = needs(index)
        let none = mine.lowerBound..<mine.lowerBound
        return Transfers(owned: mine, local: need.clamped(to: mine),
                         fromLower: hasLower ? need.clamped(to: owned(index - 1)) : none,
                         fromUpper: hasUpper ? need.clamped(to: owned(index + 1)) : none,
                         toLower: hasLower ? needs(index - 1).clamped(to: mine) : none,
                         toUpper: hasUpper ? needs(index + 1).clamped(to: mine) : none)
    }

    private static func firstUnit(of part: Int, dealing count: Int, to parts: Int) -> Int {
        // First unit of `part` when `count` units are dealt to `parts` parts,
        // the larger parts first (parts itself: count).
        let base = count / parts, extra = count % parts
        return part * base + Swift.min(part, extra)
    }
}

/// What a spatial group exchanges during a pass; the training side
/// implements it over MPI. Hooks cannot throw: an implementation keeps
/// its first failure and reports it after the step.
public protocol SlabExchange: AnyObject {
    /// Starts sending `toLower` to the part below and `toUpper` to the part
    /// above (nil where there is no neighbour; possibly empty) and
    /// receiving theirs into `fromLower` and `fromUpper`, whose sizes the
    /// caller knows. The four buffers stay untouched until `finishSwap()`.
    func startSwap(toLower: UnsafeBufferPointer<Float>?, toUpper: UnsafeBufferPointer<Float>?,
                   fromLower: UnsafeMutableBufferPointer<Float>?, fromUpper: UnsafeMutableBufferPointer<Float>?)
    /// Lets the swap in flight move on while the caller computes.
    func progressSwap()
    /// Returns when the swap in flight has arrived.
    func finishSwap()
    /// Every part's `local` (`counts[part]` floats), concatenated in part order into `all`.
    func gatherParts(_ local: UnsafePointer<Float>, into all: UnsafeMutablePointer<Float>, counts: [Int])
    /// Sums `values` over the group's parts, in place (precise batch norm's slab statistics).
    func sumOverGroup(_ values: inout [Double])
}
