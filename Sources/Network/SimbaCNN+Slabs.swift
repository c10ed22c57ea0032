// A SimbaCNN on slabs (SlabPartition.swift): what moves between the ranks
// of a spatial group, and where.
//
// Forward: block 0 widens its slab straight from the whole samples (every
// rank loads them); each later split block receives from its neighbours the
// planes of its widened slab they pooled (the halo planes, and a plane of
// its own slab where levels are dealt evenly): the planes a neighbour needs
// are pooled first and travel while the rest of the slab is pooled. After
// the last split block the pooled slabs are gathered and the rest of the
// network runs whole.
// Backward: the whole part's gradient is the same on every rank, so each
// takes its own planes of it; each split block sends the gradient of the
// planes it received back to the neighbour that pooled them, which adds it
// (a swap with no overlap: that gradient is complete only at the end of the
// block's backward, and the block below needs all of it at once).
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
    /// Planes packed for sending and as received: to lower, to upper, from
    /// lower, from upper, each large enough for the most any level moves.
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
        let largestMove = (1..<max(split, 1)).map { level in
            let moves = slab.transfers(level: level)
            return planeFloats[level] * [moves.fromLower, moves.fromUpper, moves.toLower, moves.toUpper].map(\.count).max()!
        }.max() ?? 0
        halos = (0..<4).map { _ in Tensor(shape: [maxBatch * largestMove]) }
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

    /// Pools block `index` (`pool(planes)`: output planes `planes` of its
    /// pooled slab, all when nil) and, on slabs, widens the next split
    /// block's slab from the pooled slab and the planes its neighbours
    /// pooled, or gathers it after the last split block. The planes the
    /// neighbours need are pooled first and sent while the rest is pooled:
    /// the halo swap overlaps that computation.
    func poolAndPassOn(afterBlock index: Int, pool: (Range<Int>?) -> Void) {
        guard let slab, slab.splits(block: index) else { return pool(nil) }
        let (_, buffers, exchange) = slabParts
        let next = index + 1
        let planeFloats = buffers.planeFloats[next]
        let pooled = UnsafePointer(blocks[index].pooled.data)
        guard slab.splits(block: next) else {
            pool(nil)
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
            return
        }
        let moves = slab.transfers(level: next), padded = slab.paddedPlanes(level: next)
        let target = buffers.inputs[next].data, halos = buffers.halos.map(\.data)
        let owned = moves.owned.count
        // Plane g of the level: at g − owned start in the pooled slab, at
        // g − slab start + planesBelow in the widened one.
        let widened = { (g: Int) in g - slab.range(level: next).lowerBound + SlabPartition.planesBelow }
        let relative = { (planes: Range<Int>) in (planes.lowerBound - moves.owned.lowerBound)..<(planes.upperBound - moves.owned.lowerBound) }
        func pack(_ planes: Range<Int>, into buffer: UnsafeMutablePointer<Float>) {
            copyPlanes(planes.count, planeFloats: planeFloats, batch: batch, from: pooled, sourcePlanes: owned,
                       at: relative(planes).lowerBound, to: buffer, targetPlanes: planes.count, at: 0)
        }
        func unpack(_ planes: Range<Int>, from buffer: UnsafeMutablePointer<Float>) {
            copyPlanes(planes.count, planeFloats: planeFloats, batch: batch, from: buffer, sourcePlanes: planes.count,
                       at: 0, to: target, targetPlanes: padded, at: widened(planes.lowerBound))
        }
        let (sentFirst, rest) = Self.poolingOrder(owned: moves.owned, sent: [moves.toLower, moves.toUpper])
        for planes in sentFirst { pool(relative(planes)) }
        pack(moves.toLower, into: halos[0])
        pack(moves.toUpper, into: halos[1])
        startSwap(sending: (moves.toLower, moves.toUpper), receiving: (moves.fromLower, moves.fromUpper),
                  planeFloats: planeFloats, exchange: exchange)
        for planes in rest {
            pool(relative(planes))
            exchange.progressSwap()
        }
        copyPlanes(moves.local.count, planeFloats: planeFloats, batch: batch, from: pooled, sourcePlanes: owned,
                   at: relative(moves.local).lowerBound, to: target, targetPlanes: padded,
                   at: widened(moves.local.lowerBound))
        exchange.finishSwap()
        unpack(moves.fromLower, from: halos[2])
        unpack(moves.fromUpper, from: halos[3])
    }

    /// The runs of `owned` planes to pool before the swap (those in
    /// `sent`) and after it (the rest, in pieces of at most
    /// `planesBetweenProgress`, so that MPI can move the swap on between them).
    static func poolingOrder(owned: Range<Int>, sent: [Range<Int>]) -> (first: [Range<Int>], rest: [Range<Int>]) {
        let isSent = owned.map { plane in sent.contains { $0.contains(plane) } }
        var first: [Range<Int>] = [], rest: [Range<Int>] = []
        var start = owned.lowerBound
        while start < owned.upperBound {
            let kind = isSent[start - owned.lowerBound]
            var end = start + 1
            while end < owned.upperBound, isSent[end - owned.lowerBound] == kind,
                  kind || end - start < planesBetweenProgress { end += 1 }
            if kind { first.append(start..<end) } else { rest.append(start..<end) }
            start = end
        }
        return (first, rest)
    }

    /// Pooled planes between two calls that let MPI move a swap on.
    static var planesBetweenProgress: Int { 4 }

    /// After the backward of block `index` + 1: the gradient of block
    /// `index`'s pooled slab: its own planes' share plus what the
    /// neighbours computed for the planes they received, or its planes of
    /// the whole gradient.
    func returnSlabGradient(toBlock index: Int) {
        guard let slab, slab.splits(block: index) else { return }
        let (_, buffers, exchange) = slabParts
        let next = index + 1
        let planeFloats = buffers.planeFloats[next]
        let target = blocks[index].pooledGradient.data
        if slab.splits(block: next) {
            let moves = slab.transfers(level: next), padded = slab.paddedPlanes(level: next)
            let source = UnsafePointer(buffers.inputGradients[next].data), halos = buffers.halos.map(\.data)
            let owned = moves.owned.count
            let widened = { (g: Int) in g - slab.range(level: next).lowerBound + SlabPartition.planesBelow }
            func pack(_ planes: Range<Int>, into buffer: UnsafeMutablePointer<Float>) {
                copyPlanes(planes.count, planeFloats: planeFloats, batch: batch, from: source, sourcePlanes: padded,
                           at: widened(planes.lowerBound), to: buffer, targetPlanes: planes.count, at: 0)
            }
            func add(_ planes: Range<Int>, from buffer: UnsafePointer<Float>, sourcePlanes: Int, at from: Int) {
                copyPlanes(planes.count, planeFloats: planeFloats, batch: batch, from: buffer, sourcePlanes: sourcePlanes,
                           at: from, to: target, targetPlanes: owned, at: planes.lowerBound - moves.owned.lowerBound,
                           adding: true)
            }
            target.update(repeating: 0, count: batch * owned * planeFloats)
            add(moves.local, from: source, sourcePlanes: padded, at: widened(moves.local.lowerBound))
            // The planes received forward: their gradients go back to the neighbours that pooled them.
            pack(moves.fromLower, into: halos[0])
            pack(moves.fromUpper, into: halos[1])
            // Nothing here to overlap: the block before needs all of its gradient at once.
            startSwap(sending: (moves.fromLower, moves.fromUpper), receiving: (moves.toLower, moves.toUpper),
                      planeFloats: planeFloats, exchange: exchange)
            exchange.finishSwap()
            add(moves.toLower, from: halos[2], sourcePlanes: moves.toLower.count, at: 0)
            add(moves.toUpper, from: halos[3], sourcePlanes: moves.toUpper.count, at: 0)
        } else {
            let planes = slab.range(level: next).count
            copyPlanes(planes, planeFloats: planeFloats, batch: batch,
                       from: buffers.gatheredGradient.data, sourcePlanes: shapes.pooledGrids[index].x,
                       at: slab.range(level: next).lowerBound, to: target, targetPlanes: planes, at: 0)
        }
    }

    /// Starts sending halos 0 and 1 (`sending` planes of every sample) to
    /// the parts below and above, and receiving theirs (`receiving` planes)
    /// into halos 2 and 3, until `exchange.finishSwap()`.
    private func startSwap(sending: (lower: Range<Int>, upper: Range<Int>), receiving: (lower: Range<Int>, upper: Range<Int>),
                           planeFloats: Int, exchange: SlabExchange) {
        guard let slab, let slabBuffers else { return }
        let halos = slabBuffers.halos.map(\.data)
        let floats = { (planes: Range<Int>) in self.batch * planes.count * planeFloats }
        exchange.startSwap(
            toLower: slab.hasLower ? UnsafeBufferPointer(start: halos[0], count: floats(sending.lower)) : nil,
            toUpper: slab.hasUpper ? UnsafeBufferPointer(start: halos[1], count: floats(sending.upper)) : nil,
            fromLower: slab.hasLower ? UnsafeMutableBufferPointer(start: halos[2], count: floats(receiving.lower)) : nil,
            fromUpper: slab.hasUpper ? UnsafeMutableBufferPointer(start: halos[3], count: floats(receiving.upper)) : nil)
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
