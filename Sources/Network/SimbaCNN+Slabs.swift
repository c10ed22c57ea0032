// A SimbaCNN on slabs (SlabPartition.swift): what moves between the ranks
// of a spatial group, and where.
//
// Forward: block 0 widens its slab straight from the whole samples (every
// rank loads them); each later split block receives its neighbours'
// boundary planes (halo exchange); after the last split block the pooled
// slabs are gathered and the rest of the network runs whole. Backward: the
// whole part's gradient is the same on every rank, so each takes its own
// planes of it; each split block sends the gradient of its halo planes back
// to the neighbour that owns them, which adds it.
//
// Parameters stay whole on every rank. Split blocks' kernel gradients are
// partial sums (the gradient allreduce adds them); whole blocks and the head
// compute the same on every rank of the group, so only the group's leader
// keeps their gradients and only it adds to their batch-norm sums.

/// A slab model's extra buffers.
final class SlabBuffers {
    let slab: SlabPartition
    /// Per split block: its widened input [maxBatch, padded planes, Y, Z, Cin]
    /// and (from block 1 on) the gradient of it.
    let inputs: [Tensor], inputGradients: [Tensor]
    /// Block (splitBlocks − 1)'s pooled output gathered whole, its gradient,
    /// and the parts as they arrive [maxBatch, X, Y, Z, C].
    let gathered: Tensor, gatheredGradient: Tensor, arrivals: Tensor
    /// Halo planes packed for sending and as received: to lower, to upper,
    /// from lower, from upper, maxBatch planes each.
    let halos: [Tensor]
    /// Floats in one plane of each level (level splitBlocks: the gathered one).
    let planeFloats: [Int]
    /// Gradients only the leader keeps: whole blocks' kernels and the head.
    let repeatedGradientRanges: [Range<Int>]

    init(shapes: SimbaCNNShapes, slab: SlabPartition, maxBatch: Int) {
        self.slab = slab
        let widths = shapes.configuration.widths
        let split = slab.splitBlocks
        let planeFloats = (0...split).map { level in
            let grid = level < split ? shapes.convolutionGrids[level] : shapes.pooledGrids[split - 1]
            let channels = level == 0 ? 1 : widths[level - 1]
            return grid.y * grid.z * channels
        }
        self.planeFloats = planeFloats
        let widened = (0..<split).map { maxBatch * slab.paddedPlanes(level: $0) * planeFloats[$0] }
        inputs = widened.map { Tensor(shape: [$0]) }
        inputGradients = widened.enumerated().map { Tensor(shape: [$0.offset == 0 ? 0 : $0.element]) }
        let wholeCount = maxBatch * shapes.pooledGrids[split - 1].x * planeFloats[split]
        gathered = Tensor(shape: [wholeCount])
        gatheredGradient = Tensor(shape: [wholeCount])
        arrivals = Tensor(shape: [wholeCount])
        let widestPlane = (1..<max(split, 1)).map { planeFloats[$0] }.max() ?? 0
        halos = (0..<4).map { _ in Tensor(shape: [maxBatch * widestPlane]) }
        let layout = shapes.layout
        repeatedGradientRanges = (split..<shapes.depth).map { layout["\(SimbaCNNShapes.blockName($0)).conv.kernel"].range }
            + [layout["dense.kernel"].range, layout["dense.bias"].range]
    }

    /// The widened slab or the gathered output that block `block` convolves (nil: the usual buffer).
    func convolutionInput(block: Int) -> Tensor? {
        if block < slab.splitBlocks { return inputs[block] }
        return block == slab.splitBlocks ? gathered : nil
    }

    /// Where block `block`'s input gradient goes (nil: the usual buffer).
    func convolutionInputGradient(block: Int) -> Tensor? {
        if block < slab.splitBlocks { return block == 0 ? nil : inputGradients[block] }
        return block == slab.splitBlocks ? gatheredGradient : nil
    }

    /// When every block runs on slabs, the head reads the gathered output of the last.
    func wholeOutput(ofLastBlock last: Int) -> Tensor? { slab.splitBlocks == last + 1 ? gathered : nil }
    func wholeOutputGradient(ofLastBlock last: Int) -> Tensor? { slab.splitBlocks == last + 1 ? gatheredGradient : nil }
}

/// For each of `batch` samples: copies (or adds) `planes` planes of
/// `planeFloats` floats from plane `from` of a source holding
/// `sourcePlanes` planes per sample to plane `to` of a target holding `targetPlanes`.
func copyPlanes(_ planes: Int, planeFloats: Int, batch: Int,
                from source: UnsafePointer<Float>, sourcePlanes: Int, at from: Int,
                to target: UnsafeMutablePointer<Float>, targetPlanes: Int, at to: Int, adding: Bool = false) {
    let count = planes * planeFloats
    for sample in 0..<batch {
        let s = source + (sample * sourcePlanes + from) * planeFloats
        let t = target + (sample * targetPlanes + to) * planeFloats
        if adding {
            for i in 0..<count { t[i] += s[i] }
        } else {
            t.update(from: s, count: count)
        }
    }
}

extension SimbaCNN {
    var slabParts: (slab: SlabPartition, buffers: SlabBuffers, exchange: SlabExchange) {
        guard let slab, let slabBuffers else { preconditionFailure("not a model on slabs") }
        guard let slabExchange else { preconditionFailure("a model on slabs needs its group's exchange before its first pass") }
        return (slab, slabBuffers, slabExchange)
    }

    /// Block 0's widened slab, straight from the whole samples [batch, X, Y, Z].
    func loadSlabInput(_ samples: UnsafePointer<Float>) {
        let (slab, buffers, _) = slabParts
        let range = slab.range(level: 0), wholePlanes = configuration.input.x
        let first = max(range.lowerBound - 1, 0), end = min(range.upperBound + 1, wholePlanes)
        copyPlanes(end - first, planeFloats: buffers.planeFloats[0], batch: batch,
                   from: samples, sourcePlanes: wholePlanes, at: first,
                   to: buffers.inputs[0].data, targetPlanes: slab.paddedPlanes(level: 0),
                   at: first - range.lowerBound + SlabPartition.planesBelow)
    }

    /// After block `index`'s forward: hands its pooled slab to the next split
    /// block with its neighbours' halo planes, or gathers it after the last.
    func passOnSlab(afterBlock index: Int) {
        guard let slab, slab.splits(block: index) else { return }
        let (_, buffers, exchange) = slabParts
        let next = index + 1
        let planes = slab.range(level: next).count, planeFloats = buffers.planeFloats[next]
        let pooled = UnsafePointer(blocks[index].pooled.data)
        if slab.splits(block: next) {
            let padded = slab.paddedPlanes(level: next), target = buffers.inputs[next].data
            let below = SlabPartition.planesBelow
            copyPlanes(planes, planeFloats: planeFloats, batch: batch, from: pooled, sourcePlanes: planes, at: 0,
                       to: target, targetPlanes: padded, at: below)
            swapHalos(of: target, padded: padded, send: (below, below + planes - 1),
                      receive: (below - 1, below + planes), planeFloats: planeFloats, adding: false, exchange: exchange)
        } else {
            let all = slab.ranges[next]
            let counts = all.map { batch * $0.count * planeFloats }
            exchange.gatherParts(pooled, into: buffers.arrivals.data, counts: counts)
            var offset = 0
            for (part, range) in all.enumerated() {
                copyPlanes(range.count, planeFloats: planeFloats, batch: batch,
                           from: buffers.arrivals.data + offset, sourcePlanes: range.count, at: 0,
                           to: buffers.gathered.data, targetPlanes: shapes.pooledGrids[index].x,
                           at: range.lowerBound)
                offset += counts[part]
            }
        }
    }

    /// After the backward of block `index` + 1: the gradient of block
    /// `index`'s pooled slab, from the halo planes' owners or from the whole gradient.
    func returnSlabGradient(toBlock index: Int) {
        guard let slab, slab.splits(block: index) else { return }
        let (_, buffers, exchange) = slabParts
        let next = index + 1
        let planes = slab.range(level: next).count, planeFloats = buffers.planeFloats[next]
        let target = blocks[index].pooledGradient.data
        if slab.splits(block: next) {
            let padded = slab.paddedPlanes(level: next), source = buffers.inputGradients[next].data
            let below = SlabPartition.planesBelow
            swapHalos(of: source, padded: padded, send: (below - 1, below + planes),
                      receive: (below, below + planes - 1), planeFloats: planeFloats, adding: true, exchange: exchange)
            copyPlanes(planes, planeFloats: planeFloats, batch: batch, from: source, sourcePlanes: padded, at: below,
                       to: target, targetPlanes: planes, at: 0)
        } else {
            copyPlanes(planes, planeFloats: planeFloats, batch: batch,
                       from: buffers.gatheredGradient.data, sourcePlanes: shapes.pooledGrids[index].x,
                       at: slab.range(level: next).lowerBound, to: target, targetPlanes: planes, at: 0)
        }
    }

    /// Sends plane `send.lower` of every sample to the part below and
    /// `send.upper` to the part above; writes (or adds) what they send into
    /// planes `receive.lower` and `receive.upper`.
    private func swapHalos(of buffer: UnsafeMutablePointer<Float>, padded: Int, send: (lower: Int, upper: Int),
                           receive: (lower: Int, upper: Int), planeFloats: Int, adding: Bool, exchange: SlabExchange) {
        guard let slab, let slabBuffers else { return }
        let halos = slabBuffers.halos.map(\.data)
        copyPlanes(1, planeFloats: planeFloats, batch: batch, from: buffer, sourcePlanes: padded, at: send.lower,
                   to: halos[0], targetPlanes: 1, at: 0)
        copyPlanes(1, planeFloats: planeFloats, batch: batch, from: buffer, sourcePlanes: padded, at: send.upper,
                   to: halos[1], targetPlanes: 1, at: 0)
        exchange.swapWithNeighbours(toLower: slab.hasLower ? halos[0] : nil, toUpper: slab.hasUpper ? halos[1] : nil,
                                    fromLower: slab.hasLower ? halos[2] : nil, fromUpper: slab.hasUpper ? halos[3] : nil,
                                    count: batch * planeFloats)
        if slab.hasLower {
            copyPlanes(1, planeFloats: planeFloats, batch: batch, from: halos[2], sourcePlanes: 1, at: 0,
                       to: buffer, targetPlanes: padded, at: receive.lower, adding: adding)
        }
        if slab.hasUpper {
            copyPlanes(1, planeFloats: planeFloats, batch: batch, from: halos[3], sourcePlanes: 1, at: 0,
                       to: buffer, targetPlanes: padded, at: receive.upper, adding: adding)
        }
    }

    /// Zeroes the planes of a split block's convolution gradient outside its slab.
    func zeroPadding(_ gradient: Tensor, channels: Int, block index: Int) {
        guard let slab else { return }
        let grid = convolutionShape(block: index, batch: 1).grid
        let planeFloats = grid.y * grid.z * channels, padded = grid.x
        let interior = SlabPartition.planesBelow..<(SlabPartition.planesBelow + slab.range(level: index).count)
        for sample in 0..<batch {
            let base = gradient.data + sample * padded * planeFloats
            base.update(repeating: 0, count: interior.lowerBound * planeFloats)
            (base + interior.upperBound * planeFloats).update(repeating: 0, count: (padded - interior.upperBound) * planeFloats)
        }
    }

    /// Only the group's leader keeps the gradients every rank computed alike.
    func dropRepeatedGradients() {
        guard let slab, let slabBuffers, !slab.isLeader else { return }
        for range in slabBuffers.repeatedGradientRanges {
            (gradients.data + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }
}
