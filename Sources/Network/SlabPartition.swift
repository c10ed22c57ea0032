// Spatial parallelism: a group of ranks trains one sample together, each
// rank holding a slab of planes along X (the slowest axis of [N, X, Y, Z, C],
// so a slab of one sample is contiguous). The first `splitBlocks` blocks run
// on slabs; their pooled output is then gathered and the later blocks, where
// slabs would be thin, run whole on every rank of the group (LBANN's hybrid
// layout, ../shared/reference/scale-brief.md).
//
// Slab boundaries fall on multiples of 2^splitBlocks planes, so that every
// split block's 2×2×2 pooling windows stay inside one slab: the pooled slab
// of block k is exactly the slab block k+1 convolves. Only the last slab can
// have an odd extent, and its hanging window is the one the whole volume has.

/// Which planes of each level one rank of a spatial group holds.
public struct SlabPartition: Equatable, Sendable {
    /// Ranks in the group, and this rank's place in it (0 = lowest X).
    public let parts: Int, index: Int
    /// Blocks that run on slabs (≥ 1); blocks from here on run whole.
    public let splitBlocks: Int
    /// Per level 0...splitBlocks, every part's planes: level k < splitBlocks
    /// is the grid block k convolves at, level splitBlocks block
    /// (splitBlocks − 1)'s pooled grid, which is gathered.
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

    /// Every part's planes at levels 0...split (nil: fewer units than parts).
    private static func levelRanges(extents: [Int], parts: Int, split: Int) -> [[Range<Int>]]? {
        // Units of 2^split planes at level 0 (the last may be partial),
        // dealt evenly: one unit is one plane of the gathered level.
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
    /// Sends `toLower` to the part below and `toUpper` to the part above
    /// (`count` floats each; nil where there is no neighbour) and receives
    /// theirs into `fromLower` and `fromUpper`.
    func swapWithNeighbours(toLower: UnsafePointer<Float>?, toUpper: UnsafePointer<Float>?,
                            fromLower: UnsafeMutablePointer<Float>?, fromUpper: UnsafeMutablePointer<Float>?,
                            count: Int)
    /// Every part's `local` (`counts[part]` floats), concatenated in part order into `all`.
    func gatherParts(_ local: UnsafePointer<Float>, into all: UnsafeMutablePointer<Float>, counts: [Int])
    /// Sums `values` over the group's parts, in place (precise batch norm's slab statistics).
    func sumOverGroup(_ values: inout [Double])
}
